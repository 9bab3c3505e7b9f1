"""The receiver's CPU per stream-second without the network: what a core's share of streams
costs in decoding, landmarks and the verifier alone.

``janus_pool.py`` measures density the way a pool runs, but on a shared 2-core machine its
keep-up verdict at the edge flips with the machine's state from run to run. Here N
``VerifyTrack``s on one core each take janus_pool's VP8 packets (M030's avatar and d12's,
alternately), decoded by aiortc's own decoder, one frame as soon as the track asks for the
next: no clock, no Janus, no SRTP. The figure is process CPU seconds per stream-second of
video, so two versions of the code compare on the same input (alternate their runs: the
machine drifts).

    taskset -c 0 python benchmarks/receiver_cpu.py --streams 8 --seconds 20 [--landmark-every 2]

Needs the clips janus_pool.py prepares (it makes them when missing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from fractions import Fraction

from aiortc import MediaStreamTrack
from aiortc.codecs.vpx import Vp8Decoder
from aiortc.jitterbuffer import JitterFrame
from av import VideoFrame
from janus_pool import packets, prepare

from fingerprint_live.embedder import Embedder
from fingerprint_live.enrollment import Enrollment
from fingerprint_live.verifier import LANDMARK_EVERY
from fingerprint_live.webrtc import VerifyTrack


class DecodedPackets(MediaStreamTrack):
    """VP8 packets, looped, decoded one frame each time the consumer asks (25 fps stamps)."""

    kind = "video"

    def __init__(self, packets: list[bytes]) -> None:
        super().__init__()
        self.packets, self.n = packets, 0
        self.decoder = Vp8Decoder()
        self.wanted = asyncio.Event()
        self.wanted.set()

    async def recv(self) -> VideoFrame:
        await self.wanted.wait()
        self.wanted.clear()
        data = self.packets[self.n % len(self.packets)]
        (frame,) = self.decoder.decode(JitterFrame(data=data, timestamp=self.n * 3600))
        frame.pts, frame.time_base = self.n, Fraction(1, 25)
        self.n += 1
        return frame


async def measure(streams: int, seconds: float, landmark_every: int) -> dict:
    prepared = prepare()
    clips = packets(prepared)
    enrollment, embedder = Enrollment.load(prepared["enrollment"]), Embedder()
    sources = [DecodedPackets(clips[n % 2]) for n in range(streams)]
    tracks = [VerifyTrack(s, enrollment, embedder, landmark_every=landmark_every)
              for s in sources]

    async def take(n: int, frames: int) -> None:
        for _ in range(frames):
            await tracks[n].recv()
            sources[n].wanted.set()

    await asyncio.gather(*(take(n, 50) for n in range(streams)))  # graphs started, warm
    wall, cpu = time.monotonic(), time.process_time()
    await asyncio.gather(*(take(n, round(seconds * 25)) for n in range(streams)))
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    states = [t.last.state.value if t.last is not None else None for t in tracks]
    for t in tracks:
        t.stop()
    return {"streams": streams, "seconds": seconds, "landmark_every": landmark_every,
            "cpu_ms_per_stream_second": round(cpu / (streams * seconds) * 1000, 1),
            "wall_s": round(wall, 1), "states": states}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0, help="video per stream")
    parser.add_argument("--landmark-every", type=int, default=LANDMARK_EVERY)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.streams, args.seconds, args.landmark_every))))


if __name__ == "__main__":
    main()
