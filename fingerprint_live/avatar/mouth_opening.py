"""The lips' parting, shown larger than measured so that the far side reads it as measured.

On drivers it was never tuned on (issue 27) the avatar's moved mesh follows the driver's mouth
opening almost exactly (r 0.98-0.999 on the tuning drivers), yet MediaPipe run again on the
rendered avatar read it at r 0.78-0.88 on the worst of them: it places the avatar's inner
lips on the painted teeth and reads a drawn opening at about half its size, a slight one as
closed. Drawing the parting larger (beyond a shut mouth's, up to a knee; the gain is
``Gains.opening``) restores much of it; amplifying the whole mouth instead (corners too) helps
less, and opening the lips a little at rest or showing more of the dark cavity made it worse.

The parting is moved along a fixed field made once from the portrait at rest: the lower lip
and chin go down, the upper lip a little up, fading with distance from the lips as the
portrait's own smile was undone (:mod:`.neutralise`).
"""

from __future__ import annotations

import numpy as np

from .mouth import LOWER, UPPER
from .neutralise import lip_curve, lip_frame, near_lips, seam_side

#: The upper lip's share of an added opening (the lower lip and jaw take the rest).
UPPER_SHARE = 0.3
#: Openings beyond this share of the mouth's width are added as measured, so that a yawn is
#: not drawn much wider (on the tuning drivers this cost little mouth r).
KNEE = 0.2
#: A parting below this share of the mouth's width is added as measured: MediaPipe reads a
#: real face's shut lips this far apart, and doubled they would show the avatar's apart.
SHUT = 0.03


class MouthOpening:
    """Adds ``gain - 1`` times the driver's lip parting to the avatar's moved points."""

    def __init__(self, rest: np.ndarray, gain: float) -> None:
        width, normal, u, w = lip_frame(rest)
        side = seam_side(lip_curve(u, w, UPPER), lip_curve(u, w, LOWER), w)
        move = near_lips(rest, width) * np.where(side > 0, -UPPER_SHARE, 1 - UPPER_SHARE)
        self._field = np.zeros_like(rest, dtype=np.float64)
        self._field[:, :2] = (move * width)[:, None] * normal  # per unit of opening
        self._normal, self._width = normal, width
        self._gain = gain
        self._rest_gap = self._gap(rest)

    def apply(self, shape: np.ndarray) -> None:
        """Open ``shape`` (468, 3, portrait pixels, before the head pose) further, in place."""
        opening = self._gap(shape) - self._rest_gap
        if opening <= SHUT or self._gain == 1:
            return
        shape += (self._gain - 1) * min(opening - SHUT, KNEE) * self._field

    def _gap(self, points: np.ndarray) -> float:
        """The inner lips' parting in the middle, as a share of the rest mouth's width."""
        return float((points[LOWER[5], :2] - points[UPPER[5], :2]) @ self._normal) / self._width
