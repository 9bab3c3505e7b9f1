"""The weight-free avatar: the portrait's face mesh moved by the driver's landmarks.

The driver's motion since calibration is split the first-order way: a head pose (3D similarity
fitted on points that move with the skull) and per-point expression offsets left after undoing
that pose. The offsets are rescaled to the portrait's face and added to the portrait's own 468
points, then the head pose is applied on top; rotating the 3D points and dropping ``z`` is what
turns the head sideways. The portrait is warped piecewise-affinely from its rest mesh to the
moved one, with a fixed ring of border points so the background stays put, and an opened mouth
is painted dark inside the lips.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import NoFaceError
from ..landmarks import FaceLandmarks
from .base import AvatarFrame
from .crop import FaceCropper, crop_points
from .portrait import find_face

#: Skull points: forehead, nose bridge and tip, eye corners, temples; no lips, brows or jaw.
RIGID = [10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 109, 67, 103, 338, 297, 332,
         33, 133, 362, 263, 127, 356, 234, 454, 93, 323, 162, 389, 21, 251]
#: Inner-lip contour, upper lip left to right then lower lip back (MediaPipe indices).
LIPS_UPPER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LIPS_LOWER = [324, 318, 402, 317, 14, 87, 178, 88, 95]
#: Upper and lower eyelid points paired across each eye (left eye, right eye).
LIDS_UPPER = np.array([[161, 160, 159, 158, 157], [388, 387, 386, 385, 384]])
LIDS_LOWER = np.array([[163, 144, 145, 153, 154], [390, 373, 374, 380, 381]])
#: MediaPipe puts the lids of a closed eye about this fraction of the open gap apart; the
#: driver's eye openness is rescaled so that this reads as shut.
SHUT_EYE_RATIO = 0.45
#: The portrait crop is this many times the landmark extent: room for hair and head motion.
CROP_SCALE = 2.0
#: Grid nodes per side on which the warp is solved before upsampling: fine enough that a shut
#: eye (a few pixels) is squeezed shut, not blurred half open.
GRID_NODES = 128
#: Fixed points per side of the border ring that keeps the background still.
ANCHORS_PER_SIDE = 9
#: Newton steps that invert the forward mesh motion into a backward sampling map.
NEWTON_STEPS = 3
#: Smallest local area ratio assumed when inverting, so folded triangles give finite steps.
MIN_JACOBIAN = 0.2
#: Mouth interior colour (RGB) and the extra opening, as a fraction of mouth width, at which the
#: cavity is fully dark.
CAVITY_RGB = (52, 18, 22)
CAVITY_FULL_AT = 0.12


class DefaultAvatar:
    """An :class:`~avatar.base.AvatarEngine` that needs no model weights."""

    def __init__(self, portrait_rgb: np.ndarray, size: int = 256) -> None:
        face = find_face(portrait_rgb)
        cropper = FaceCropper(scale=CROP_SCALE, smoothing=0.0)
        box = cropper.box(face)
        self.size = size
        self._image = cropper.crop(portrait_rgb, face, size)
        self._rest = crop_points(face.points, box, size).astype(np.float64)
        self._rest_centre = self._rest[RIGID].mean(axis=0)
        self._rest_scale = _spread(self._rest[RIGID])
        self._rest_angle = _roll(self._rest)
        self._mouth_width = float(np.linalg.norm(self._rest[61, :2] - self._rest[291, :2]))
        self._rest_gap = self._rest[14, :2] - self._rest[13, :2]
        self._warp = MeshWarp(self._rest[:, :2], size)
        self._neutral: np.ndarray | None = None
        self._to_portrait = np.eye(3)
        self._ratio = 1.0
        self._last = self._image

    def calibrate(self, frame: np.ndarray, face: FaceLandmarks) -> None:
        """Take this driver pose as neutral: the portrait at rest shows this face."""
        if not face.found:
            raise NoFaceError("the calibration frame has no face: look into the camera.")
        self._neutral = face.points.astype(np.float64)
        self._ratio = self._rest_scale / _spread(self._neutral[RIGID])
        self._to_portrait = _rot_z(self._rest_angle - _roll(self._neutral))

    def render(self, frame: np.ndarray, face: FaceLandmarks) -> AvatarFrame:
        """The portrait moved like the driver; the last frame again when no face is found."""
        if not face.found:
            return AvatarFrame(self._last, held=True)
        if self._neutral is None:
            self.calibrate(frame, face)
        moved = self._drive(face.points.astype(np.float64))
        image = self._warp.apply(self._image, moved[:, :2])
        self._paint_cavity(image, moved[:, :2])
        self._last = image
        return AvatarFrame(image, held=False)

    def _drive(self, points: np.ndarray) -> np.ndarray:
        """The portrait's 468 points (3D) posed and expressed like ``points`` vs. neutral."""
        neutral, m = self._neutral, self._to_portrait
        scale, rot, n_c, p_c = _similarity(neutral[RIGID], points[RIGID])
        expression = (points - p_c) @ rot / scale + n_c - neutral  # head pose undone
        rot_p = m @ rot @ m.T
        shape = self._rest + self._ratio * expression @ m.T
        self._set_eye_openness(shape, neutral + expression)
        shape -= self._rest_centre
        shift = self._ratio * (p_c - n_c) @ m.T
        return self._rest_centre + scale * shape @ rot_p.T + shift

    def _set_eye_openness(self, shape: np.ndarray, driver: np.ndarray) -> None:
        """Open each portrait eye by the driver's fraction of their neutral opening.

        Adding the driver's lid offsets would overshoot on a portrait with narrower eyes, the lids
        would cross, and a blink would show as an open eye again.
        """
        neutral = self._neutral
        gap_now = np.linalg.norm(driver[LIDS_UPPER] - driver[LIDS_LOWER], axis=2).sum(axis=1)
        gap_rest = np.linalg.norm(neutral[LIDS_UPPER] - neutral[LIDS_LOWER], axis=2).sum(axis=1)
        ratio = gap_now / np.maximum(gap_rest, 1e-6)
        openness = np.clip((ratio - SHUT_EYE_RATIO) / (1 - SHUT_EYE_RATIO), 0.0, 1.5)[:, None, None]
        middle = (shape[LIDS_UPPER] + shape[LIDS_LOWER]) / 2
        half = (self._rest[LIDS_UPPER] - self._rest[LIDS_LOWER]) / 2 * openness
        shape[LIDS_UPPER] = middle + half
        shape[LIDS_LOWER] = middle - half

    def _paint_cavity(self, image: np.ndarray, moved: np.ndarray) -> None:
        """Darken the inner-lip opening beyond the portrait's own, keeping a band of its teeth."""
        gap = moved[14] - moved[13]
        extra = np.linalg.norm(gap) - np.linalg.norm(self._rest_gap)
        alpha = float(np.clip(extra / (CAVITY_FULL_AT * self._mouth_width), 0.0, 1.0))
        if alpha <= 0.0:
            return
        upper = moved[LIPS_UPPER] + 0.8 * self._rest_gap
        polygon = np.vstack([upper, moved[LIPS_LOWER]])
        x0, y0 = np.floor(polygon.min(axis=0)).astype(int).clip(0, self.size - 1)
        x1, y1 = np.ceil(polygon.max(axis=0)).astype(int).clip(0, self.size - 1) + 1
        roi = image[y0:y1, x0:x1]
        painted = roi.copy()
        pts = np.round((polygon - (x0, y0)) * 16).astype(np.int32)
        cv2.fillPoly(painted, [pts], CAVITY_RGB, lineType=cv2.LINE_AA, shift=4)
        roi[:] = cv2.addWeighted(painted, alpha, roi, 1.0 - alpha, 0.0)


class MeshWarp:
    """Piecewise-affine warp of an image from a rest mesh to moved mesh points.

    The triangulation (Delaunay over the face points and a fixed border ring) and each grid
    node's triangle and barycentric weights in the rest mesh are computed once. Per frame the
    forward motion of the grid nodes is a weighted sum of point motions, inverted by a few
    Newton steps into a backward map, upsampled and applied with one ``cv2.remap``.
    """

    def __init__(self, rest: np.ndarray, size: int) -> None:
        self.size = size
        self._step = step = max(1, size // GRID_NODES)
        ring = _border_ring(size, ANCHORS_PER_SIDE)
        self._points = np.vstack([np.clip(rest, 0.5, size - 1.5), ring]).astype(np.float32)
        self._num_face = len(rest)
        triangles = _delaunay(self._points, size)
        n = size // step
        centres = (np.arange(n, dtype=np.float32) + 0.5) * step - 0.5
        gx, gy = np.meshgrid(centres, centres)
        self._nodes = np.dstack([gx, gy]).astype(np.float32)  # (n, n, 2)
        self._index, self._weights = _locate(self._points, triangles, self._nodes, size)
        self._offsets = np.zeros((len(self._points), 2), np.float32)
        self._map = np.empty((size, size, 2), np.float32)

    def apply(self, image: np.ndarray, moved: np.ndarray) -> np.ndarray:
        """``image`` (at the rest mesh) warped so the face points land on ``moved``."""
        self._offsets[: self._num_face] = moved - self._points[: self._num_face]
        motion = np.einsum("ijk,ijkc->ijc", self._weights, self._offsets[self._index])
        forward = self._nodes + motion
        source = self._invert(forward, self._nodes - motion)
        cv2.resize(source, (self.size, self.size), dst=self._map, interpolation=cv2.INTER_LINEAR)
        return cv2.remap(image, self._map, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def _invert(self, forward: np.ndarray, guess: np.ndarray) -> np.ndarray:
        """Rest positions that ``forward`` sends to the grid nodes (Newton from ``guess``).

        Where the mesh folds (the far cheek during a head turn) Newton may not converge, so each
        node keeps the iterate that landed closest to it.
        """
        dx = np.gradient(forward, axis=1) / self._step
        dy = np.gradient(forward, axis=0) / self._step
        det = np.maximum(dx[..., 0] * dy[..., 1] - dy[..., 0] * dx[..., 1], MIN_JACOBIAN)
        inverse = np.dstack([dy[..., 1], -dy[..., 0], -dx[..., 1], dx[..., 0]]) / det[..., None]
        inverse = inverse.astype(np.float32)
        offset = 0.5 / self._step - 0.5
        source, best = guess, guess
        best_error = np.full(guess.shape[:2], np.inf, np.float32)
        for k in range(NEWTON_STEPS + 1):
            gx = source[..., 0] / self._step + offset
            gy = source[..., 1] / self._step + offset
            at = cv2.remap(forward, gx, gy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            r = self._nodes - at
            error = (r**2).sum(axis=2)
            closer = error < best_error
            best = np.where(closer[..., None], source, best)
            best_error = np.minimum(error, best_error)
            if k == NEWTON_STEPS:
                break
            inv = cv2.remap(inverse, gx, gy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            source = source + np.dstack([
                inv[..., 0] * r[..., 0] + inv[..., 1] * r[..., 1],
                inv[..., 2] * r[..., 0] + inv[..., 3] * r[..., 1],
            ])
        return best


def _similarity(
    src: np.ndarray, dst: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Umeyama fit ``dst ~ scale * rot @ (src - src_c) + dst_c``; returns scale, rot, centres."""
    src_c, dst_c = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - src_c, dst - dst_c
    u, s, vt = np.linalg.svd(b.T @ a)
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u @ vt))
    rot = (u * d) @ vt
    return float((s * d).sum() / (a**2).sum()), rot, src_c, dst_c


def _spread(points: np.ndarray) -> float:
    """RMS distance from the centroid: a face size that agrees with the similarity's scale."""
    return float(np.sqrt(((points - points.mean(axis=0)) ** 2).sum(axis=1).mean()))


def _roll(points: np.ndarray) -> float:
    """In-plane angle of the line through the outer eye corners."""
    dx, dy = points[263, :2] - points[33, :2]
    return float(np.arctan2(dy, dx))


def _rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _border_ring(size: int, per_side: int) -> np.ndarray:
    t = np.linspace(0, size - 1, per_side)[:-1]
    edge = size - 1
    return np.vstack([
        np.column_stack([t, np.zeros_like(t)]),
        np.column_stack([np.full_like(t, edge), t]),
        np.column_stack([edge - t, np.full_like(t, edge)]),
        np.column_stack([np.zeros_like(t), edge - t]),
    ])


def _delaunay(points: np.ndarray, size: int) -> np.ndarray:
    """(T, 3) vertex indices of the Delaunay triangles of ``points`` (all inside the frame)."""
    subdiv = cv2.Subdiv2D((-2, -2, size + 4, size + 4))
    subdiv.insert([(float(x), float(y)) for x, y in points])
    corners = subdiv.getTriangleList().reshape(-1, 3, 2)
    inside = np.all((corners >= -1) & (corners <= size), axis=(1, 2))
    corners = corners[inside]
    dist = np.linalg.norm(corners.reshape(-1, 1, 2) - points[None], axis=2)
    return dist.argmin(axis=1).reshape(-1, 3)


def _locate(
    points: np.ndarray, triangles: np.ndarray, nodes: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each node's triangle vertices (n, n, 3) and barycentric weights (n, n, 3), once."""
    ids = np.full((size, size), -1, np.int32)
    for i, tri in enumerate(triangles):  # once per portrait, not per frame
        cv2.fillConvexPoly(ids, np.round(points[tri] * 16).astype(np.int32), i, shift=4)
    px = np.clip(np.round(nodes).astype(int), 0, size - 1)
    tri_of_node = ids[px[..., 1], px[..., 0]]
    if (tri_of_node < 0).any():
        raise AssertionError("the mesh does not cover the frame")  # the border ring guarantees it
    index = triangles[tri_of_node]  # (n, n, 3)
    a, b, c = (points[index[..., k]] for k in range(3))
    v0, v1, v2 = b - a, c - a, nodes - a
    den = v0[..., 0] * v1[..., 1] - v1[..., 0] * v0[..., 1]
    w1 = (v2[..., 0] * v1[..., 1] - v1[..., 0] * v2[..., 1]) / den
    w2 = (v0[..., 0] * v2[..., 1] - v2[..., 0] * v0[..., 1]) / den
    weights = np.dstack([1 - w1 - w2, w1, w2]).astype(np.float32)
    return index, weights
