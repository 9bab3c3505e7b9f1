"""What a receiver sees: a clip re-rendered through the default avatar, its landmarks found again.

An avatar shows the target's face shape, not the driver's, so the accuracy that counts is measured
on every clip rendered onto one and the same portrait. The driver's landmarks drive the avatar,
from the driver's own neutral face (the clip's median face, standing in for the enrollment's);
MediaPipe then runs on the rendered frames, as it would on the far side of a call. Results are
cached by the clip's content and the render version.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..features import neutral_shape
from ..landmarks import FaceLandmarks, LandmarkExtractor
from ..media import iter_video
from .clip_landmarks import ClipLandmarks, cached_landmarks, content_key, extract_clip

#: Bumped when the default avatar changes what it renders (2: lids, mouth inside, own neutral).
RENDER_VERSION = 2
RENDER_SIZE = 256


def rendered_clip(path: str | Path, portrait: np.ndarray | None = None) -> ClipLandmarks:
    """Landmarks of ``path`` as rendered through the default avatar onto ``portrait`` (RGB;
    default: the astronaut, the portrait every evaluation uses)."""
    from ..avatar.default_avatar import DefaultAvatar
    from ..avatar.portrait import load_portrait

    face = load_portrait() if portrait is None else portrait
    tag = "" if portrait is None else "-" + hashlib.sha256(face.tobytes()).hexdigest()[:12]

    def frames(extractor: LandmarkExtractor):
        engine = DefaultAvatar(face, RENDER_SIZE)
        driven = extract_clip(path)
        if driven.found.any():
            engine.set_neutral(neutral_shape(driven.points[driven.found]))
        with LandmarkExtractor() as driver:
            for frame in iter_video(path):
                out = engine.render(frame.image, driver.process(frame.image))
                seen = extractor.process(out.image)
                if out.held:  # a repeated frame is no motion: count it as a lost face
                    seen = FaceLandmarks(None, 0, seen.width, seen.height)
                yield seen, frame.time

    return cached_landmarks(f"{content_key(path)}-avatar{RENDER_VERSION}{tag}", frames)
