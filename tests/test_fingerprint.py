"""The motion fingerprint on real clips: features, embedder, enrollment file, verifier."""

from __future__ import annotations

import json

import numpy as np
import pytest
from shared_data import clip

from fingerprint_live.cli import main as cli
from fingerprint_live.decision import DecisionConfig, SequentialDecision, Signal, State
from fingerprint_live.embedder import Embedder
from fingerprint_live.enrollment import Enrollment, Vectors
from fingerprint_live.errors import EnrollmentError, MediaError, NoFaceError
from fingerprint_live.features import neutral_shape, transplant
from fingerprint_live.offline.clip_landmarks import extract_clip
from fingerprint_live.video_enrollment import build_enrollment

M030 = [f"dreamtalk/data/style_clip/video/M030_front_{e}_level3_001.mp4"
        for e in ("angry", "happy", "sad", "surprised")]
W009 = [f"dreamtalk/data/style_clip/video/W009_front_{e}_level3_001.mp4"
        for e in ("angry", "happy", "sad", "surprised")]
NO_FACE = "pyfeat/feat/tests/data/no_face.mp4"
MOTION_IMPOSTOR = "liveportrait/driving/d3.mp4"


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def embed(relative: str, embedder: Embedder, target=None) -> np.ndarray:
    marks = extract_clip(clip(relative))
    emb, _ = embedder.embed_clip(marks.times, marks.points, target)
    return emb


def clip_score(enrolled: np.ndarray, probe: np.ndarray, model_id: str) -> float:
    return float(Enrollment(Vectors(model_id, enrolled)).motion_scores(probe).mean())


def test_genuine_pair_scores_above_impostor_pair(embedder: Embedder) -> None:
    mid = embedder.info.model_id
    m_enrolled, m_probe = embed(M030[0], embedder), embed(M030[1], embedder)
    w_enrolled, w_probe = embed(W009[0], embedder), embed(W009[1], embedder)
    genuine = [clip_score(m_enrolled, m_probe, mid), clip_score(w_enrolled, w_probe, mid)]
    impostor = [clip_score(m_enrolled, w_probe, mid), clip_score(w_enrolled, m_probe, mid)]
    assert min(genuine) > max(impostor), (genuine, impostor)


def test_motion_on_another_face_shape_keeps_its_identity(embedder: Embedder) -> None:
    """W009's motion moved onto M030's face shape stays W009's, not M030's."""
    m_shape = neutral_shape(extract_clip(clip(M030[2])).points)
    own = embed(W009[2], embedder)
    moved = embed(W009[2], embedder, target=m_shape)
    assert own.shape == moved.shape
    same_windows = (own * moved).sum(1)
    assert np.median(same_windows) > 0.9, same_windows
    mid = embedder.info.model_id
    assert clip_score(embed(W009[3], embedder), moved, mid) > clip_score(
        embed(M030[3], embedder), moved, mid)


def test_transplant_swaps_the_face_shape_and_keeps_pose() -> None:
    marks = extract_clip(clip(M030[0]))
    other = neutral_shape(extract_clip(clip(W009[0])).points)
    own = neutral_shape(marks.points)
    moved = transplant(marks.points, own, other)
    assert np.allclose(transplant(marks.points, own, own), marks.points, atol=1e-3)
    got = neutral_shape(moved)
    to_target, to_source = np.abs(got - other).mean(), np.abs(got - own).mean()
    assert to_target < 0.1 * to_source, (to_target, to_source)
    # The head stays where it was: the nose tip moves by much less than the face is wide.
    width = np.linalg.norm(marks.points[:, 234, :2] - marks.points[:, 454, :2], axis=1)
    shift = np.linalg.norm(moved[:, 1, :2] - marks.points[:, 1, :2], axis=1)
    assert np.median(shift / width) < 0.1


def test_one_odd_window_does_not_flip_the_state() -> None:
    cfg = DecisionConfig(accept=1.0, reject=3.0, motion_weight=0.1, motion_bounds=(-4.0, 4.0))
    decision = SequentialDecision(cfg, (Signal.MOTION,))
    decision.live(0.0)
    states = []
    for t, llr in enumerate([8.0] * 8 + [-8.0] + [8.0] * 3):
        decision.observe(Signal.MOTION, llr, t * 0.2)
        states.append(decision.state)
    assert State.VERIFIED in states and State.MISMATCH not in states
    assert states[8:] == [State.VERIFIED] * 4, states  # the odd window did not move it
    for i in range(200):  # a sustained change does
        decision.observe(Signal.MOTION, -8.0, 3 + i * 0.2)
    assert decision.state is State.MISMATCH
    decision.observe(Signal.MOTION, 8.0, 50.0)
    assert decision.state is State.MISMATCH  # one good window is not enough to leave it


def test_a_few_very_sure_windows_count_no_more_than_the_cap() -> None:
    """With ``motion_cap``, a window the calibration takes as very sure counts only the cap: a
    stream mildly for the owner throughout is not overturned by a few extreme windows, which
    are enough without the cap."""
    # Mildly for the owner throughout, now and then sharply against.
    windows = ([0.5] * 20 + [-8.0] * 3) * 5 + [0.5] * 20
    seen = {}
    for cap in (8.0, 1.0):
        cfg = DecisionConfig(accept=0.5, reject=4.0, motion_weight=0.2,
                             motion_bounds=(-8.0, 4.0), motion_floor=0.5, motion_cap=cap)
        decision = SequentialDecision(cfg, (Signal.MOTION,))
        seen[cap] = []
        for i, llr in enumerate(windows):
            decision.live(i * 0.2)  # the face moves throughout
            decision.observe(Signal.MOTION, llr, i * 0.2)
            seen[cap].append(decision.state)
    assert State.MISMATCH in seen[8.0]
    assert State.MISMATCH not in seen[1.0] and seen[1.0][-1] is State.VERIFIED


def test_evidence_is_bounded_so_a_long_good_past_cannot_hide_a_takeover() -> None:
    """After an hour of good evidence, another face is caught as fast as after a minute."""
    def caught_after(good_seconds: int) -> int:
        decision = SequentialDecision(DecisionConfig(), (Signal.MOTION, Signal.APPEARANCE))
        for t in range(good_seconds):
            decision.live(t)
            decision.observe(Signal.APPEARANCE, 8.0, t)
            for k in range(5):
                decision.observe(Signal.MOTION, 3.0, t + k * 0.2)
        checks = 0
        while decision.state is not State.MISMATCH:
            checks += 1
            decision.observe(Signal.APPEARANCE, -8.0, good_seconds + checks)
        return checks

    assert caught_after(3600) == caught_after(60) <= 2


def test_no_verdict_without_live_motion_or_against_the_motion() -> None:
    """The right face with no live motion (a photo), or with motion against it (someone
    else moving the enrolled user's face), is never VERIFIED."""
    both = (Signal.MOTION, Signal.APPEARANCE)
    photo = SequentialDecision(DecisionConfig(), both)
    puppet = SequentialDecision(DecisionConfig(), both)
    for t in range(60):
        for decision, motion in ((photo, 1.0), (puppet, -3.0)):
            decision.observe(Signal.APPEARANCE, 8.0, t)
            decision.observe(Signal.MOTION, motion, t)
        puppet.live(t)
        assert photo.state is not State.VERIFIED and puppet.state is not State.VERIFIED
    photo.live(60.0)
    photo.observe(Signal.MOTION, 1.0, 60.0)
    assert photo.state is State.VERIFIED  # the same evidence with live motion passes


@pytest.fixture(scope="module")
def enrollment_file(tmp_path_factory, embedder: Embedder, descriptor):
    path = tmp_path_factory.mktemp("enroll") / "m030.fpe"
    enrollment = build_enrollment([clip(p) for p in M030[:3]], embedder, descriptor,
                                  min_seconds=5)
    enrollment.save(path)
    return path


def test_enrollment_round_trip(enrollment_file, embedder: Embedder, faces) -> None:
    loaded = Enrollment.load(enrollment_file, embedder.info.model_id, faces.model_id)
    assert loaded.seconds >= 5 and loaded.motion.vectors.shape[1] > 0
    assert loaded.appearance.vectors.shape[1] == faces.dimension == 128
    assert len(loaded.appearance.vectors) >= 30  # every 5th frame of three short clips
    assert loaded.sources == tuple(clip(p).name for p in M030[:3])
    text = enrollment_file.read_bytes()
    assert b"\x89PNG" not in text and b"JFIF" not in text  # descriptors only, never images


def test_flipped_byte_is_refused(enrollment_file, tmp_path) -> None:
    data = bytearray(enrollment_file.read_bytes())
    for offset in (len(data) // 2, 40, len(data) - 10):
        bad = data.copy()
        bad[offset] ^= 0x01
        path = tmp_path / f"bad{offset}.fpe"
        path.write_bytes(bytes(bad))
        with pytest.raises(EnrollmentError):
            Enrollment.load(path)


def test_truncated_other_model_and_future_version_are_refused(enrollment_file, tmp_path,
                                                              embedder: Embedder) -> None:
    data = enrollment_file.read_bytes()
    short = tmp_path / "short.fpe"
    short.write_bytes(data[: len(data) // 2])
    with pytest.raises(EnrollmentError, match="truncated"):
        Enrollment.load(short)
    with pytest.raises(EnrollmentError, match="another motion model"):
        Enrollment.load(enrollment_file, motion_id="0" * 64)
    with pytest.raises(EnrollmentError, match="another face descriptor"):
        Enrollment.load(enrollment_file, embedder.info.model_id, appearance_id="0" * 64)
    loaded = Enrollment.load(enrollment_file)
    future = tmp_path / "future.fpe"
    loaded.save(future)
    lines = future.read_bytes().split(b"\n")
    doc = json.loads(lines[1])
    doc["version"] = 99
    body = json.dumps(doc).encode()
    import hashlib

    future.write_bytes(b"\n".join([lines[0], body, b"sha256:" + hashlib.sha256(body).hexdigest()
                                   .encode(), b""]))
    with pytest.raises(EnrollmentError, match="newer fingerprint-live"):
        Enrollment.load(future)
    not_ours = tmp_path / "x.fpe"
    not_ours.write_bytes(b"\x89PNG\r\n")
    with pytest.raises(EnrollmentError, match="not a fingerprint-live enrollment"):
        Enrollment.load(not_ours)


def test_a_version_1_enrollment_is_refused_with_enroll_again(tmp_path,
                                                              embedder: Embedder) -> None:
    """v1 files (motion only, written by fingerprint-live 0.1) carry no face: enroll again."""
    import base64
    import hashlib

    emb = np.ones((3, 128), "<f4") / np.sqrt(128)
    body = json.dumps({"version": 1, "model_id": embedder.info.model_id, "seconds": 12.0,
                       "sources": ["me.mp4"], "shape": [3, 128],
                       "embeddings": base64.b64encode(emb.tobytes()).decode()}).encode()
    old = tmp_path / "old.fpe"
    old.write_bytes(b"fingerprint-live-enrollment\n" + body + b"\nsha256:"
                    + hashlib.sha256(body).hexdigest().encode() + b"\n")
    with pytest.raises(EnrollmentError, match="version 1 .* enroll again"):
        Enrollment.load(old, embedder.info.model_id)


FEIFEI = [f"styletalk/samples/source_video/video/feifeili_{c}.mp4"
          for c in ("clip1", "clip2_short", "clip3")]


@pytest.mark.slow
def test_an_enrollment_from_two_recordings_scores_a_third_higher(embedder: Embedder) -> None:
    """``enroll a.mp4 b.mp4`` (Fei-Fei Li's clips of different talks): each held-out recording
    scores higher against both than against either one alone. (The shipped model saw her; the
    held-out folds' figure is in BENCHMARKS.md.)"""
    for k, probe in enumerate(FEIFEI):
        others = [clip(c) for j, c in enumerate(FEIFEI) if j != k]
        windows = embed(probe, embedder)
        one = [build_enrollment([o], embedder, min_seconds=0).motion_scores(windows).mean()
               for o in others]
        both = build_enrollment(others, embedder, min_seconds=0).motion_scores(windows).mean()
        assert both > max(one), (probe, both, one)


def test_too_little_motion_says_how_much(embedder: Embedder) -> None:
    with pytest.raises(NoFaceError, match=r"found \d+\.\d s .* at least 60 s"):
        build_enrollment([clip(M030[0])], embedder, min_seconds=60)


def test_faceless_video_is_refused(embedder: Embedder) -> None:
    with pytest.raises(NoFaceError, match="found 0.0 s"):
        build_enrollment([clip(NO_FACE)], embedder, min_seconds=1)


def test_unreadable_and_empty_video_give_clear_errors(tmp_path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).bytes(4096))
    for path in (empty, junk, tmp_path / "missing.mp4"):
        with pytest.raises(MediaError, match=str(path.name)):
            extract_clip(path)


def test_huge_image_is_refused_before_decoding(tmp_path) -> None:
    from PIL import Image

    from fingerprint_live.media import read_image

    path = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(path)  # 1-bit: a small file, 400 Mpx decoded
    assert path.stat().st_size < 2_000_000
    with pytest.raises(MediaError, match="more than"):
        read_image(path)


@pytest.mark.slow
def test_cli_enroll_then_verify(tmp_path, capsys) -> None:
    fpe = tmp_path / "me.fpe"
    assert cli(["enroll", *[str(clip(p)) for p in M030[:3]], "-o", str(fpe),
                "--min-seconds", "5", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["windows"] > 0 and summary["faces"] > 0
    assert cli(["verify", "--enrollment", str(fpe), str(clip(M030[3])), "--json"]) == 0
    genuine = json.loads(capsys.readouterr().out)
    assert genuine["verdict"] == "VERIFIED" and genuine["signals"] == "fused"
    # Another face at the camera: the appearance says so at the first check.
    assert cli(["verify", "--enrollment", str(fpe), str(clip(W009[1])), "--json"]) == 1
    other = json.loads(capsys.readouterr().out)
    assert other["verdict"] == "MISMATCH" and other["events"][0]["state"] == "MISMATCH"
    assert other["events"][0]["time"] < 1.0 and other["events"][0]["signal"] == "appearance"
    # Motion alone (an avatar's recording): another person's motion, clearly unlike M030's.
    # Motion alone is the weak check (README): MEAD's W009 is filmed the same way and is not
    # reliably told apart, and since the receiver's refit d12 stays INCONCLUSIVE against this
    # three-clip enrollment; d3 is told apart in both receiver settings, named, not numbered:
    # ``patient`` asks four times the evidence against, so its MISMATCH comes later.
    mismatch_at = {}
    for setting in ("quick", "patient"):
        assert cli(["verify", "--enrollment", str(fpe), str(clip(MOTION_IMPOSTOR)), "--signals",
                    "motion", "--setting", setting, "--json"]) == 1
        impostor = json.loads(capsys.readouterr().out)
        assert impostor["verdict"] == "MISMATCH"
        mismatch_at[setting] = impostor["events"][-1]["time"]
    assert mismatch_at["quick"] < mismatch_at["patient"]
    assert cli(["verify", "--enrollment", str(fpe), str(clip(M030[3])), "--signals", "motion",
                "--setting", "patient", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "VERIFIED"
    assert cli(["verify", "--enrollment", str(tmp_path / "nope.fpe"), str(clip(M030[3]))]) == 2
