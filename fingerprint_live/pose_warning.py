"""Tell the driver when their head pose leaves the range the default avatar renders well.

A mesh warp of one frontal portrait cannot show the far side of a face: past some head turn
the avatar breaks (benchmarks/AVATAR_FAILURE_RESULTS.md measures where). The warning is for the
user, on their preview and status, so they can turn back before the peer sees a glitch; it
never blocks anything on its own.
"""

from __future__ import annotations

import numpy as np

from .features import head_angles, head_frame
from .landmarks import FaceLandmarks

#: Largest driver |roll|, |yaw|, |pitch| in degrees (as ``features.head_angles`` measures them)
#: that the default avatar renders well: the last angles of the sweep in
#: benchmarks/AVATAR_FAILURE_RESULTS.md without a failed frame (yaw 45 there, lowered to 40
#: where the far cheek starts to tear visibly and real turns of 40-60 deg fail 19 %).
LIMITS_DEG = {"roll": 20.0, "yaw": 40.0, "pitch": 30.0}
#: Degrees back inside a limit before a warning clears, so it does not flicker at the edge.
HYSTERESIS_DEG = 3.0


def driver_pose(points: np.ndarray) -> dict[str, float]:
    """Head roll, yaw and pitch of one face ``(468, 3)`` in degrees."""
    _, rot, _ = head_frame(points[None].astype(np.float64))
    return dict(zip(LIMITS_DEG, np.degrees(head_angles(rot)[0]).tolist(), strict=True))


class PoseMonitor:
    """Per driver frame: the warning to show, or None while the pose is in range."""

    def __init__(self, limits: dict[str, float] | None = None) -> None:
        self.limits = dict(limits or LIMITS_DEG)
        self.warning: str | None = None
        self._axis: str | None = None

    def update(self, face: FaceLandmarks) -> str | None:
        if not face.found:  # no face is the verifier's and the guard's business
            self.warning = self._axis = None
            return None
        pose = driver_pose(face.points)
        if self._axis is not None and abs(pose[self._axis]) > (
                self.limits[self._axis] - HYSTERESIS_DEG):
            return self.warning
        beyond = [axis for axis, limit in self.limits.items() if abs(pose[axis]) > limit]
        self._axis = beyond[0] if beyond else None
        self.warning = (f"head {_WORDS[self._axis]}: the avatar renders poorly"
                        if self._axis else None)
        return self.warning


_WORDS = {"roll": "tilted too far", "yaw": "turned too far", "pitch": "tipped too far"}
