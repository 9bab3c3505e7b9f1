"""Reading videos and images with clear errors and size limits.

Frames come out as RGB ``uint8`` arrays with their presentation time in seconds, which is what
MediaPipe and the avatar want; nothing else in the project opens media files itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from .errors import MediaError

#: Frames or images with more pixels than this are refused (a 8K frame is 33 Mpx).
MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class Frame:
    """One decoded RGB frame and its time in seconds from the start of the stream."""

    image: np.ndarray
    time: float


def _check_size(width: int, height: int, what: str) -> None:
    if width <= 0 or height <= 0:
        raise MediaError(f"{what} has an empty size ({width}x{height}).")
    if width * height > MAX_PIXELS:
        raise MediaError(
            f"{what} is {width}x{height}, more than the {MAX_PIXELS:,} pixels this tool reads; "
            "scale it down first."
        )


def require_file(path: str | Path) -> Path:
    """``path`` as a Path, or :class:`MediaError` when there is no such file."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: no such file.")
    return path


def _reason(exc: Exception) -> str:
    """FFmpeg's own words for a failure, without its error number and the file name."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def cut_short(path: Path) -> bool:
    """Whether an MP4/MOV file ends before its boxes do, or lacks its index (``moov``).

    A recording that was stopped, or a copy that was cut, ends this way; with the index written
    last (the default of most recorders), none of its frames can be found.
    """
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 8 or head[4:8] != b"ftyp":
            return False
        end, offset, boxes = fh.seek(0, 2), 0, set()
        while offset < end:
            fh.seek(offset)
            header = fh.read(16)
            if len(header) < 8:
                return True
            size, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if size == 1 and len(header) == 16:
                size = int.from_bytes(header[8:16], "big")
            elif size == 0:
                size = end - offset
            if size < 8 or offset + size > end:
                return True
            boxes.add(kind)
            offset += size
        return b"moov" not in boxes


def _unreadable(path: Path, reason: str) -> MediaError:
    """Why ``path`` gave no frame, in the user's terms where the file's shape tells."""
    if path.stat().st_size == 0:
        return MediaError(f"{path}: the file is empty.")
    if cut_short(path):
        return MediaError(f"{path}: the file is truncated or damaged (it ends before its index, "
                          "as a recording that was cut short does); no frame can be read.")
    return MediaError(f"{path}: not a readable video ({reason}).")


def iter_video(path: str | Path) -> Iterator[Frame]:
    """Yield the frames of a video file, or raise :class:`MediaError` saying why it cannot."""
    path = require_file(path)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise _unreadable(path, _reason(exc)) from exc
    with container:
        if not container.streams.video:
            if cut_short(path):
                raise _unreadable(path, "no video stream")
            raise MediaError(f"{path}: the file has no video stream.")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        base = None
        count = 0
        damage = None
        try:
            for packet in container.demux(stream):
                if packet.is_corrupt:  # a truncated file ends in one; frame threads hide it
                    damage = "the file is truncated or damaged"
                    packet = None  # flush: frames decoded before the damage still come out
                for frame in stream.decode(packet):
                    _check_size(frame.width, frame.height, f"{path}: a frame")
                    t = float(frame.pts * stream.time_base) if frame.pts is not None else None
                    if t is None:
                        rate = float(stream.average_rate or 25)
                        t = count / rate
                    if base is None:
                        base = t
                    count += 1
                    yield Frame(frame.to_ndarray(format="rgb24"), t - base)
                if damage:
                    break
        except av.error.FFmpegError as exc:
            damage = _reason(exc)
        if damage and count == 0:
            raise _unreadable(path, damage)
        if damage:
            raise MediaError(
                f"{path}: the video is damaged after frame {count} ({damage}); frames up to "
                "there were read. Re-encode or trim it."
            )
    if count == 0:
        raise MediaError(f"{path}: the video has no frames (empty, damaged or truncated?).")


def frame_count(path: str | Path) -> int | None:
    """How many frames the video's header announces, or None when it does not say or cannot be
    read: for a progress bar's total, never for anything that must be right."""
    try:
        with av.open(str(path)) as container:
            video = container.streams.video
            return (video[0].frames or None) if video else None
    except (av.error.FFmpegError, UnicodeDecodeError, OSError):
        return None


def read_image(path: str | Path) -> np.ndarray:
    """Read an image as RGB, refusing non-images and decompression bombs before decoding."""
    from PIL import Image, UnidentifiedImageError

    path = require_file(path)
    try:
        with Image.open(path) as img:
            _check_size(img.width, img.height, f"{path}")
            img.load()
            return np.asarray(img.convert("RGB"))
    except UnidentifiedImageError as exc:
        raise MediaError(f"{path}: not an image PNG/JPEG/WebP can read.") from exc
    except Image.DecompressionBombError as exc:
        raise MediaError(f"{path}: the image has more than the {MAX_PIXELS:,} pixels this tool "
                         "reads (a decompression bomb?); scale it down first.") from exc
    except OSError as exc:
        raise MediaError(f"{path}: the image cannot be decoded ({exc}).") from exc
