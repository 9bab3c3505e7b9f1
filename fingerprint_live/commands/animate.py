"""``fingerprint-live animate``: drive an avatar portrait with a recorded video, offline.

The same engines as a live call, fed one landmark pass per driver frame; useful to try a
portrait or an engine before a call, and to make demo videos. Frames where the driver's face is
not found repeat the last avatar frame, and the count is reported at the end.

Offline the whole driver is known before the first frame is drawn, so the default engine takes
the driver's median face as the neutral expression, as an enrollment gives it in a call: a
driver who starts mid-sentence or mid-blink is not off for the whole clip. That needs the
landmarks first (kept, 5.6 kB a frame) and the video decoded twice.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterable, Iterator
from fractions import Fraction
from itertools import chain, islice
from pathlib import Path

import av
import numpy as np

from fingerprint_live.avatar.portrait import load_portrait

from ..atomic_write import atomic_path
from ..errors import FingerprintError, NoFaceError
from ..features import neutral_shape
from ..landmarks import FaceLandmarks, LandmarkExtractor
from ..media import Frame, iter_video
from ..progress import progress_bar
from . import output_path
from .engines import add_engine_arguments, make_engine

#: Output sizes accepted by ``--size`` (even, for yuv420p).
SIZES = range(64, 1025, 2)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "animate",
        help="animate a portrait with the motion of a driver video",
        description="Animate a portrait with the face motion of a driver video and write an "
        "MP4 (H.264) at the driver's frame rate. The first frame with a face gives the neutral "
        "head pose; the neutral expression is the driver's median face (default engine) or the "
        "first face (--neutral first, and FOMM).",
    )
    parser.add_argument("--driver", type=Path, required=True, help="video of the driving face")
    parser.add_argument("--avatar", type=Path, default=None,
                        help="portrait image (default: the public-domain NASA astronaut photo)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="MP4 file to write")
    add_engine_arguments(parser)
    parser.add_argument("--size", type=int, default=256,
                        help="output side in pixels for the default engine (FOMM is 256)")
    parser.add_argument("--neutral", choices=("median", "first"), default="median",
                        help="the driver's neutral expression: its median face over the whole "
                        "video (default; the default engine only) or its first face")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.size not in SIZES:
        raise FingerprintError(f"--size must be an even number from 64 to 1024, not {args.size}.")
    output = output_path(args.output, "output video")
    portrait = load_portrait(args.avatar)
    engine = make_engine(args, portrait)
    start = time.perf_counter()  # the rate reported covers the landmark pass too
    faces = None
    if args.neutral == "median" and hasattr(engine, "set_neutral"):
        faces = _landmarks(args.driver, args.quiet)
        found = [face.points for face in faces if face.found]
        if not found:
            raise _no_face(args.driver, len(faces))
        engine.set_neutral(neutral_shape(np.stack(found)))
    frames = iter_video(args.driver)
    head = list(islice(frames, 10))
    rate = _frame_rate(head)
    total = held = 0
    # Written beside the output and renamed at the end: a driver that breaks half-way (or
    # holds no face) leaves no playable part behind, and an older output stays as it was.
    with atomic_path(output) as partial:
        with _Writer(partial, engine.size, rate) as writer:
            for frame, face in _driven(progress_bar(chain(head, frames), desc="animate",
                                                    unit="frame", quiet=args.quiet), faces):
                result = engine.render(frame.image, face)
                writer.write(result.image)
                total += 1
                held += result.held
        if held == total:  # a still portrait is not an animation
            raise _no_face(args.driver, total)
    seconds = time.perf_counter() - start
    print(f"wrote {output}: {total} frames at {float(rate):.2f} fps (made at "
          f"{total / seconds:.1f} fps), {held} held for lack of a face", file=sys.stderr)
    return 0


def _driven(frames: Iterable[Frame], faces: list[FaceLandmarks] | None
            ) -> Iterator[tuple[Frame, FaceLandmarks]]:
    """Each driver frame with its face: from the first pass when kept, else found now."""
    if faces is not None:
        yield from zip(frames, faces, strict=False)  # the same file, decoded the same way
        return
    with LandmarkExtractor() as extractor:
        for frame in frames:
            yield frame, extractor.process(frame.image)


def _no_face(driver: Path, frames: int) -> NoFaceError:
    return NoFaceError(f"{driver}: no face was found in any of its {frames} frames, so nothing "
                       "moves the avatar; use a video of a face seen from the front.")


def _landmarks(driver: Path, quiet: bool) -> list[FaceLandmarks]:
    """One landmark pass over the whole driver, kept for the rendering pass."""
    with LandmarkExtractor() as extractor:
        return [extractor.process(frame.image)
                for frame in progress_bar(iter_video(driver), desc="landmarks", unit="frame",
                                          quiet=quiet)]


def _frame_rate(head: list[Frame]) -> Fraction:
    """The driver's frame rate from its first frame times (25 fps for a single frame)."""
    steps = [b.time - a.time for a, b in zip(head, head[1:], strict=False) if b.time > a.time]
    if not steps:
        return Fraction(25)
    return Fraction(1 / statistics.median(steps)).limit_denominator(1001)


class _Writer:
    """H.264 (yuv420p) MP4 writer for square RGB frames."""

    def __init__(self, path: Path, size: int, rate: Fraction) -> None:
        self._container = av.open(str(path), mode="w")
        self._stream = self._container.add_stream("libx264", rate=rate)
        self._stream.width = self._stream.height = size
        self._stream.pix_fmt = "yuv420p"

    def write(self, rgb: np.ndarray) -> None:
        self._mux(av.VideoFrame.from_ndarray(rgb, format="rgb24"))

    def _mux(self, frame: av.VideoFrame | None) -> None:
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._mux(None)  # flush the encoder
        finally:
            self._container.close()
