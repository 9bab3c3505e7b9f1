"""Windows of motion: the one builder for training, enrollment, evaluation and the live verifier.

Per-frame features are computed on each frame as it came (``features.frame_features``), then
resampled onto a uniform ``FPS`` grid anchored at the first frame of a run of face
(``features.resample``), and cut into windows of ``length`` grid steps every ``stride`` steps,
each with its channels' median removed (``features.window_features``). A whole clip gives all
its windows at once (``clip_windows``); the live verifier asks for window ``k`` when its last
grid point has passed (``window_at``), and training draws single windows the same way. For a
clip streamed frame by frame without a break, both give the same windows, to the bit.
"""

from __future__ import annotations

import numpy as np

from .features import (
    FPS,
    FeatureSet,
    frame_features,
    neutral_shape,
    resample,
    transplant,
    window_features,
)


def frame_rows(points: np.ndarray, features: FeatureSet,
               target_shape: np.ndarray | None = None) -> np.ndarray:
    """Features ``(N, C)`` of landmarks ``(N, 468, 3)``; rows without a face (NaN) stay NaN.

    With ``target_shape`` the motion is first moved onto that neutral face shape, as an avatar
    that shows one face for everyone would.
    """
    found = ~np.isnan(points).any(axis=(1, 2))
    if target_shape is not None and found.any():
        points = transplant(points, neutral_shape(points[found]), target_shape)
    return frame_features(points, features)


def grid(anchor: float, first: int, count: int) -> np.ndarray:
    """``count`` grid times from step ``first`` of the ``FPS`` grid anchored at ``anchor``."""
    return anchor + (first + np.arange(count)) / FPS


def window_at(times: np.ndarray, rows: np.ndarray, anchor: float, k: int, length: int,
              stride: int, features: FeatureSet) -> np.ndarray | None:
    """Window ``k`` ``(length, C)`` of the grid anchored at ``anchor``; None if it has a gap."""
    frames = resample(times, rows, grid(anchor, k * stride, length))
    return None if np.isnan(frames).any() else window_features(frames, features)


def series(times: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """A clip's rows on the grid anchored at its first frame, to its last (NaN over gaps)."""
    if len(times) == 0:
        return np.empty((0, rows.shape[1]), np.float32)
    count = int(np.floor((times[-1] - times[0]) * FPS + 1e-6)) + 1
    return resample(times, rows, grid(float(times[0]), 0, count))


def full_windows(resampled: np.ndarray, length: int, stride: int) -> np.ndarray:
    """Indices ``k`` of the windows of a resampled series that have no gap."""
    if len(resampled) < length:
        return np.empty(0, int)
    ok = ~np.isnan(resampled).any(axis=1)
    full = np.convolve(ok, np.ones(length), "valid") == length
    return np.flatnonzero(full[::stride])


def clip_windows(times: np.ndarray, rows: np.ndarray, length: int, stride: int,
                 features: FeatureSet) -> np.ndarray:
    """Every gap-free window ``(W, length, C)`` of a clip's per-frame rows."""
    resampled = series(times, rows)
    ks = full_windows(resampled, length, stride)
    if len(ks) == 0:
        return np.empty((0, length, features.channels), np.float32)
    return window_features(np.stack([resampled[k * stride:k * stride + length] for k in ks]),
                           features)


def usable_seconds(times: np.ndarray, rows: np.ndarray, length: int) -> float:
    """Seconds of face motion in runs at least one window long (shorter runs give none)."""
    resampled = series(times, rows)
    if len(resampled) == 0:
        return 0.0
    ok = np.concatenate([[0], ~np.isnan(resampled).any(axis=1), [0]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(ok))
    runs = edges[1::2] - edges[::2]
    return float(runs[runs >= length].sum()) / FPS
