"""One window builder: training, enrollment, evaluation and the live verifier see one window."""

from __future__ import annotations

import numpy as np
from live_helpers import GENUINE
from shared_data import clip

from fingerprint_live.embedder import Embedder
from fingerprint_live.enrollment import Enrollment, Vectors
from fingerprint_live.landmarks import FaceLandmarks
from fingerprint_live.offline.clip_landmarks import extract_clip
from fingerprint_live.offline.manifest import Clip
from fingerprint_live.offline.training import prepare
from fingerprint_live.verifier import StreamingVerifier
from fingerprint_live.windows import clip_windows, frame_rows


class Recording(Embedder):
    """The shipped embedder, keeping every window it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.windows: list[np.ndarray] = []

    def embed(self, windows: np.ndarray, view: str = "camera") -> np.ndarray:
        self.windows.extend(np.array(windows))
        return super().embed(windows, view)


def test_training_enrollment_evaluation_and_the_live_verifier_build_equal_windows() -> None:
    path = clip(GENUINE)
    marks = extract_clip(path)
    recording = Recording()
    info = recording.info
    offline = clip_windows(marks.times, frame_rows(marks.points, info.features), info.window,
                           info.stride, info.features)
    assert len(offline) >= 5, "the clip must give several windows for this to mean anything"

    enrolled, _ = recording.embed_clip(marks.times, marks.points)  # enrollment and evaluation
    assert np.array_equal(np.stack(recording.windows), offline)
    recording.windows.clear()

    verifier = StreamingVerifier(Enrollment(Vectors(info.model_id, enrolled)), recording)
    for face, t in zip(marks.faces(), marks.times, strict=True):  # live, frame by frame
        verifier.push(face, float(t))
    live = np.stack(recording.windows)
    assert live.shape == offline.shape
    np.testing.assert_allclose(live, offline, atol=1e-5)

    prepared = prepare([Clip(path, "m030", "real")], progress=False)[0]  # training
    drawn = np.stack([prepared.window(int(k), info.features)
                      for k in prepared.windows[::info.stride]])
    np.testing.assert_allclose(drawn, offline, atol=1e-5)


def test_frames_without_a_pose_are_left_out_alike_live_and_offline() -> None:
    """Frames whose eye corners fall on one point have no head pose (NaN features and
    measures); resampling bridges them, offline over the whole clip and live over the few rows
    the verifier reads around each window, and both give the same windows. Landmarks on one
    frame in 2, as the receiver runs, so grid times fall between frames; the two frames without
    a pose are the last two before window 7's first grid time (1.4 s, between frames), whose
    left neighbour is then the frame at 1.2 s. (A frame without a pose at a window's very end
    is held live, not bridged: the verifier cannot wait for the next.)"""
    marks = extract_clip(clip(GENUINE))
    times, points = marks.times[::2], marks.points[::2].copy()
    points[16:18, 263] = points[16:18, 33]  # the frames at 1.28 and 1.36 s
    recording = Recording()
    info = recording.info
    rows = frame_rows(points, info.features)
    assert np.isnan(rows[16:18]).any(axis=1).all() and not np.isnan(rows[:16]).any()
    offline = clip_windows(times, rows, info.window, info.stride, info.features)
    assert len(offline) > 7

    verifier = StreamingVerifier(Enrollment(Vectors(info.model_id, recording.embed(offline))),
                                 recording)
    recording.windows.clear()
    for pts, t in zip(points, times, strict=True):
        verifier.push(FaceLandmarks(pts, 1, marks.width, marks.height), float(t))
    live = np.stack(recording.windows)
    assert live.shape == offline.shape
    np.testing.assert_allclose(live, offline, atol=1e-5)


def test_head_coordinates_of_some_points_are_those_of_the_whole_face() -> None:
    """The expression measures turn only the points they read into head coordinates (on every
    live frame); each point's coordinates must not depend on which others are turned."""
    from fingerprint_live.expression import _MEASURED, measures
    from fingerprint_live.features import to_head

    points = extract_clip(clip(GENUINE)).points[:50].astype(np.float64)
    assert np.array_equal(to_head(points, _MEASURED), to_head(points)[:, _MEASURED])
    opening = measures(points)[:, 0]
    assert np.isfinite(opening).all() and opening.std() > 0.01  # M030 talks: the mouth moves
