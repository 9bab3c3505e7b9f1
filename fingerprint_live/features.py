"""Per-frame motion features: what a face does, with what it looks like taken out.

A frame's features are the pairwise 2-D distances between a subset of landmarks, divided by a
rotation-free 3-D face scale, plus six head-pose channels (roll, yaw, pitch, x/y position, log
scale). ``window_features`` subtracts each channel's median over the window, which removes the
person's static face shape and leaves the dynamics. ``transplant`` moves one person's motion onto
another person's neutral face shape in landmark space, the way an avatar re-renders it.
"""

from __future__ import annotations

import numpy as np

#: The landmark subset: lips, eyelids, brows, nose and face outline (MediaPipe indices).
SUBSET = np.array([
    61, 291, 0, 17, 13, 14, 78, 308, 37, 267, 84, 314, 82, 312, 87, 317,  # lips
    33, 133, 159, 145, 160, 144, 263, 362, 386, 374, 387, 373,  # eyes
    70, 105, 107, 46, 55, 300, 334, 336, 276, 285,  # brows
    1, 4, 6, 168, 98, 327, 2,  # nose
    10, 152, 234, 454, 172, 397, 58, 288, 50, 280,  # outline and cheeks
])
_I, _J = np.triu_indices(len(SUBSET), k=1)
NUM_DISTANCES = len(_I)
NUM_POSE = 6
NUM_CHANNELS = NUM_DISTANCES + NUM_POSE

# Points that barely move with expression: eye corners, nose bridge and tip, face sides, forehead.
_RIGID = np.array([33, 133, 362, 263, 6, 168, 1, 4, 234, 454, 10])
_EYE_L, _EYE_R, _NASION, _SUBNASALE = 33, 263, 168, 2

#: Frames per second every clip and stream is resampled to before windowing.
FPS = 25.0


def head_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame head pose from landmarks ``(..., 468, 3)``: origin, rotation rows, scale.

    The axes come from the eye corners (x) and the nose bridge to below the nose (y), so no
    template face is needed. The scale is the RMS 3-D spread of the rigid points, which does not
    change when the head turns.
    """
    rigid = points[..., _RIGID, :]
    origin = rigid.mean(axis=-2)
    scale = np.sqrt(((rigid - origin[..., None, :]) ** 2).sum(-1).mean(-1))
    x = points[..., _EYE_R, :] - points[..., _EYE_L, :]
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    y = points[..., _SUBNASALE, :] - points[..., _NASION, :]
    y -= (y * x).sum(-1, keepdims=True) * x
    y /= np.linalg.norm(y, axis=-1, keepdims=True)
    z = np.cross(x, y)
    return origin, np.stack([x, y, z], axis=-2), scale


def head_angles(rot: np.ndarray) -> np.ndarray:
    """Roll, yaw and pitch in radians ``(N, 3)`` from ``head_frame``'s rotation rows."""
    return np.stack([
        np.arctan2(rot[:, 0, 1], rot[:, 0, 0]),  # roll: the eye line's tilt in the image
        np.arcsin(np.clip(rot[:, 0, 2], -1, 1)),  # yaw: the eye line's depth component
        np.arcsin(np.clip(rot[:, 1, 2], -1, 1)),  # pitch: the nose line's depth component
    ], axis=1)


def frame_features(points: np.ndarray) -> np.ndarray:
    """Features of frames ``(N, 468, 3)`` as ``(N, NUM_CHANNELS)`` float32; NaN rows stay NaN."""
    origin, rot, scale = head_frame(points)
    pose = np.stack([
        *head_angles(rot).T,
        origin[:, 0] / scale,
        origin[:, 1] / scale,
        np.log(scale),
    ], axis=1)
    return np.concatenate([subset_distances(points, scale), pose], axis=1).astype(np.float32)


def subset_distances(points: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """2-D distances between every pair of ``SUBSET`` points of ``(N, 468, 3)``, over ``scale``.

    Dividing by the rotation-free face scale leaves the face's shape, not its size in the image.
    """
    sub = points[:, SUBSET, :2]
    return np.linalg.norm(sub[:, _I] - sub[:, _J], axis=-1) / scale[:, None]


def resample(times: np.ndarray, values: np.ndarray, grid: np.ndarray | None = None,
             max_gap: float = 0.25) -> np.ndarray:
    """Resample per-frame rows onto ``grid`` (default: ``FPS`` from the first to the last time).

    Linear interpolation between frames with a face; grid points further than ``max_gap``
    seconds from any face frame are NaN, so a window over a long face loss is not invented.
    """
    if grid is None:
        grid = np.arange(times[0], times[-1] + 1e-9, 1.0 / FPS) if len(times) else times
    ok = ~np.isnan(values).any(axis=1)
    t, v = times[ok], values[ok]
    if len(t) < 2:
        return np.full((len(grid), values.shape[1]), np.nan, np.float32)
    right = np.clip(np.searchsorted(t, grid), 1, len(t) - 1)
    left = right - 1
    span = t[right] - t[left]
    w = np.clip((grid - t[left]) / np.where(span > 0, span, 1), 0, 1)[:, None]
    out = (v[left] * (1 - w) + v[right] * w).astype(np.float32)
    gap = np.minimum(np.abs(grid - t[left]), np.abs(t[right] - grid))
    out[gap > max_gap] = np.nan
    return out


def window_features(frames: np.ndarray) -> np.ndarray:
    """A window ``(T, C)`` with each channel's median removed: dynamics without face shape."""
    return frames - np.median(frames, axis=-2, keepdims=True)


def sliding_windows(series: np.ndarray, length: int, stride: int) -> np.ndarray:
    """All full windows ``(W, length, C)`` of a resampled series that contain no NaN."""
    if len(series) < length:
        return np.empty((0, length, series.shape[1]), np.float32)
    starts = np.arange(0, len(series) - length + 1, stride)
    wins = np.stack([series[s:s + length] for s in starts])
    return wins[~np.isnan(wins).any(axis=(1, 2))]


def neutral_shape(points: np.ndarray) -> np.ndarray:
    """A person's rest face shape ``(468, 3)`` in head coordinates: the median over frames."""
    return np.nanmedian(to_head(points), axis=0)


def to_head(points: np.ndarray) -> np.ndarray:
    """Landmarks in head coordinates: pose and scale removed, frame by frame."""
    origin, rot, scale = head_frame(points)
    return np.einsum("nij,npj->npi", rot, points - origin[:, None]) / scale[:, None, None]


def transplant(points: np.ndarray, source_shape: np.ndarray,
               target_shape: np.ndarray) -> np.ndarray:
    """Move motion ``points (N, 468, 3)`` of a face with ``source_shape`` onto ``target_shape``.

    In head coordinates each frame is its rest shape plus an expression offset; the offset and
    the head pose are kept and the rest shape is swapped, as a reenactment does.
    """
    origin, rot, scale = head_frame(points)
    head = np.einsum("nij,npj->npi", rot, points - origin[:, None]) / scale[:, None, None]
    moved = head + (target_shape - source_shape)
    return np.einsum("nji,npj->npi", rot, moved) * scale[:, None, None] + origin[:, None]
