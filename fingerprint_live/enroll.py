"""Building an enrollment from videos, and embedding whole clips for offline scoring."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .clip_descriptors import EVERY, clip_descriptors
from .clip_landmarks import ClipLandmarks, extract_clip
from .embedder import Embedder
from .enrollment import Enrollment, Vectors
from .errors import NoFaceError
from .face_descriptor import FaceDescriptor
from .features import neutral_shape, transplant
from .motion import clip_windows, resampled_points

#: Default minimum of usable face motion for an enrollment, in seconds.
MIN_SECONDS = 10.0
#: Refuse enrollment videos where several faces are in view in more than this share of frames.
MAX_MULTI_FACE_SHARE = 0.2
#: Face descriptors kept per enrollment video at most (every 5th frame of a short one).
MAX_FACES_PER_VIDEO = 100


def clip_embeddings(clip: ClipLandmarks, embedder: Embedder,
                    target_shape: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Window embeddings of a clip and its seconds of usable motion.

    With ``target_shape``, the motion is first moved onto that neutral face shape, as an avatar
    that shows one face for everyone would.
    """
    info = embedder.info
    points = resampled_points(clip)
    if target_shape is not None and len(points):
        ok = ~np.isnan(points).any(axis=(1, 2))
        if ok.any():
            points = transplant(points, neutral_shape(points[ok]), target_shape)
    windows = clip_windows(points, info.window, info.stride)
    seconds = usable_seconds(points, info.window) / info.fps
    return embedder.embed(windows), seconds


def usable_seconds(points: np.ndarray, window: int) -> int:
    """Frames that lie in face runs at least one window long (shorter runs give no window)."""
    if len(points) == 0:
        return 0
    ok = np.concatenate([[0], ~np.isnan(points).any(axis=(1, 2)), [0]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(ok))
    runs = edges[1::2] - edges[::2]
    return int(runs[runs >= window].sum())


def build_enrollment(videos: Sequence[str | Path], embedder: Embedder,
                     descriptor: FaceDescriptor | None = None,
                     min_seconds: float = MIN_SECONDS) -> Enrollment:
    """Enroll the person in ``videos``: their motion and, with ``descriptor``, their face.

    Also keeps their median face shape, the neutral the default avatar measures them from.
    Refuses too little motion, or several faces in view.
    """
    embs, faces, shapes, seconds = [], [], [], 0.0
    for video in videos:
        clip = extract_clip(video)
        shapes.append(clip.points[clip.found])
        multi = float((clip.num_faces > 1).mean())
        if multi > MAX_MULTI_FACE_SHARE:
            raise NoFaceError(
                f"{video}: several faces are in view in {multi:.0%} of the frames; enroll with "
                "only yourself in view."
            )
        emb, secs = clip_embeddings(clip, embedder)
        embs.append(emb)
        seconds += secs
        if descriptor is not None:
            every = max(EVERY, -(-len(clip) // MAX_FACES_PER_VIDEO))
            faces.append(clip_descriptors(video, clip, descriptor, every).vectors)
    if seconds < min_seconds or not any(len(e) for e in embs):
        raise NoFaceError(
            f"found {seconds:.1f} s of usable face motion in {len(videos)} video(s); at least "
            f"{min_seconds:.0f} s are needed. Record more natural talking, face to the camera, "
            "or add another video."
        )
    appearance = None
    if descriptor is not None:
        vectors = np.concatenate(faces)
        if len(vectors) == 0:
            raise NoFaceError("no frame of the video(s) shows exactly one face to describe; "
                              "enroll with only yourself in view.")
        appearance = Vectors(descriptor.info.model_id, vectors)
    return Enrollment(Vectors(embedder.info.model_id, np.concatenate([e for e in embs if len(e)])),
                      appearance, seconds, tuple(Path(v).name for v in videos),
                      neutral=neutral_shape(np.concatenate(shapes)).astype(np.float32))
