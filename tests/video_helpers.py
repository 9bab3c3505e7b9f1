"""Writing test videos: frames made or cut in a test, as the H.264 MP4 a command reads."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import av
import numpy as np


def write_video(frames: Iterable[np.ndarray], path: Path, rate: int = 25) -> Path:
    """RGB frames as an H.264 MP4."""
    frames = iter(frames)
    first = next(frames)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.height, stream.width = (s // 2 * 2 for s in first.shape[:2])
        stream.pix_fmt = "yuv420p"
        for image in [first, *frames]:
            image = np.ascontiguousarray(image[:stream.height, :stream.width])
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    return path
