"""The inside of the avatar's mouth: the portrait's own teeth where it shows them, then a cavity.

The mesh warp can only stretch what the portrait has between its lips: a closed mouth opened
wide becomes a smear of lip, an open one a stretched picture of teeth. After the warp, the
region between the moved inner lips is painted again, in the mouth's own frame (``u`` from one
inner corner to the other, ``t`` down from the upper lip, ``b`` up from the lower lip):

- next to each lip, the portrait's own mouth inside as it was next to that lip (its teeth, if
  the photo shows them), sliding with the lip rather than stretched; as the lips close they
  cover it, as real lips cover the teeth;
- in the middle, a cavity made in code: upper and lower teeth (only where the portrait shows
  none), a tongue rising from the floor of the mouth, and a dark throat.

At the portrait's own opening this gives back the portrait's own mouth. Per frame the work is a
numpy shader over the few hundred pixels inside the lips and one ``cv2.remap`` of two strips.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Inner-lip contours (MediaPipe), from corner 78 to corner 308: upper lip, lower lip.
UPPER = np.array([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308])
LOWER = np.array([78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308])
#: Outer-lip contours, from corner 61 to corner 291: upper lip, lower lip.
OUTER_UPPER = np.array([61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291])
OUTER_LOWER = np.array([61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291])
#: Columns of the strips sampled from the portrait along the mouth.
STRIP_COLUMNS = 64
#: Template sizes as shares of the inner mouth's width: upper and lower teeth heights, the
#: tongue's height at full opening, and the opening (beyond the portrait's) at which the tongue
#: is fully raised; the tongue never fills more than its share of the opening.
UPPER_TEETH = 0.10
LOWER_TEETH = 0.05
TONGUE = 0.18
TONGUE_AT = 0.3
TONGUE_SHARE = 0.4
#: An opening narrower than this share of the mouth's width is in shadow inside.
SHADOW_GAP = 0.06
#: Template colours (RGB, 0-255) for lips of :data:`LIPS_RGB`; a portrait's lips that are paler,
#: darker or greyer tint them the same way (a grey photo gets a grey mouth).
TEETH_RGB = np.array([226, 220, 204], np.float32)
TONGUE_RGB = np.array([168, 84, 86], np.float32)
THROAT_RGB = np.array([38, 10, 14], np.float32)
CHEEK_RGB = np.array([92, 34, 38], np.float32)
LIPS_RGB = np.array([180, 110, 110], np.float32)
#: Tooth edges along the upper teeth (``u``), symmetric about the middle: incisors, laterals,
#: canines, premolars.
TOOTH_EDGES = 0.5 + np.array([0.0, 0.085, 0.155, 0.215, 0.27, 0.32])


class MouthInterior:
    """Paints the inside of the moved mouth; built once from the portrait at rest."""

    def __init__(self, image: np.ndarray, rest: np.ndarray) -> None:
        frame = _MouthFrame(rest[:, :2])
        self._rest_width = frame.width
        u = np.linspace(0.0, 1.0, STRIP_COLUMNS)
        upper, lower = frame.lips(u)
        self._rest_gap = np.maximum(lower - upper, 0.0)  # (columns,) rest opening per column
        rows = int(np.ceil(self._rest_gap.max() / 2)) + 2
        t = np.arange(rows, dtype=np.float64)
        along = frame.a + u[:, None] * frame.width * frame.axis  # (columns, 2)
        top = along + upper[:, None] * frame.normal
        bottom = along + lower[:, None] * frame.normal
        # strips[0][t, u]: t pixels below the upper lip; strips[1][b, u]: b above the lower one
        self._strips = [
            _sample(image, top[None] + t[:, None, None] * frame.normal),
            _sample(image, bottom[None] - t[:, None, None] * frame.normal),
        ]
        self._rows = rows
        self._gap_u = u
        self._tint = _tint(lip_colour(image, rest[:, :2]))

    def paint(self, image: np.ndarray, moved: np.ndarray, scale: float) -> None:
        """Repaint, in place, the inside of the mouth whose points are ``moved`` (output px).

        ``scale`` is output pixels per portrait pixel, so the portrait's strips keep their size.
        """
        frame = _MouthFrame(moved[:, :2])
        contour = moved[np.concatenate([UPPER, LOWER[::-1]]), :2]
        size = image.shape[0]
        x0, y0 = np.clip(np.floor(contour.min(axis=0)).astype(int) - 1, 0, size - 1)
        x1, y1 = np.clip(np.ceil(contour.max(axis=0)).astype(int) + 2, 1, size)
        if x1 <= x0 or y1 <= y0 or frame.width < 1.0:
            return
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        rel_x, rel_y = xs - frame.a[0], ys - frame.a[1]
        u = (rel_x * frame.axis[0] + rel_y * frame.axis[1]) / frame.width
        w = rel_x * frame.normal[0] + rel_y * frame.normal[1]
        upper, lower = frame.lips(u)
        t, b = w - upper, lower - w  # output pixels below the upper lip, above the lower one
        rest_gap = np.interp(u, self._gap_u, self._rest_gap)
        # Half a pixel past the lips' lines, fading in as the lips part by their first pixel.
        cover = np.clip(np.minimum(t, b) + 1.0, 0.0, 1.0) * np.clip(t + b, 0.0, 1.0)
        cover[(u < 0) | (u > 1)] = 0.0
        if not cover.any():
            return
        t, b = t / scale, b / scale  # portrait pixels from here on
        gap = t + b
        own = np.minimum(gap, rest_gap) / 2  # how much of each strip still shows
        colour = self._cavity(u, t - own, b - own, gap - rest_gap)
        col = (np.clip(u, 0, 1) * (STRIP_COLUMNS - 1)).astype(np.float32)  # OpenCV 5: maps alike
        for strip, d in zip(self._strips, (t, b), strict=True):
            taken = cv2.remap(strip, col, np.clip(d, 0, self._rows - 1).astype(np.float32),
                              cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            colour = np.where((d < own)[..., None], taken.astype(np.float32), colour)
        # Lips almost shut leave the inside in shadow.
        light = np.clip(gap / (SHADOW_GAP * self._rest_width), 0, 1)[..., None]
        colour = THROAT_RGB + (colour - THROAT_RGB) * (0.3 + 0.7 * light)
        roi = image[y0:y1, x0:x1].astype(np.float32)
        roi += cover[..., None] * (colour - roi)
        image[y0:y1, x0:x1] = np.clip(roi + 0.5, 0, 255).astype(np.uint8)

    def _cavity(self, u: np.ndarray, t: np.ndarray, b: np.ndarray,
                extra: np.ndarray) -> np.ndarray:
        """Template colours (h, w, 3) of the opening beyond the portrait's own, per pixel.

        ``t``/``b``: portrait pixels below the upper strip / above the lower one; ``extra``: the
        opening beyond the portrait's own there.
        """
        width = self._rest_width
        own = np.interp(u, self._gap_u, self._rest_gap) / 2  # the strips hold teeth it shows
        side = np.abs(u - 0.5) * 2  # 0 in the middle, 1 at the corners
        depth = np.clip(np.minimum(t, b) / (0.25 * width), 0, 1)
        colour = CHEEK_RGB + (THROAT_RGB - CHEEK_RGB) * (0.4 + 0.6 * depth)[..., None]
        colour += np.clip(side * 1.4 - 0.3, 0, 1)[..., None] * (THROAT_RGB * 0.8 - colour)
        top = np.minimum(TONGUE * width * np.clip(extra / (TONGUE_AT * width), 0, 1),
                         TONGUE_SHARE * np.maximum(t + b, 0))
        top = top * np.sqrt(np.clip(1 - (side / 0.7) ** 2, 0, 1))
        tongue = np.clip(top - b + 0.5, 0, 1)[..., None]
        lit = 0.55 + 0.45 * np.clip(b / np.maximum(top, 1e-3), 0, 1) ** 0.5  # back is darker
        colour += tongue * (TONGUE_RGB * lit[..., None] - colour)
        gaps = np.min(np.abs(np.abs(u - 0.5)[..., None] - (TOOTH_EDGES - 0.5)), axis=-1)
        gaps = 1 - 0.25 * np.exp(-((gaps / 0.012) ** 2))
        for d, height, reach, shade in ((t, UPPER_TEETH, 0.8, 1.0), (b, LOWER_TEETH, 0.45, 0.78)):
            h = (height * width - own) * np.sqrt(np.clip(1 - (side / reach) ** 2, 0, 1))
            tooth = np.clip(h - d + 0.5, 0, 1)
            lit = shade * (1 - 0.35 * side) * gaps
            lit = lit * (1 - 0.2 * np.clip(d / np.maximum(h, 1e-3), 0, 1))
            colour += tooth[..., None] * (TEETH_RGB * lit[..., None] - colour)
        return self._tint(colour)


def lip_colour(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The mean colour (3,) of the portrait's lips, between their outer and inner contours."""
    lips = np.zeros(image.shape[:2], np.uint8)
    for outer, inner in ((OUTER_UPPER, UPPER), (OUTER_LOWER, LOWER)):
        ring = np.vstack([points[outer], points[inner[::-1]]])
        cv2.fillPoly(lips, [np.round(ring * 16).astype(np.int32)], 1, shift=4)
    return image[lips > 0].mean(axis=0) if lips.any() else LIPS_RGB


def _tint(lips: np.ndarray):
    """Colour map that tints template colours as ``lips`` differ from :data:`LIPS_RGB`.

    Saturation goes with the lips' (so a grey photo gets a grey mouth) and brightness with
    theirs, within reason.
    """
    def chroma(rgb: np.ndarray) -> float:
        return float(rgb.max() - rgb.min()) / max(float(rgb.max()), 1.0)

    saturation = float(np.clip(chroma(lips) / chroma(LIPS_RGB), 0.0, 1.2))
    light = float(np.clip(lips.mean() / LIPS_RGB.mean(), 0.6, 1.3))

    def apply(colour: np.ndarray) -> np.ndarray:
        grey = colour.mean(axis=-1, keepdims=True)
        return (grey + saturation * (colour - grey)) * light

    return apply


class _MouthFrame:
    """The inner mouth's frame: corner ``a``, unit ``axis`` to the other corner, ``normal``."""

    def __init__(self, points: np.ndarray) -> None:
        self.a = points[UPPER[0]].astype(np.float64)
        along = points[UPPER[-1]] - self.a
        self.width = float(np.linalg.norm(along))
        self.axis = along / max(self.width, 1e-6)
        self.normal = np.array([-self.axis[1], self.axis[0]])
        if self.normal[1] < 0:
            self.normal = -self.normal
        rel = points - self.a
        self._u = [(rel[ids] @ self.axis) / max(self.width, 1e-6) for ids in (UPPER, LOWER)]
        self._w = [rel[ids] @ self.normal for ids in (UPPER, LOWER)]

    def lips(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The upper and lower inner lip's ``w`` (pixels below the corner line) at ``u``."""
        out = []
        for lu, lw in zip(self._u, self._w, strict=True):
            order = np.argsort(lu)
            out.append(np.interp(u, lu[order], lw[order]))
        return out[0], out[1]


def _sample(image: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``image`` sampled at the (rows, columns, 2) pixel positions ``where``."""
    where = where.astype(np.float32)
    return cv2.remap(image, where[..., 0], where[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
