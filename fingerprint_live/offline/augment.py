"""What a camera or a session changes, drawn at random for training views.

Most people in the data have one recording, so without help a model learns the recording as
much as the person. Each variation is something another camera or another day does to the
same motion: a time warp (speaking a little faster or slower), a lower or uneven frame rate,
dropped frames, a slightly different viewing angle, landmark jitter of a smaller face, and a
smoother tracker. They act on the landmarks before the features are computed, so the features
and windows are built as always (:mod:`..windows`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..features import head_frame


@dataclass(frozen=True)
class CameraVariation:
    prob: float = 0.7  # share of views that get any variation
    warp: float = 0.15  # time runs 1 +- this as fast
    fps: tuple[float, float] = (15.0, 30.0)  # frame rates the recording is thinned to
    drop: float = 0.1  # at most this share of the frames is dropped at random
    rotate_deg: float = 8.0  # head turned by up to this about each axis, before projection
    jitter: float = 0.004  # landmark noise, in face widths (a 100-pixel face: 0.4 px)
    smooth_prob: float = 0.3  # share of views that a 3-frame tracker average smooths


def vary(times: np.ndarray, points: np.ndarray, start: float, rng: np.random.Generator,
         cfg: CameraVariation) -> tuple[np.ndarray, np.ndarray]:
    """``(times, points)`` of a stretch of a clip as another camera or day might give them;
    ``start`` is the time the warp keeps still (a window's first grid point)."""
    if rng.random() >= cfg.prob:
        return times, points
    times = start + (times - start) * rng.uniform(1 - cfg.warp, 1 + cfg.warp)
    keep = _thinned(times, rng.uniform(*cfg.fps), rng) & (rng.random(len(times))
                                                          >= rng.uniform(0, cfg.drop))
    times, points = times[keep], points[keep]
    points = _turned(points, np.radians(rng.uniform(-cfg.rotate_deg, cfg.rotate_deg, 3)))
    width = np.nanmedian(np.ptp(points[..., 0], axis=1)) if len(points) else 0.0
    points = points + rng.normal(0.0, cfg.jitter * width, points.shape).astype(np.float32)
    if rng.random() < cfg.smooth_prob and len(points) >= 3:
        points = np.concatenate([points[:1], (points[:-2] + points[1:-1] + points[2:]) / 3,
                                 points[-1:]])
    return times, points.astype(np.float32)


def _thinned(times: np.ndarray, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Which frames a camera at ``fps`` (below the recording's rate) would have taken."""
    slots = np.floor((times - times[0]) * fps + rng.random()).astype(int) if len(times) else times
    first = np.ones(len(times), bool)
    first[1:] = np.diff(slots) > 0
    return first


def _turned(points: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Every frame's face turned by ``angles`` (x, y, z radians) about its own head centre."""
    cx, cy, cz = np.cos(angles)
    sx, sy, sz = np.sin(angles)
    rot = (np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
           @ np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
           @ np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]]))
    origin = head_frame(points)[0][:, None]
    return ((points - origin) @ rot.T + origin).astype(np.float32)
