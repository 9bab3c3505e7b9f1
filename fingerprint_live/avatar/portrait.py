"""The still portrait an avatar animates: read it and find its face.

Any image the user gives goes through ``read_image`` (which refuses non-images and huge images).
A portrait without a detectable face cannot be animated, so that is reported up front with a
hint, instead of producing a frozen picture later.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..errors import NoFaceError
from ..landmarks import FaceLandmarks, LandmarkExtractor
from ..media import read_image

#: Public-domain photo of astronaut Eileen Collins (NASA); see assets/README.md.
DEFAULT_PORTRAIT = Path(__file__).parent / "assets" / "astronaut.png"


def load_portrait(path: str | Path | None = None) -> np.ndarray:
    """The portrait as RGB uint8; the default astronaut when ``path`` is None."""
    return read_image(DEFAULT_PORTRAIT if path is None else path)


def find_face(portrait: np.ndarray, name: str = "the avatar portrait") -> FaceLandmarks:
    """Landmarks of the portrait's face, or :class:`NoFaceError` saying what to use instead."""
    with LandmarkExtractor(static=True) as extractor:
        face = extractor.process(portrait)
    if not face.found:
        raise NoFaceError(
            f"no face found in {name}: use a well-lit photo with one face seen from the front, "
            "at least about 100 pixels wide, not covered by hands, hair or glare."
        )
    return face


def portrait_id(portrait: np.ndarray) -> str:
    """A short id of a portrait's pixels: which avatar an enrollment's avatar part was seen
    through."""
    return hashlib.sha256(np.ascontiguousarray(portrait).tobytes()).hexdigest()[:16]
