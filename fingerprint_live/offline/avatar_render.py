"""What a receiver sees: a clip re-rendered through the default avatar, its landmarks found again.

An avatar shows the target's face shape, not the driver's, so the accuracy that counts is measured
on every clip rendered onto one and the same portrait. The driver's landmarks drive the avatar,
from the driver's own neutral face (the clip's median face, standing in for the enrollment's);
MediaPipe then runs on the rendered frames, as it would on the far side of a call. Results are
cached by the clip's content and the render version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..features import neutral_shape
from ..landmarks import FaceLandmarks, LandmarkExtractor
from ..media import iter_video
from .clip_landmarks import ClipLandmarks, cached_landmarks, content_key, extract_clip

#: Bumped when the default avatar changes what it renders (2: lids, mouth inside, own neutral;
#: 4: larger lip parting, lid and brow motion; 5: inked brows; 3 was a lost attempt whose cache
#: must not count).
RENDER_VERSION = 6
RENDER_SIZE = 256


def rendered_clip(path: str | Path, portrait: np.ndarray | None = None) -> ClipLandmarks:
    """Landmarks of ``path`` as rendered through the default avatar onto ``portrait`` (RGB;
    default: the astronaut, the portrait every evaluation uses)."""
    from ..avatar.portrait import load_portrait

    face = load_portrait() if portrait is None else portrait
    tag = "" if portrait is None else "-" + hashlib.sha256(face.tobytes()).hexdigest()[:12]

    def frames(extractor: LandmarkExtractor):
        engine = _engine(face, extract_clip(path))
        with LandmarkExtractor() as driver:
            yield from _seen(engine, ((frame.image, driver.process(frame.image), frame.time)
                                      for frame in iter_video(path)), extractor)

    return cached_landmarks(f"{content_key(path)}-avatar{RENDER_VERSION}{tag}", frames)


def seen_through(marks: ClipLandmarks, portrait: np.ndarray,
                 on_frames: Callable[[int], object] | None = None) -> ClipLandmarks:
    """A driver's landmarks as the far side sees them: rendered through the default avatar onto
    ``portrait`` (from the driver's median face as neutral) and found again. Needs only the
    landmarks (the default avatar is driven by them alone), not the video."""
    def frames(extractor: LandmarkExtractor):
        engine = _engine(portrait, marks)
        yield from _seen(engine, ((None, face, t) for face, t in
                                  zip(marks.faces(), marks.times, strict=True)), extractor)

    return cached_landmarks(None, frames, on_frames)


def _engine(portrait: np.ndarray, driven: ClipLandmarks):
    """The default avatar of ``portrait``, measuring the driver from their median face."""
    from ..avatar.default_avatar import DefaultAvatar

    engine = DefaultAvatar(portrait, RENDER_SIZE)
    if driven.found.any():
        engine.set_neutral(neutral_shape(driven.points[driven.found]))
    return engine


def _seen(engine, driven, extractor: LandmarkExtractor):
    """``(landmarks found on the rendering, time)`` for each ``(frame, driver face, time)``."""
    for frame, face, time in driven:
        out = engine.render(frame, face)
        seen = extractor.process(out.image)
        if out.held:  # a repeated frame is no motion: count it as a lost face
            seen = FaceLandmarks(None, 0, seen.width, seen.height)
        yield seen, time
