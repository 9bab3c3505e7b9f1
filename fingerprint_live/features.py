"""Per-frame motion features: what a face does, with what it looks like taken out.

A frame's features (``FeatureSet``, declared by each model) are the pairwise distances between a
subset of landmarks, 2-D in the image over a rotation-free 3-D face scale, or 3-D in head
coordinates (pose removed), or both side by side for a model with one branch for each, plus six
head-pose channels (roll, yaw, pitch, x/y position, log scale). ``window_features`` subtracts
each channel's median over the window, which removes the person's static face shape and leaves
the dynamics (and, if the set asks, appends each channel's frame-to-frame change).
``transplant`` moves one person's motion onto another person's neutral face shape in landmark
space, the way an avatar re-renders it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache

import numpy as np

#: The landmark subset: lips, eyelids, brows, nose and face outline (MediaPipe indices).
SUBSET = np.array([
    61, 291, 0, 17, 13, 14, 78, 308, 37, 267, 84, 314, 82, 312, 87, 317,  # lips
    33, 133, 159, 145, 160, 144, 263, 362, 386, 374, 387, 373,  # eyes
    70, 105, 107, 46, 55, 300, 334, 336, 276, 285,  # brows
    1, 4, 6, 168, 98, 327, 2,  # nose
    10, 152, 234, 454, 172, 397, 58, 288, 50, 280,  # outline and cheeks
])
#: A smaller set of points MediaPipe tracks well: mouth corners and midlines, lid midpoints,
#: eye corners, brow centres, nose tip, chin, face sides.
CORE = np.array([61, 291, 0, 17, 13, 14, 33, 133, 159, 145, 263, 362, 386, 374, 105, 334,
                 70, 300, 1, 152, 234, 454, 10])
SUBSETS = {"face55": SUBSET, "core23": CORE}
NUM_POSE = 6
#: Where the distances are measured; ``image+head`` holds both, one model branch for each.
SPACES = ("image", "head", "image+head")


@dataclass(frozen=True)
class FeatureSet:
    """Which motion features a model reads; its card (``embedder.json``) stores this."""

    points: str = "face55"  # the landmark subset: face55, or the smaller core23
    #: image: 2-D distances over the face scale; head: 3-D, pose removed; image+head: both
    space: str = "image"
    pose: bool = True  # six head-pose channels after the distances
    velocity: bool = False  # windows also carry every channel's frame-to-frame change

    def __post_init__(self) -> None:
        if self.points not in SUBSETS or self.space not in SPACES:
            raise ValueError(f"unknown feature set {self}")

    @property
    def spaces(self) -> list[str]:
        return self.space.split("+")

    @property
    def frame_channels(self) -> int:
        n = len(SUBSETS[self.points])
        return n * (n - 1) // 2 * len(self.spaces) + (NUM_POSE if self.pose else 0)

    def branches(self) -> list[tuple[FeatureSet, np.ndarray]]:
        """One single-space feature set per space, and which of this set's window channels
        make it: a model branch reads exactly the windows that set alone would give."""
        n = len(SUBSETS[self.points])
        pairs = n * (n - 1) // 2
        pose = np.arange(len(self.spaces) * pairs, self.frame_channels)
        out = []
        for b, space in enumerate(self.spaces):
            frame = np.concatenate([np.arange(b * pairs, (b + 1) * pairs), pose])
            if self.velocity:
                frame = np.concatenate([frame, frame + self.frame_channels])
            out.append((FeatureSet(self.points, space, self.pose, self.velocity), frame))
        return out

    @property
    def channels(self) -> int:
        """Channels of a window, what the network reads."""
        return self.frame_channels * (2 if self.velocity else 1)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> FeatureSet:
        return cls(**(data or {}))

# Points that barely move with expression: eye corners, nose bridge and tip, face sides, forehead.
_RIGID = np.array([33, 133, 362, 263, 6, 168, 1, 4, 234, 454, 10])
_EYE_L, _EYE_R, _NASION, _SUBNASALE = 33, 263, 168, 2

#: Frames per second every clip and stream is resampled to before windowing.
FPS = 25.0


def head_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame head pose from landmarks ``(..., 468, 3)``: origin, rotation rows, scale.

    The axes come from the eye corners (x) and the nose bridge to below the nose (y), so no
    template face is needed. The scale is the RMS 3-D spread of the rigid points, which does not
    change when the head turns. A degenerate face (eye corners on one point, the nose line along
    the eye line, no spread) has no pose: its frame is NaN, as a frame without a face is, so
    nothing downstream divides by zero.
    """
    rigid = points[..., _RIGID, :]
    origin = rigid.mean(axis=-2)
    scale = _nonzero(np.sqrt(((rigid - origin[..., None, :]) ** 2).sum(-1).mean(-1)))
    x = points[..., _EYE_R, :] - points[..., _EYE_L, :]
    x = x / _nonzero(np.linalg.norm(x, axis=-1, keepdims=True))
    y = points[..., _SUBNASALE, :] - points[..., _NASION, :]
    y = y - (y * x).sum(-1, keepdims=True) * x
    y = y / _nonzero(np.linalg.norm(y, axis=-1, keepdims=True))
    z = np.stack([x[..., 1] * y[..., 2] - x[..., 2] * y[..., 1],  # x cross y, written out:
                  x[..., 2] * y[..., 0] - x[..., 0] * y[..., 2],  # np.cross took a quarter of
                  x[..., 0] * y[..., 1] - x[..., 1] * y[..., 0]], axis=-1)  # this per frame
    return origin, np.stack([x, y, z], axis=-2), scale


def _nonzero(length: np.ndarray) -> np.ndarray:
    """``length`` with zeros made NaN: dividing by it then gives NaN, never 0/0."""
    return np.where(length > 0, length, np.nan)


def head_angles(rot: np.ndarray) -> np.ndarray:
    """Roll, yaw and pitch in radians ``(N, 3)`` from ``head_frame``'s rotation rows."""
    return np.stack([
        np.arctan2(rot[:, 0, 1], rot[:, 0, 0]),  # roll: the eye line's tilt in the image
        np.arcsin(np.clip(rot[:, 0, 2], -1, 1)),  # yaw: the eye line's depth component
        np.arcsin(np.clip(rot[:, 1, 2], -1, 1)),  # pitch: the nose line's depth component
    ], axis=1)


def frame_features(points: np.ndarray, features: FeatureSet = FeatureSet()) -> np.ndarray:
    """Features of frames ``(N, 468, 3)`` as ``(N, features.frame_channels)`` float32; NaN rows
    stay NaN."""
    origin, rot, scale = head_frame(points)
    subset = SUBSETS[features.points]
    parts = []
    for space in features.spaces:
        if space == "head":
            head = np.einsum("nij,npj->npi", rot, points[:, subset] - origin[:, None])
            parts.append(pair_distances(head, np.arange(len(subset)), 3) / scale[:, None])
        else:
            parts.append(subset_distances(points, scale, subset))
    if features.pose:
        parts.append(np.stack([*head_angles(rot).T, origin[:, 0] / scale, origin[:, 1] / scale,
                               np.log(scale)], axis=1))
    return np.concatenate(parts, axis=1).astype(np.float32)


def subset_distances(points: np.ndarray, scale: np.ndarray,
                     subset: np.ndarray = SUBSET) -> np.ndarray:
    """2-D distances between every pair of ``subset`` points of ``(N, 468, 3)``, over ``scale``.

    Dividing by the rotation-free face scale leaves the face's shape, not its size in the image.
    """
    return pair_distances(points, subset, 2) / scale[:, None]


def pair_distances(points: np.ndarray, subset: np.ndarray, dims: int) -> np.ndarray:
    """Distances over the first ``dims`` axes between every pair of ``subset`` points."""
    i, j = _pairs(len(subset))
    sub = points[:, subset, :dims]
    return np.linalg.norm(sub[:, i] - sub[:, j], axis=-1)


@cache
def _pairs(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``i < j`` of ``count`` points (asked for on every live frame)."""
    return np.triu_indices(count, k=1)


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


def window_features(frames: np.ndarray, features: FeatureSet = FeatureSet()) -> np.ndarray:
    """A window ``(..., T, C)`` with each channel's median removed: dynamics without face shape;
    with ``features.velocity``, each channel's change from the frame before is appended."""
    out = frames - np.median(frames, axis=-2, keepdims=True)
    if not features.velocity:
        return out
    change = np.diff(frames, axis=-2, prepend=frames[..., :1, :])
    return np.concatenate([out, change], axis=-1)


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


def to_head(points: np.ndarray, subset: np.ndarray | None = None) -> np.ndarray:
    """Landmarks in head coordinates: pose and scale removed, frame by frame; only the
    ``subset`` points if given (each point's head coordinates depend on it alone)."""
    origin, rot, scale = head_frame(points)
    chosen = points if subset is None else points[:, subset]
    return np.einsum("nij,npj->npi", rot, chosen - origin[:, None]) / scale[:, None, None]


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
