"""What every avatar engine offers the pipeline.

The pipeline runs one landmark pass per camera frame and hands the same ``FaceLandmarks`` to the
avatar and to the verifier, so an engine never runs MediaPipe on the driver itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..landmarks import FaceLandmarks


@dataclass(frozen=True)
class AvatarFrame:
    """One rendered avatar frame (RGB uint8, ``size`` x ``size``).

    ``held`` is True when the driver's face was not found and the last good frame was repeated.
    """

    image: np.ndarray
    held: bool


class AvatarEngine(Protocol):
    """Animates one portrait with the motion of a driver, relative to a calibrated neutral."""

    size: int

    def calibrate(self, frame: np.ndarray, face: FaceLandmarks) -> None:
        """Take this driver frame as the neutral pose; motion is measured relative to it."""

    def render(self, frame: np.ndarray, face: FaceLandmarks) -> AvatarFrame:
        """The avatar moved as the driver moved since calibration (calibrates on first face)."""
