"""An enrollment that grows with verified use, and the receiver's copy, on real clips."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
from shared_data import clip

from fingerprint_live.cli import main as cli
from fingerprint_live.embedder import Embedder
from fingerprint_live.enrollment import Enrollment, Segment, Vectors
from fingerprint_live.errors import EnrollmentError
from fingerprint_live.face_descriptor import FaceDescriptor
from fingerprint_live.growth import Addition, CallHarvest, GrowthPolicy, grow
from fingerprint_live.model_files import model_dir
from fingerprint_live.offline.clip_descriptors import clip_descriptors
from fingerprint_live.offline.clip_landmarks import extract_clip
from fingerprint_live.offline.clip_stream import play
from fingerprint_live.offline.view_center import FITTED_ON
from fingerprint_live.verifier import StreamingVerifier, VerifierConfig
from fingerprint_live.video_enrollment import build_enrollment, recording_addition

# Fei-Fei Li at three different talks: enroll from one, grow with another, probe the third.
FEIFEI = [f"styletalk/samples/source_video/video/feifeili_{c}.mp4"
          for c in ("clip1", "clip2_short", "clip3")]
ANDREW = "styletalk/samples/source_video/video/andrew_clip_1.mp4"


@pytest.fixture(scope="module")
def owner(embedder: Embedder, descriptor: FaceDescriptor) -> Enrollment:
    return build_enrollment([clip(FEIFEI[0])], embedder, descriptor, min_seconds=5)


def probe_score(enrollment: Enrollment, relative: str, embedder: Embedder) -> float:
    marks = extract_clip(clip(relative))
    emb, _ = embedder.embed_clip(marks.times, marks.points)
    return float(enrollment.motion_scores(emb, embedder.info.mix("camera")).mean())


def test_a_verified_recording_grows_the_enrollment_and_a_third_scores_higher(
        owner: Enrollment, embedder: Embedder, descriptor: FaceDescriptor) -> None:
    addition = recording_addition(owner, clip(FEIFEI[1]), embedder, descriptor)
    assert addition.eligible, addition.reason
    grown = grow(owner, addition)
    assert grown.sources == (clip(FEIFEI[0]).name, clip(FEIFEI[1]).name)
    assert grown.segments[1].origin == "recording" and grown.segments[1].added
    assert grown.original == 1 and len(grown.motion.vectors) > len(owner.motion.vectors)
    # a recording grows the camera part; the avatar part is what enrollment rendered
    assert grown.segments[1].avatar_windows == 0
    np.testing.assert_array_equal(grown.avatar.vectors, owner.avatar.vectors)
    assert probe_score(grown, FEIFEI[2], embedder) > probe_score(owner, FEIFEI[2], embedder)
    # the original stays, and --reset returns to it exactly
    back = grown.reset()
    assert back.segments == owner.segments
    np.testing.assert_array_equal(back.motion.vectors, owner.motion.vectors)


@pytest.mark.slow
def test_a_call_that_went_to_mismatch_adds_nothing(owner: Enrollment, embedder: Embedder,
                                                   descriptor: FaceDescriptor) -> None:
    addition = recording_addition(owner, clip(ANDREW), embedder, descriptor)
    assert not addition.eligible and "MISMATCH" in addition.reason
    with pytest.raises(EnrollmentError, match="nothing to add"):
        grow(owner, addition)


def test_a_face_swap_of_the_owner_driven_by_someone_else_is_not_added(
        owner: Enrollment, embedder: Embedder, descriptor: FaceDescriptor) -> None:
    """The owner's face (their descriptors) with another person's motion: what a live face
    swap of the owner would give the camera side. Andrew Ng's talk never reaches VERIFIED;
    Ronald Reagan's does (the fused gate lets some swaps through, BENCHMARKS.md), and the
    motion margin against the original enrollment refuses it."""
    faces = clip_descriptors(clip(FEIFEI[1]), extract_clip(clip(FEIFEI[1])), descriptor)
    for other in (ANDREW, "styletalk/samples/source_video/video/reagan_clip1.mp4"):
        harvest = CallHarvest.of(embedder.info)
        verifier = StreamingVerifier(owner, embedder, appearance=descriptor.info,
                                     harvest=harvest)
        play(verifier, extract_clip(clip(other)),
             lambda i, face: faces.vectors[i // 5 % len(faces)])
        addition = harvest.addition(owner, verifier.motion_llr, verifier.mix, "swap")
        assert not addition.eligible, addition.reason


def test_one_addition_is_bounded_and_the_oldest_additions_go_first(owner: Enrollment) -> None:
    """However long a call, it brings at most max_share of the windows after it; past the cap
    the oldest addition goes, never the original."""
    rng = np.random.default_rng(0)
    policy = GrowthPolicy(max_share=1 / 3, max_windows=len(owner.motion.vectors) * 2)
    def call(n: int, name: str) -> Addition:
        windows = rng.normal(size=(n, owner.motion.vectors.shape[1])).astype(np.float32)
        return Addition(windows, Segment(name, n, n * 0.2, "call"), "test")

    have = len(owner.motion.vectors)
    once = grow(owner, call(10 * have, "long call"), policy)
    assert once.segments[1].windows == have // 2  # a third of the total after it
    assert len(once.motion.vectors) == have + have // 2
    twice = grow(once, call(have, "second"), policy)
    thrice = grow(twice, call(have, "third"), policy)
    assert len(thrice.motion.vectors) <= policy.max_windows
    assert thrice.sources[0] == owner.sources[0] and "long call" not in thrice.sources
    np.testing.assert_array_equal(thrice.reset().motion.vectors, owner.motion.vectors)


@pytest.mark.slow
def test_enroll_add_and_reset_on_the_command_line(owner: Enrollment, tmp_path) -> None:
    path = tmp_path / "me.fpe"
    owner.save(path)
    assert cli(["enroll", "--add", str(path), str(clip(ANDREW)), "--json"]) == 1
    assert Enrollment.load(path).segments == owner.segments  # unchanged
    assert cli(["enroll", "--add", str(path), str(clip(FEIFEI[1]))]) == 0
    assert len(Enrollment.load(path).segments) == 2
    assert cli(["enroll", "--reset", str(path)]) == 0
    assert Enrollment.load(path).segments == owner.segments
    assert cli(["enroll", "--add", str(path)]) == 2  # no videos
    assert cli(["enroll", str(clip(FEIFEI[1]))]) == 2  # no -o


def test_the_receivers_copy_holds_no_face_and_is_checked_like_the_full_file(
        owner: Enrollment, embedder: Embedder, descriptor: FaceDescriptor, tmp_path) -> None:
    full = tmp_path / "me.fpe"
    replace(owner, public_key=bytes(range(32))).save(full)
    copy_path = tmp_path / "me-receiver.fpe"
    assert cli(["export", str(full), "-o", str(copy_path)]) == 0
    data = copy_path.read_bytes()
    doc = json.loads(data.split(b"\n")[1])
    assert doc["kind"] == "receiver" and doc["appearance"] is None and "neutral" not in doc
    copy = Enrollment.load(copy_path, embedder.info.model_id)
    assert copy.appearance is None and copy.neutral is None
    assert copy.public_key == bytes(range(32)) and copy.portrait == owner.portrait
    np.testing.assert_array_equal(copy.motion.vectors, owner.motion.vectors)
    np.testing.assert_array_equal(copy.avatar.vectors, owner.avatar.vectors)  # the receiver's
    # the receiver verifies with it; the camera side refuses it and says why
    StreamingVerifier(copy, embedder)
    with pytest.raises(EnrollmentError, match="receiver's copy"):
        StreamingVerifier(copy, embedder, appearance=descriptor.info)
    # tampered: one byte of the motion part flipped
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 1
    (tmp_path / "bad.fpe").write_bytes(bytes(bad))
    with pytest.raises(EnrollmentError, match="integrity|damaged|unreadable"):
        Enrollment.load(tmp_path / "bad.fpe", embedder.info.model_id)
    # foreign: made by another motion model
    with pytest.raises(EnrollmentError, match="another motion model"):
        Enrollment.load(copy_path, "0" * 64)
    # a receiver's copy that smuggles a face back in is refused
    with pytest.raises(EnrollmentError, match="motion part alone"):
        Enrollment(copy.motion, owner.appearance, kind="receiver")
    assert cli(["export", str(full), "-o", str(full)]) == 2  # would overwrite the full file


def test_an_avatar_part_made_with_another_avatar_is_refused_where_it_is_scored(
        owner: Enrollment, embedder: Embedder, descriptor: FaceDescriptor, tmp_path) -> None:
    """An enrollment made before the default avatar or the avatar view's centre changed holds
    an avatar part the receiver can no longer compare the avatar with: the receiver and
    ``export`` refuse it and say to enroll again; the camera side, which never scores that part,
    still verifies with it."""
    # the shipped centre was fitted on what the default avatar renders now
    card = json.loads((model_dir() / "embedder.json").read_text())
    assert card["view_fitted_on"]["avatar"] == FITTED_ON["avatar"]
    assert owner.avatar.model_id == embedder.info.view_id("avatar") != embedder.info.model_id
    receiver = VerifierConfig(view="avatar")
    StreamingVerifier(owner.receiver_copy(), embedder, receiver)  # made now: accepted
    # the same model with its avatar centre fitted on an older avatar's renders
    old_model = tmp_path / "model"
    shutil.copytree(model_dir(), old_model)
    card["view_fitted_on"]["avatar"] = "default avatar, render 5"
    (old_model / "embedder.json").write_text(json.dumps(card))
    old_info = Embedder(old_model).info
    assert old_info.model_id == embedder.info.model_id  # the camera part's binding is unchanged
    stale = [replace(owner, avatar=Vectors(old_info.view_id("avatar"), owner.avatar.vectors)),
             # files made before the avatar part had its own binding carry the motion id
             replace(owner, avatar=Vectors(owner.motion.model_id, owner.avatar.vectors))]
    for old in stale:
        with pytest.raises(EnrollmentError, match="avatar part .* enroll again"):
            StreamingVerifier(old.receiver_copy(), embedder, receiver)
        StreamingVerifier(old, embedder, appearance=descriptor.info)  # the camera side
    full, copy_path = tmp_path / "old.fpe", tmp_path / "old-receiver.fpe"
    stale[0].save(full)
    with pytest.raises(EnrollmentError, match="avatar part"):
        Enrollment.load(full, embedder.info.model_id, avatar_id=embedder.info.view_id("avatar"))
    assert cli(["export", str(full), "-o", str(copy_path)]) == 2 and not copy_path.exists()


def test_a_version_2_file_is_still_read(owner: Enrollment, tmp_path) -> None:
    import base64
    import hashlib

    v = np.ascontiguousarray(owner.motion.vectors, "<f4")
    body = json.dumps({"version": 2, "seconds": 10.0, "sources": ["a.mp4", "b.mp4"],
                       "motion": {"model_id": owner.motion.model_id, "shape": list(v.shape),
                                  "vectors": base64.b64encode(v.tobytes()).decode()},
                       "appearance": None}).encode()
    path = tmp_path / "v2.fpe"
    path.write_bytes(b"fingerprint-live-enrollment\n" + body + b"\nsha256:"
                     + hashlib.sha256(body).hexdigest().encode() + b"\n")
    loaded = Enrollment.load(path)
    assert loaded.sources == ("a.mp4, b.mp4",) and loaded.seconds == 10.0
    assert loaded.original == 1 and loaded.kind == "full" and loaded.public_key is None
    np.testing.assert_array_equal(loaded.motion.vectors, owner.motion.vectors)
    assert Enrollment.from_bytes(loaded.to_bytes()).segments == loaded.segments


def test_an_enrollments_bytes_do_not_change_with_the_clock(owner: Enrollment,
                                                           monkeypatch) -> None:
    """Made once, stamped once: the file written a second later is the same file (and a grown
    or reset enrollment keeps the date it was first made)."""
    import fingerprint_live.enrollment as module

    made = Enrollment(owner.motion)
    first = made.to_bytes()
    monkeypatch.setattr(module, "_now", lambda: "2099-01-01T00:00:00+0000")
    assert made.to_bytes() == first
    assert Enrollment.from_bytes(first).created == made.created != "2099-01-01T00:00:00+0000"
    assert made.reset().created == made.created
