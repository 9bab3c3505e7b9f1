"""A face shape at rest: mouth corners lowered to the lips' line, lips closed.

The avatar adds the driver's expression to the portrait's face shape; if that shape smiles, the
avatar smiles all call, and a driver's own smile lands on top of one. Without a model of faces,
the two parts of a posed smile that the landmarks show plainly are undone: the lip line bent up
towards the corners (straightened), and lips drawn apart over the teeth (closed). Each lip point
moves by the full amount, other points by less with their distance from the lips, so the cheeks
and chin follow smoothly.

The driver's neutral gets its lips closed too (its smile is theirs to keep): a neutral taken
from the median of talking frames has the mouth half open, and measured from there, a driver's
closed mouth would press the avatar's closed lips into each other.
"""

from __future__ import annotations

import cv2
import numpy as np

from .mesh_warp import warp_once
from .mouth import LOWER, OUTER_LOWER, OUTER_UPPER, UPPER, lip_colour

#: Falloff (Gaussian sigma) of the correction away from the lips, as a share of mouth width.
REACH = 0.45
#: Closed lips stay this share of the mouth's width apart, so that no two points coincide.
LEFT_OPEN = 0.01
#: The line where closed lips meet, as a share of the lips' colour.
SEAM_SHADE = 0.7


def neutral_portrait(image: np.ndarray, points: np.ndarray,
                     strength: float) -> tuple[np.ndarray, np.ndarray]:
    """The portrait (square RGB) and its points (468, 3) with ``strength`` of its smile undone.

    The image is warped once, exactly, and a dark seam is drawn where lips that were apart now
    meet, over the few pixels of teeth the warp leaves along it.
    """
    rest = neutralised(points, strength, strength)
    if strength <= 0:
        return image, rest
    out = warp_once(image, points[:, :2], rest[:, :2])
    gap = np.linalg.norm(points[LOWER, :2] - points[UPPER, :2], axis=1)
    if gap.max() >= 1.0:
        colour = lip_colour(image, points[:, :2]) * SEAM_SHADE
        seam = np.round(rest[UPPER, :2] * 16).astype(np.int32)
        cv2.polylines(out, [seam], False, tuple(float(c) for c in colour),
                      1, cv2.LINE_AA, shift=4)
    return out, rest


def neutralised(rest: np.ndarray, smile: float = 1.0, opening: float = 1.0) -> np.ndarray:
    """``rest`` (468, 3, pixels) with shares (0..1) of its ``smile`` and lip ``opening`` undone."""
    points = rest.astype(np.float64).copy()
    if smile <= 0 and opening <= 0:
        return points
    width, normal, u, w = lip_frame(points)
    upper = lip_curve(u, w, UPPER)
    lower = lip_curve(u, w, LOWER)
    # A smile lifts the corners above the lips' middle; at rest they lie level or lower.
    seam_mid = max(float((w[13] + w[14]) / 2), 0.0)
    inside = np.clip(u, 0, 1)
    lift = seam_mid * 4 * (inside - 0.5) ** 2  # how far up each column's seam was bent
    gap = np.maximum(lower - upper - LEFT_OPEN * width, 0)
    near = near_lips(points, width)
    side = seam_side(upper, lower, w)  # above the seam closes down, below closes up
    move = near * (smile * lift + opening * side * gap / 2)
    points[:, :2] += move[:, None] * normal
    return points


def lip_curve(u: np.ndarray, w: np.ndarray, contour: np.ndarray) -> np.ndarray:
    """The contour's ``w`` at each point's ``u`` (held flat beyond the corners)."""
    order = np.argsort(u[contour])
    return np.interp(u, u[contour][order], w[contour][order])


def lip_frame(points: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """The mouth's frame: its width (outer corners), unit ``normal`` pointing down the face,
    and each point's ``u`` (0 and 1 at the corners) and ``w`` (pixels below the corner line)."""
    a, b = points[OUTER_UPPER[0], :2], points[OUTER_UPPER[-1], :2]
    width = float(np.linalg.norm(b - a))
    axis = (b - a) / width
    normal = np.array([-axis[1], axis[0]])
    normal = normal if normal[1] > 0 else -normal
    rel = points[:, :2] - a
    return width, normal, (rel @ axis) / width, rel @ normal


def near_lips(points: np.ndarray, width: float) -> np.ndarray:
    """How much each point moves with the lips (468,): 1 on them, fading with distance."""
    lips = np.concatenate([OUTER_UPPER, OUTER_LOWER, UPPER, LOWER])
    dist = np.linalg.norm(points[:, None, :2] - points[None, lips, :2], axis=2).min(axis=1)
    return np.exp(-0.5 * (dist / (REACH * width)) ** 2)


def seam_side(upper: np.ndarray, lower: np.ndarray, w: np.ndarray) -> np.ndarray:
    """+1 for points above the line where the lips meet, -1 below it, from each point's ``w``
    and the inner lips' ``w`` at its ``u`` (``lip_curve``)."""
    return np.where(w < (upper + lower) / 2, 1.0, -1.0)
