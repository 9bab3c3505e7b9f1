"""Eyelids that close over the portrait's eyes, painted in the portrait's own rest frame.

Squeezing an eye shut with the mesh warp smears the iris and whites into a dark slit that
MediaPipe still reads as an open eye. Here the eye itself never moves: the upper lid comes down
over it (and the lower lid a little up) as the skin around the eye, with a lash line along the
lid's edge, so that a blink looks like a shut eye. The landmarks' lid contour lies a little
inside the visible eye, so the lids cover the contour grown by a rim.

The lids are painted at every closure, open too, so the eye reads alike on both sides of any
closure (replacing the photo's own lid edge at the first closure had made a MEAD still's eye
read 12% narrower at a closure of 0.001). At the driver's neutral they rest part-way down
(:data:`REST_READING`): a driver's eye opening wider raises them, which MediaPipe reads, where
widening the eye with the mesh hardly reads at all (+1% for +10%).

Per eye the portrait is prepared once: the skin colour the lid takes (the surroundings averaged
into the eye, the eye itself and its lashes left out), a soft mask of the grown eye, and every
pixel's place along the eye (``u``, corner to corner) and across it (``w``, pixels below the
corner line) with the lids' ``w`` at that ``u``. Per frame only a small box per eye is blended,
in numpy, before the mesh warp moves the whole face.

How open a half-closed eye looks depends on the portrait: MediaPipe reads one portrait's lid
edge where it is drawn and another's nearer the open eye. So the portrait's eyes are also
measured once, shut by steps, with MediaPipe on the portrait itself (:meth:`Eyelids.measure`),
and a driver's eye is closed as far as makes it read as open as the driver's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..expression import measures
from ..landmarks import LandmarkExtractor

#: Closures at which the portrait's eyes are measured.
STEPS = np.linspace(0.0, 1.0, 6)
#: Assumed reading of a shut eye when the portrait's cannot be measured (no face found).
SHUT_READING = 0.7
#: Upper and lower lid contours, corner to corner (image-left eye, image-right eye).
UPPER = np.array([[33, 246, 161, 160, 159, 158, 157, 173, 133],
                  [263, 466, 388, 387, 386, 385, 384, 398, 362]])
LOWER = np.array([[33, 7, 163, 144, 145, 153, 154, 155, 133],
                  [263, 249, 390, 373, 374, 380, 381, 382, 362]])
#: Where the lids meet when the eye is shut, as a share of the opening from the upper lid.
MEET = 0.8
#: The rim the eye contour is grown by before the lids cover it, and the reach of the skin
#: colour average, as shares of the eye's width.
RIM = 0.3
SKIN_REACH = 0.25
#: The lash line along the upper lid's edge: its half-width (Gaussian sigma, share of the eye's
#: width) and its darkness at the middle; the lower lid's is this much fainter.
LASH_WIDTH = 0.03
LASH_DARKNESS = 0.7
LOWER_LASH = 0.35
#: The lids' edges when open lie this far (share of the eye's width) outside the landmarks' lid
#: contour, which lies inside the visible eye: painted open, the eye looks as big as the photo's.
OPEN_MARGIN = 0.04
#: How open the eye reads (share of the lids fully open) when the driver's eye is at its neutral:
#: the lids rest part-way down, with room to open them.
REST_READING = 0.92


@dataclass(frozen=True)
class _Eye:
    box: tuple[int, int, int, int]  # y0, y1, x0, x1 in portrait pixels
    w: np.ndarray  # (h, w) each pixel's distance below the corner line
    upper: np.ndarray  # (h, w) the upper lid's w at the pixel's u (held beyond the corners)
    lower: np.ndarray
    edge: np.ndarray  # (h, w) how strong a lash line is at the pixel's u (0 at the corners)
    mask: np.ndarray  # (h, w) soft mask of the grown eye
    skin: np.ndarray  # (h, w, 3) float32 the lid's colour
    lash: np.ndarray  # (3,) float32
    width: float


class Eyelids:
    """Closes the portrait's eyes by ``closure`` (0 open, 1 shut) per eye."""

    def __init__(self, image: np.ndarray, rest: np.ndarray) -> None:
        self._eyes = [_prepare(image, rest[:, :2], i) for i in range(2)]
        self._readings = 1 - (1 - SHUT_READING) * STEPS  # eye opening read at each step

    def measure(self, image: np.ndarray) -> None:
        """Read the eyes of ``image`` (the portrait at rest) shut by each of :data:`STEPS`.

        Readings are shares of the open eye's, made non-increasing; if MediaPipe loses the face
        at some step, the assumed straight line stays.
        """
        readings = []
        work = image.copy()
        with LandmarkExtractor(static=True) as extractor:
            for c in STEPS:
                self.paint(work, image, np.array([c, c]))
                face = extractor.process(work)
                if not face.found:
                    return
                readings.append(float(measures(face.points[None])[0, 1:3].mean()))
        self._readings = np.minimum.accumulate(np.array(readings) / readings[0])

    def closure(self, opening: np.ndarray) -> np.ndarray:
        """How far to close each eye so that it reads ``opening`` (share of its neutral) open."""
        return np.interp(opening * REST_READING, self._readings[::-1], STEPS[::-1])

    @staticmethod
    def beyond(opening: np.ndarray) -> np.ndarray:
        """How much wider than with its lids fully open each eye must be drawn (1 or more)."""
        return np.maximum(opening * REST_READING, 1.0)

    def paint(self, target: np.ndarray, source: np.ndarray, closure: np.ndarray) -> None:
        """``target`` = ``source`` with each eye's lids closed by ``closure[i]`` (0..1).

        Only the eye boxes are written, so ``target`` must otherwise already equal ``source``.
        """
        for eye, c in zip(self._eyes, np.clip(closure, 0.0, 1.0), strict=True):
            y0, y1, x0, x1 = eye.box
            roi = source[y0:y1, x0:x1]
            gap = eye.lower - eye.upper
            top = eye.upper + c * MEET * gap  # the upper lid's edge now
            bottom = eye.lower - c * (1 - MEET) * gap
            w = eye.w
            # Within the grown eye, everything above the upper edge or below the lower is lid,
            # and so is the strip between edges less than a pixel apart (as beyond the corners).
            covered = np.maximum(np.clip(top - w + 0.5, 0, 1), np.clip(w - bottom + 0.5, 0, 1))
            covered = eye.mask * np.maximum(covered, np.clip(1 - (bottom - top), 0, 1))
            out = roi + covered[..., None] * (eye.skin - roi)
            sigma = LASH_WIDTH * eye.width
            lash = (np.exp(-0.5 * ((w - top) / sigma) ** 2)
                    + LOWER_LASH * np.exp(-0.5 * ((w - bottom) / sigma) ** 2))
            lash *= eye.edge * eye.mask * LASH_DARKNESS
            out += lash[..., None] * (eye.lash - out)
            target[y0:y1, x0:x1] = np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _prepare(image: np.ndarray, points: np.ndarray, i: int) -> _Eye:
    """Eye ``i``'s box, its (u, w) frame, lid curves, mask and lid colours."""
    upper_ids, lower_ids = UPPER[i], LOWER[i]
    a, b = points[upper_ids[0]], points[upper_ids[-1]]
    width = float(np.linalg.norm(b - a))
    axis = (b - a) / width
    normal = np.array([-axis[1], axis[0]])  # points down the face for an upright portrait
    if normal[1] < 0:
        normal = -normal
    contour = np.vstack([points[upper_ids], points[lower_ids[::-1]]])
    h, w_img = image.shape[:2]
    pad = int(np.ceil((RIM + 2 * SKIN_REACH) * width)) + 2
    x0, y0 = np.clip(np.floor(contour.min(axis=0)).astype(int) - pad, 0, (w_img - 1, h - 1))
    x1, y1 = np.clip(np.ceil(contour.max(axis=0)).astype(int) + pad + 1, 1, (w_img, h))
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    rel = np.dstack([xs - a[0], ys - a[1]])
    u, w = rel @ axis, rel @ normal

    def curve(ids: np.ndarray) -> np.ndarray:
        lu, lw = (points[ids] - a) @ axis, (points[ids] - a) @ normal
        order = np.argsort(lu)
        return np.interp(u, lu[order], lw[order])

    margin = OPEN_MARGIN * width
    upper, lower = curve(upper_ids) - margin, curve(lower_ids) + margin
    opening = np.where((u >= 0) & (u <= width), np.maximum(lower - upper, 0), 0)
    edge = np.sqrt(opening / max(float(opening.max()), 1e-6))
    box = image[y0:y1, x0:x1].astype(np.float32)
    eye = np.zeros(box.shape[:2], np.uint8)
    cv2.fillPoly(eye, [np.round((contour - (x0, y0)) * 16).astype(np.int32)], 255, shift=4)
    rim = max(1, int(round(RIM * width)))
    grown = cv2.dilate(eye, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * rim + 1,) * 2))
    mask = cv2.GaussianBlur(grown.astype(np.float32) / 255, (0, 0), max(0.6, rim / 3))
    keep = 1.0 - cv2.dilate(grown, np.ones((3, 3), np.uint8)).astype(np.float32) / 255
    reach = SKIN_REACH * width
    skin = (cv2.GaussianBlur(box * keep[..., None], (0, 0), reach)
            / np.maximum(cv2.GaussianBlur(keep, (0, 0), reach), 1e-3)[..., None])
    lash = np.percentile(box[eye > 0], 5, axis=0) if (eye > 0).any() else np.zeros(3)
    f32 = np.float32
    return _Eye((int(y0), int(y1), int(x0), int(x1)), w.astype(f32), upper.astype(f32),
                lower.astype(f32), edge.astype(f32), mask.astype(f32), skin.astype(f32),
                lash.astype(f32), width)
