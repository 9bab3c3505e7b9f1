"""From a clip's landmarks to the windows the embedder reads: one path for every caller."""

from __future__ import annotations

import numpy as np

from .clip_landmarks import ClipLandmarks
from .features import frame_features, resample, sliding_windows, window_features
from .landmarks import NUM_POINTS


def resampled_points(clip: ClipLandmarks) -> np.ndarray:
    """The clip's landmarks on the uniform ``FPS`` grid, ``(N, 468, 3)``; NaN over face loss."""
    flat = resample(clip.times, clip.points.reshape(len(clip), -1))
    return flat.reshape(-1, NUM_POINTS, 3)


def clip_windows(points: np.ndarray, length: int, stride: int) -> np.ndarray:
    """Window features ``(W, length, C)`` of resampled points, shape removed per window."""
    if len(points) == 0:
        return np.empty((0, length, 0), np.float32)
    return window_features(sliding_windows(frame_features(points), length, stride))
