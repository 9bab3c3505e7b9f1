"""Face descriptors of a whole clip, every few frames, cached on disk like its landmarks.

Enrollment reads the enrolled user's videos once; evaluation reads every clip of a manifest
many times. The descriptor is the slow part (about 0.1 s a face), so a clip's descriptors are
computed once, on the frames its cached landmarks say have a face, and stored as
``descriptors/<content key>-<descriptor id>-e<every>.npz`` in the cache folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic_write import atomic_path
from ..errors import MediaError
from ..face_descriptor import FaceDescriptor, face_crop
from ..landmarks import FaceLandmarks
from ..media import iter_video
from .clip_landmarks import ClipLandmarks, cache_dir, content_key

#: A descriptor every this many frames (5 per second at 25 fps).
EVERY = 5


@dataclass(frozen=True)
class ClipDescriptors:
    """Descriptors ``(K, 128)`` of the frames ``frames (K,)`` of one clip (single-face frames)."""

    frames: np.ndarray
    vectors: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)


def clip_descriptors(path: str | Path, marks: ClipLandmarks, descriptor: FaceDescriptor,
                     every: int = EVERY, use_cache: bool = True,
                     on_frames: Callable[[int], object] | None = None) -> ClipDescriptors:
    """Descriptors of every ``every``-th frame of ``path`` where exactly one face was found;
    ``on_frames(n)`` hears of the frames gone through (a progress bar's ``update``)."""
    tell = on_frames or (lambda n: None)
    key = f"{content_key(path)}-{descriptor.info.model_id[:16]}-e{every}"
    cached = cache_dir() / "descriptors" / f"{key}.npz"
    if use_cache and cached.is_file():
        with np.load(cached) as data:
            result = ClipDescriptors(data["frames"], data["vectors"])
        tell(len(marks))
        return result
    wanted = {i for i in range(0, len(marks), every) if marks.num_faces[i] == 1}
    frames, vectors = [], []
    for i, frame in enumerate(iter_video(path)):
        tell(1)
        if i in wanted:
            face = FaceLandmarks(marks.points[i], 1, marks.width, marks.height)
            frames.append(i)
            vectors.append(descriptor.describe(face_crop(frame.image, face)))
    result = ClipDescriptors(np.asarray(frames, np.int32),
                             np.asarray(vectors, np.float32).reshape(-1, 128))
    if use_cache:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cached) as tmp:
            np.savez(tmp, frames=result.frames, vectors=result.vectors)
    return result


def describe_on_demand(path: str | Path, descriptor: FaceDescriptor,
                       ) -> Callable[[int, FaceLandmarks], np.ndarray]:
    """``describe(i, face)`` for ``clip_stream.play``: decodes ``path`` in step with the calls
    (frame indices must not go back) and describes frame ``i`` when asked, nothing else."""
    frames = enumerate(iter_video(path))

    def describe(i: int, face: FaceLandmarks) -> np.ndarray:
        for j, frame in frames:
            if j == i:
                return descriptor.describe(face_crop(frame.image, face))
        raise MediaError(f"{path}: frame {i} is past the end of the video.")

    return describe
