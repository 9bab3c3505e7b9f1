"""Landmarks of a whole clip, extracted once and cached on disk, keyed by the file's content.

Training, evaluation and enrollment read the same clips many times; MediaPipe is the slow part,
so each clip is run once and stored as ``<sha256>.npz`` in the cache folder
(``$FINGERPRINT_LIVE_CACHE``, else ``~/.cache/fingerprint-live``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic_write import atomic_path
from ..features import neutral_shape, transplant
from ..landmarks import EXTRACTOR_VERSION, NUM_POINTS, FaceLandmarks, LandmarkExtractor
from ..media import iter_video, require_file


@dataclass(frozen=True)
class ClipLandmarks:
    """Per-frame landmarks of one clip; rows without a face are NaN."""

    points: np.ndarray  # (N, 468, 3) float32
    times: np.ndarray  # (N,) float64 seconds
    num_faces: np.ndarray  # (N,) int8
    width: int
    height: int

    @property
    def found(self) -> np.ndarray:
        return self.num_faces > 0

    def __len__(self) -> int:
        return len(self.times)

    def every(self, n: int) -> ClipLandmarks:
        """Every ``n``-th frame only, what a receiver that finds landmarks on one frame in ``n``
        has; and the last frame, so that the clip keeps its length (a live stream goes on past
        any window's end, a clip stops at its last frame)."""
        if n == 1:
            return self
        keep = np.unique(np.r_[np.arange(0, len(self), n), len(self) - 1])
        return ClipLandmarks(self.points[keep], self.times[keep], self.num_faces[keep],
                             self.width, self.height)

    def faces(self, target_shape: np.ndarray | None = None) -> Iterator[FaceLandmarks]:
        """The clip as the live pipeline sees it, frame by frame (None points where no face).

        With ``target_shape`` the motion is first moved onto that neutral face shape, as an
        avatar that shows one face for everyone would.
        """
        points = self.points
        if target_shape is not None and self.found.any():
            points = transplant(points, neutral_shape(points[self.found]), target_shape)
        for pts, n in zip(points, self.num_faces, strict=True):
            yield FaceLandmarks(pts if n > 0 else None, int(n), self.width, self.height)


def cache_dir() -> Path:
    root = os.environ.get("FINGERPRINT_LIVE_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "fingerprint-live"


def content_key(path: str | Path) -> str:
    """The cache key of a file: its SHA-256 and the extractor version."""
    digest = hashlib.sha256()
    with open(require_file(path), "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return f"{digest.hexdigest()}-v{EXTRACTOR_VERSION}"


def extract_clip(path: str | Path, use_cache: bool = True,
                 on_frames: Callable[[int], object] | None = None) -> ClipLandmarks:
    """Landmarks for every frame of ``path``; raises ``MediaError`` for unreadable video.

    ``on_frames(n)`` is told of every ``n`` frames done (a progress bar's ``update``).
    """
    return cached_landmarks(content_key(path) if use_cache else None,
                            lambda extractor: _landmark_frames(path, extractor), on_frames)


def _landmark_frames(path: str | Path, extractor: LandmarkExtractor):
    for frame in iter_video(path):
        yield extractor.process(frame.image), frame.time


def cached_landmarks(key: str | None, frames,
                     on_frames: Callable[[int], object] | None = None) -> ClipLandmarks:
    """The cached arrays for ``key``, else run ``frames(extractor)`` and cache the result.

    ``frames`` yields ``(FaceLandmarks, time)`` pairs from one extractor in video mode;
    ``on_frames(n)`` hears of the frames done, all at once for a cached clip.
    """
    tell = on_frames or (lambda n: None)
    cached = cache_dir() / "landmarks" / f"{key}.npz" if key else None
    if cached is not None and cached.is_file():
        with np.load(cached) as data:
            clip = ClipLandmarks(
                data["points"], data["times"], data["num_faces"],
                int(data["size"][0]), int(data["size"][1]),
            )
        tell(len(clip))
        return clip
    points, times, counts = [], [], []
    width = height = 0
    missing = np.full((NUM_POINTS, 3), np.nan, np.float32)
    with LandmarkExtractor() as extractor:
        for face, time in frames(extractor):
            width, height = face.width, face.height
            points.append(face.points if face.found else missing)
            times.append(time)
            counts.append(face.num_faces)
            tell(1)
    clip = ClipLandmarks(
        np.stack(points), np.asarray(times, np.float64), np.asarray(counts, np.int8), width, height
    )
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cached) as tmp:
            np.savez(tmp, points=clip.points, times=clip.times, num_faces=clip.num_faces,
                     size=np.array([width, height]))
    return clip
