"""Piecewise-affine warps of a still image from a rest mesh to moved mesh points.

Both triangulate the mesh points and a fixed border ring that keeps the background still
(Delaunay, in the rest mesh). :class:`MeshWarp` is the real-time one, for every frame;
:func:`warp_once` is exact but slower, for a one-time edit of the portrait (closing its lips
squeezes a whole open mouth into a line, which the real-time inversion only approximates).
"""

from __future__ import annotations

import cv2
import numpy as np

#: Grid nodes per side on which the warp is solved before upsampling: fine enough that a shut
#: eye (a few pixels) is squeezed shut, not blurred half open.
GRID_NODES = 128
#: Fixed points per side of the border ring that keeps the background still.
ANCHORS_PER_SIDE = 9
#: Newton steps that invert the forward mesh motion into a backward sampling map.
NEWTON_STEPS = 3
#: Smallest local area ratio assumed when inverting, so folded triangles give finite steps.
MIN_JACOBIAN = 0.2


class MeshWarp:
    """Real-time piecewise-affine warp of images from one rest mesh to moved mesh points.

    The triangulation and each grid node's triangle and barycentric weights in the rest mesh
    are computed once. Per frame the forward motion of the grid nodes is a weighted sum of point
    motions, inverted by a few Newton steps into a backward map, upsampled and applied with one
    ``cv2.remap``.
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


def warp_once(image: np.ndarray, rest: np.ndarray, moved: np.ndarray) -> np.ndarray:
    """``image`` (square, at the ``rest`` points) warped exactly so they land on ``moved``.

    Each output pixel is found in its moved triangle and sampled at the same barycentric place
    in the rest triangle; triangles squeezed flat simply vanish. Costs about a frame's warp
    many times over, so it is for a one-time edit.
    """
    size = image.shape[0]
    ring = _border_ring(size, ANCHORS_PER_SIDE)
    src = np.vstack([np.clip(rest, 0.5, size - 1.5), ring]).astype(np.float32)
    dst = np.vstack([np.clip(moved, 0.5, size - 1.5), ring]).astype(np.float32)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    index, weights = _locate(dst, _delaunay(src, size), np.dstack([xs, ys]), size)
    source = np.einsum("ijk,ijkc->ijc", weights, src[index]).astype(np.float32)
    return cv2.remap(image, source[..., 0], source[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


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
        (ax, ay), (bx, by), (cx, cy) = points[tri]
        if abs((bx - ax) * (cy - ay) - (cx - ax) * (by - ay)) < 1e-3:
            continue  # squeezed flat: it covers no pixel, and has no barycentric weights
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
