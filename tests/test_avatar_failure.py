"""The avatar-failure detector on real clips: LOF parity, what it flags, the guard and the pose.

Broken avatar frames are made, not waited for: real faces whose landmarks are grossly
distorted, and the default avatar driven by a real clip's motion exaggerated eightfold (the
same frames at gain 1 pass). The shipped model and real MediaPipe are used throughout.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np
import pytest
from live_helpers import is_slate
from shared_data import clip
from sklearn.neighbors import LocalOutlierFactor

from fingerprint_live.avatar.base import AvatarFrame
from fingerprint_live.avatar.default_avatar import DefaultAvatar
from fingerprint_live.avatar.portrait import load_portrait
from fingerprint_live.errors import ModelError
from fingerprint_live.features import SUBSET
from fingerprint_live.glitch import FailureWindow, GlitchDetector, shape_features
from fingerprint_live.guard import Action, GuardConfig, Policy, decide
from fingerprint_live.landmarks import FaceLandmarks, LandmarkExtractor
from fingerprint_live.lof import NoveltyLOF
from fingerprint_live.media import iter_video
from fingerprint_live.offline.clip_landmarks import extract_clip
from fingerprint_live.pipeline import LiveFrame, Pipeline
from fingerprint_live.pose_warning import PoseMonitor
from fingerprint_live.verifier import State

#: A clip of an identity the detector's fit held out (it chose the threshold).
HELD_OUT = "spectre/MEAD/M003_level_1_disgusted_015.mp4"
#: Expressive driver whose motion, exaggerated, breaks the avatar.
EXPRESSIVE, EXPRESSIVE_FRAMES, GAIN = "liveportrait/driving/d3.mp4", 80, 8.0
#: Lip landmarks (outer and inner contour) of the MediaPipe mesh.
LIPS = [61, 291, 0, 17, 13, 14, 78, 308, 37, 267, 84, 314, 82, 312, 87, 317]
#: A real clip whose driver turns the head up to about 68 degrees of yaw.
STRONG_TURN = "more/VHAP/asset/monocular_person_0004.mp4__gtpanel_crop.mp4"


@pytest.fixture(scope="module")
def detector() -> GlitchDetector:
    return GlitchDetector.load()


@pytest.fixture(scope="module")
def held_out(detector: GlitchDetector) -> np.ndarray:
    assert HELD_OUT in detector.meta["held_out"]["sources"], "refit changed the held-out set"
    landmarks = extract_clip(clip(HELD_OUT))
    return landmarks.points[landmarks.found]


class Exaggerated(DefaultAvatar):
    """The default avatar, driven by the driver's motion since the first face times ``gain``."""

    def __init__(self, portrait: np.ndarray, gain: float) -> None:
        super().__init__(portrait)
        self.gain, self._first = gain, None

    def render(self, frame: np.ndarray, face: FaceLandmarks) -> AvatarFrame:
        if face.found:
            self._first = face.points if self._first is None else self._first
            face = FaceLandmarks(self._first + self.gain * (face.points - self._first),
                                 face.num_faces, face.width, face.height)
        return super().render(frame, face)


def expressive_frames() -> list[tuple[np.ndarray, float]]:
    return [(f.image, f.time) for f in islice(iter_video(clip(EXPRESSIVE)), EXPRESSIVE_FRAMES)]


def test_numpy_lof_matches_scikit_learn(detector: GlitchDetector, held_out: np.ndarray) -> None:
    queries = shape_features(held_out).astype(np.float64)  # scikit-learn keeps float32 inputs
    queries = np.vstack([queries, queries * 1.3])  # outliers too
    shipped = LocalOutlierFactor(n_neighbors=20, novelty=True).fit(detector.lof.points)
    np.testing.assert_allclose(detector.lof.score_samples(queries),
                               shipped.score_samples(queries), rtol=1e-7)
    shipped.offset_ = detector.lof.offset
    np.testing.assert_array_equal(detector.lof.predict(queries), shipped.predict(queries))
    train, test = queries[::2], queries[1::2]  # a fit of their own, on other data
    ours = NoveltyLOF.fit(train, k=20).score_samples(test)
    theirs = LocalOutlierFactor(n_neighbors=20, novelty=True).fit(train).score_samples(test)
    np.testing.assert_allclose(ours, theirs, rtol=1e-7)


def test_held_out_real_faces_pass_and_distorted_ones_fail(
        detector: GlitchDetector, held_out: np.ndarray) -> None:
    offset = detector.lof.offset
    assert np.mean(detector.scores(held_out) < offset) <= 0.05
    rng = np.random.default_rng(0)
    jitter = held_out.copy()
    jitter[..., :2] += rng.normal(size=jitter[..., :2].shape) * 0.05 * np.ptp(
        held_out[..., 0], axis=1)[:, None, None]
    stretched = held_out.copy()
    stretched[..., 1] *= 2.0  # a face pulled to twice its height
    mouth = held_out.copy()  # lips spread 2.5 times about the mouth's centre
    centre = held_out[:, [13, 14]].mean(axis=1, keepdims=True)
    mouth[:, LIPS] = centre + 2.5 * (held_out[:, LIPS] - centre)
    for broken in (jitter, stretched, mouth):
        assert np.mean(detector.scores(broken) < offset) >= 0.9
    assert detector.failed(FaceLandmarks(None, 0, 256, 256))  # no face is a failure too


def test_a_face_without_extent_has_no_shape_and_fails_without_a_warning(
        detector: GlitchDetector, held_out: np.ndarray) -> None:
    """All landmarks on one point (or the eye corners on one): no pose, no scale. Such a face
    must not reach a division (0/0 warned from features.py), and it is a failed avatar frame."""
    from fingerprint_live.features import FeatureSet, frame_features, head_frame

    collapsed = np.zeros((1, 468, 3))
    eyes_on_one_point = held_out[:1].copy()
    eyes_on_one_point[0, 263] = eyes_on_one_point[0, 33]
    with np.errstate(all="raise"):  # a 0/0 anywhere would raise here
        for face in (collapsed, eyes_on_one_point):
            assert np.isnan(head_frame(face)[1]).all(), "no pose"
            # a NaN channel makes the row a frame without a face for resampling
            assert np.isnan(frame_features(face, FeatureSet("core23", "image+head"))).any()
            assert detector.failed(FaceLandmarks(face[0], 1, 256, 256))
        assert np.isnan(shape_features(collapsed)).all(), "no scale"
        assert np.isfinite(shape_features(held_out[:3])).all(), "real faces are unchanged"


@pytest.mark.slow
def test_an_exaggerated_avatar_warp_is_flagged(detector: GlitchDetector) -> None:
    frames, rates = expressive_frames(), {}
    for gain in (1.0, GAIN):
        avatar, failed = Exaggerated(load_portrait(), gain), []
        with LandmarkExtractor() as driver, LandmarkExtractor() as seen:
            for image, _ in frames:
                out = avatar.render(image, driver.process(image)).image
                failed.append(detector.failed(seen.process(out)))
        rates[gain] = np.mean(failed)
    assert rates[1.0] <= 0.05 and rates[GAIN] >= 0.5, rates


def test_guard_flags_a_glitch_by_default_and_blocks_when_asked() -> None:
    glitch = "avatar glitch"
    assert decide(GuardConfig(), State.VERIFIED, glitch=glitch).action is Action.FLAG
    assert decide(GuardConfig(), State.VERIFIED, glitch=glitch).reason == glitch
    assert decide(GuardConfig(on_glitch="block"), State.VERIFIED,
                  glitch=glitch).action is Action.BLOCK
    assert decide(GuardConfig(on_glitch="off"), State.VERIFIED,
                  glitch=glitch).action is Action.PASS
    mismatch = decide(GuardConfig(), State.MISMATCH, glitch=glitch)
    assert mismatch.action is Action.BLOCK and mismatch.reason == "not the enrolled user"
    assert decide(GuardConfig(), State.NO_FACE, no_face_for=3.0,
                  glitch=glitch).action is Action.BLOCK


def run(pipeline: Pipeline, frames: list[tuple[np.ndarray, float]]) -> list[LiveFrame]:
    try:
        return [pipeline.process(image, t) for image, t in frames]
    finally:
        pipeline.close()


@pytest.mark.parametrize("on_glitch", [Policy.FLAG, Policy.BLOCK])
def test_pipeline_reports_a_broken_avatar(on_glitch: Policy) -> None:
    events = []
    pipeline = Pipeline(Exaggerated(load_portrait(), GAIN), None,
                        GuardConfig(on_glitch=on_glitch), on_event=events.append)
    out = run(pipeline, expressive_frames())
    hit = [o for o in out if o.glitch is not None]
    assert hit, "the broken avatar was never flagged"
    assert all(o.decision.reason == "avatar glitch" for o in hit)
    expected = Action.BLOCK if on_glitch is Policy.BLOCK else Action.FLAG
    assert all(o.decision.action is expected for o in hit)
    assert all(is_slate(o.image) == (on_glitch is Policy.BLOCK) for o in hit)
    assert any(e.glitch and e.to_json()["glitch"] for e in events)


def test_pose_warning_fires_on_a_strong_head_turn(held_out: np.ndarray) -> None:
    frames = [(f.image, f.time) for f in iter_video(clip(STRONG_TURN))]
    events = []
    pipeline = Pipeline(DefaultAvatar(load_portrait()), None, GuardConfig(on_glitch="off"),
                        on_event=events.append)
    out = run(pipeline, frames)
    warned = [o for o in out if o.warning]
    assert len(warned) >= 10 and all("turned too far" in o.warning for o in warned)
    # nothing checks this stream (no verifier): its banner says so, the warning changes nothing
    assert all(o.decision == out[0].decision for o in warned), "a warning never blocks"
    assert out[0].decision.action is Action.FLAG and out[0].decision.reason == "not enrolled"
    assert any(e.warning and e.to_json()["warning"] for e in events)
    monitor = PoseMonitor()  # a frontal clip: no warning
    assert not any(monitor.update(FaceLandmarks(p, 1, 256, 256)) for p in held_out)


def test_failure_window_needs_a_sustained_share() -> None:
    window = FailureWindow(seconds=2.0, rate=0.5, min_checks=4)
    for i in range(10):
        window.add(i * 0.1, i % 3 == 0)  # a third failed
    assert not window.flagged
    for i in range(10, 20):
        window.add(i * 0.1, True)
    assert window.flagged and window.rate > 0.5
    for i in range(20, 60):
        window.add(i * 0.1, False)  # older failures leave the window
    assert not window.flagged and window.rate == 0.0


def test_a_bad_model_file_is_a_clear_error(tmp_path: Path, detector: GlitchDetector) -> None:
    with pytest.raises(ModelError, match="missing"):
        GlitchDetector.load(tmp_path / "none.npz")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(ModelError, match="not a readable"):
        GlitchDetector.load(corrupt)
    good = tmp_path / "good.npz"
    detector.save(good)
    assert GlitchDetector.load(good).lof.offset == detector.lof.offset
    with np.load(good) as data:
        arrays = dict(data)
    np.savez(tmp_path / "future.npz", **{**arrays, "version": np.int32(99)})
    with pytest.raises(ModelError, match="version 99"):
        GlitchDetector.load(tmp_path / "future.npz")
    np.savez(tmp_path / "cut.npz", **{k: v for k, v in arrays.items() if k != "lrd"})
    with pytest.raises(ModelError, match="not a complete"):
        GlitchDetector.load(tmp_path / "cut.npz")


def test_fit_glitch_fits_a_detector_that_loads_and_holds_its_false_flag_rate(tmp_path) -> None:
    """``fingerprint-live fit-glitch`` on a small manifest of real clips and stills."""
    import csv

    from fingerprint_live.cli import main

    rows = [(HELD_OUT, "mead_M003"),
            ("dreamtalk/data/style_clip/video/W009_front_sad_level3_001.mp4", "mead_W009"),
            ("styletalk/samples/source_video/video/andrew_clip_1.mp4", "andrew_ng"),
            ("more/sstzal+DFRF/dataset/vids/french.mp4", "emmanuel_macron")]
    rows = [(clip(p), ident, "real") for p, ident in rows]
    rows += [(clip(f"yalefaces/subject0{i}.normal"), f"yale_{i}", "still") for i in range(1, 5)]
    manifest = tmp_path / "m.csv"
    with open(manifest, "w", newline="") as fh:
        csv.writer(fh).writerows([("path", "identity", "kind"), *rows])
    out = tmp_path / "detector.npz"
    assert main(["fit-glitch", "--manifest", str(manifest), "-o", str(out), "--points", "100",
                 "--quiet", "--json"]) == 0
    fitted = GlitchDetector.load(out)
    pairs = len(SUBSET) * (len(SUBSET) - 1) // 2  # the detector reads SUBSET's distances
    assert fitted.lof.points.shape == (100, pairs)
    assert fitted.meta["held_out"]["frames"] > 0
    assert fitted.meta["held_out"]["false_flag"] <= 0.05  # it chose its threshold there
    assert len(fitted.meta["held_out"]["identities"]) == 2  # a quarter of 8 identities
