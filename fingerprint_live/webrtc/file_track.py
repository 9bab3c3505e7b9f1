"""Video files played as a live camera track, at their own pace: for demos, tests and benchmarks.

Several files play one after the other on one clock (a takeover: one person, then another), and
the whole list can loop. Frames can be letterboxed to a camera size such as 640x480.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame

from ..media import iter_video

TIME_BASE = Fraction(1, 90000)  # the RTP video clock


class VideoFileTrack(MediaStreamTrack):
    """Frames of ``paths`` in turn (``loops`` times, 0 = forever) as a real-time video track.

    ``speed`` above 1 plays faster (a 25 fps file at 1.2 is a 30 fps camera), for load tests.
    """

    kind = "video"

    def __init__(self, paths: Sequence[str | Path], size: tuple[int, int] | None = None,
                 loops: int = 1, speed: float = 1.0) -> None:
        super().__init__()
        self.size, self.speed = size, speed
        self._frames = _play(list(paths), loops)
        self._start: float | None = None

    async def recv(self) -> VideoFrame:
        try:
            image, stamp = next(self._frames)
        except StopIteration:
            self.stop()
            raise MediaStreamError from None
        stamp /= self.speed
        if self._start is None:
            self._start = time.monotonic() - stamp
        wait = self._start + stamp - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if self.size is not None:
            image = letterbox(image, self.size)
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = round(stamp / TIME_BASE), TIME_BASE
        return frame


def _play(paths: list[str | Path], loops: int) -> Iterator[tuple[np.ndarray, float]]:
    """(RGB image, seconds on one clock) across files and loops; a file's end adds one frame."""
    offset, played = 0.0, 0
    while loops == 0 or played < loops:
        for path in paths:
            last, step = 0.0, 0.04
            for frame in iter_video(path):
                step = frame.time - last if frame.time > last else step
                last = frame.time
                yield frame.image, offset + frame.time
            offset += last + step
        played += 1


def letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` scaled to fit ``size`` (width, height), centred on black."""
    width, height = size
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    out = np.zeros((height, width, 3), np.uint8)
    x0, y0 = (width - nw) // 2, (height - nh) // 2
    out[y0:y0 + nh, x0:x0 + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return out
