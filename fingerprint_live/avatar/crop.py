"""Square face crops from landmarks, steady over time.

Both the portrait and the driver are seen through a square box around the face. Raw landmark
boxes jitter by a pixel or two per frame, which an avatar shows as shaking, so the box is
smoothed exponentially; a frame without a face keeps the last box.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..landmarks import FaceLandmarks

Box = tuple[float, float, float]  # x0, y0, side in frame pixels


class FaceCropper:
    """Smoothed square box around the face: ``scale`` times the landmark extent.

    ``smoothing`` is the weight of the previous box (0 follows every frame, 0.9 is very calm).
    """

    def __init__(self, scale: float = 2.0, smoothing: float = 0.6) -> None:
        if scale <= 0 or not 0 <= smoothing < 1:
            raise ValueError("scale must be > 0 and smoothing in [0, 1)")
        self.scale = scale
        self.smoothing = smoothing
        self._state: np.ndarray | None = None  # centre x, centre y, side

    def box(self, face: FaceLandmarks) -> Box | None:
        """The current box, or None while no face has ever been seen."""
        if face.found:
            pts = face.points[:, :2]
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            raw = np.array([*(lo + hi) / 2, self.scale * float(np.max(hi - lo))], np.float64)
            if self._state is None:
                self._state = raw
            else:
                self._state = self.smoothing * self._state + (1 - self.smoothing) * raw
        if self._state is None:
            return None
        cx, cy, side = self._state
        return float(cx - side / 2), float(cy - side / 2), float(side)

    def crop(self, frame: np.ndarray, face: FaceLandmarks, size: int) -> np.ndarray:
        """The box resampled to ``size`` x ``size``; the centred square before any face is seen.

        Parts of the box outside the frame repeat the frame's edge pixels.
        """
        box = self.box(face)
        if box is None:
            h, w = frame.shape[:2]
            side = min(h, w)
            box = ((w - side) / 2, (h - side) / 2, side)
        shrink = size / box[2]
        if shrink < 0.5:  # warpAffine would alias: area-average down to about the crop size first
            frame = cv2.resize(frame, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
            box = (box[0] * shrink, box[1] * shrink, box[2] * shrink)
        return cv2.warpAffine(
            frame, crop_matrix(box, size), (size, size),
            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
        )


def crop_matrix(box: Box, size: int) -> np.ndarray:
    """2x3 affine from frame pixels to crop pixels."""
    x0, y0, side = box
    s = size / side
    return np.array([[s, 0, -x0 * s], [0, s, -y0 * s]], np.float32)


def crop_points(points: np.ndarray, box: Box, size: int) -> np.ndarray:
    """Landmarks (N, 3) in crop pixels; ``z`` is scaled like ``x`` to keep one pixel scale."""
    x0, y0, side = box
    s = size / side
    return ((points - np.array([x0, y0, 0], np.float32)) * s).astype(np.float32)
