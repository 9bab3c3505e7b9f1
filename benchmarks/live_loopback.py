"""End-to-end live benchmark through aiortc on 127.0.0.1: fps, added latency, memory growth.

A "browser" peer sends a 640x480 camera (a real clip, letterboxed, looped, paced at 25 fps) to a
"server" peer that runs ``AvatarTrack`` (landmarks, default avatar at 256, verifier against an
M030 enrollment, guard) and sends the avatar back. Both peers are in this process, as in
``serve`` both ends are on this machine.

- fps: avatar frames the first peer decodes per second, over ``--seconds``.
- latency: camera frame produced -> its avatar frame decoded by the first peer. The avatar
  frame keeps the camera frame's pts; each aiortc receiver counts pts from the first frame it
  gets, so the server's first output pts is added back to match the two.
- pipeline latency: in ``AvatarTrack``, camera frame arrived -> avatar frame out (the added work).
- ``--echo``: the baseline, the camera frame sent straight back; the end-to-end latency over it
  is what the pipeline adds. (Each aiortc receiver holds a frame until the next one starts to
  arrive, one frame interval each, in both runs.)
- memory: RSS of the process every 10 s; from 60 s on (after warm-up), the change to the end
  and the least-squares trend in MB per 10 minutes. The benchmark's own bookkeeping (one
  timestamp per frame) is part of it: a few MB over 10 minutes.
- mismatch events: how often the state entered MISMATCH. The camera is the enrolled person
  (other recordings than the enrollment's), so every one is a false MISMATCH.

Run (repository root, venv active):
    python benchmarks/live_loopback.py --seconds 60
The soak (30 minutes, the four M030 recordings the enrollment does not use, looped):
    python benchmarks/live_loopback.py --seconds 1800 --soak
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from aiortc import RTCPeerConnection
from process_stats import rss_mb

from fingerprint_live.avatar.default_avatar import DefaultAvatar
from fingerprint_live.avatar.portrait import load_portrait
from fingerprint_live.embedder import Embedder
from fingerprint_live.face_descriptor import FaceDescriptor
from fingerprint_live.pipeline import Pipeline
from fingerprint_live.verifier import State, StreamingVerifier
from fingerprint_live.video_enrollment import build_enrollment
from fingerprint_live.webrtc import (
    AvatarTrack,
    VideoFileTrack,
    loopback_only,
    negotiate,
    rtc_configuration,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MEAD = DATA / "dreamtalk/data/style_clip/video"
ENROLL = [MEAD / f"M030_front_{e}.mp4" for e in ("angry_level3_001", "contempt_level3_001",
                                                  "disgusted_level3_001", "fear_level3_001")]
CAMERA = MEAD / "M030_front_happy_level3_001.mp4"
SOAK = [MEAD / f"M030_front_{e}.mp4" for e in ("happy_level3_001", "neutral_level1_001",
                                                "sad_level3_001", "surprised_level3_001")]
WARMUP = 5.0  # seconds left out of the fps and latency figures
RTP = Fraction(1, 90000)


class TimedCamera(VideoFileTrack):
    """The camera, remembering when each frame (by pts) was handed to the sender."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.sent: dict[int, float] = {}

    async def recv(self):
        frame = await super().recv()
        self.sent[frame.pts] = time.perf_counter()
        return frame


class TimedAvatar(AvatarTrack):
    """The server's AvatarTrack, remembering its first output pts, each frame's latency, and
    what the far side was shown (how many frames, by the guard's action and reason)."""

    first: int | None = None

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.latencies: list[float] = []
        self.shown: dict[str, int] = {}
        self.states: dict[str, int] = {}

    async def recv(self):
        frame = await super().recv()
        if self.first is None:
            self.first = frame.pts
        self.latencies.append(self.last_latency)
        if self.last is not None:
            decision = self.last.decision
            key = f"{decision.action.value}: {decision.reason}" if decision.reason else "pass"
            self.shown[key] = self.shown.get(key, 0) + 1
            self.states[self.last.state.value] = self.states.get(self.last.state.value, 0) + 1
        return frame


class Echo(TimedAvatar):
    """Baseline: the camera frame sent straight back, same pts, no landmarks or avatar."""

    async def recv(self):
        frame = await self.source.recv()
        if self.first is None:
            self.first = frame.pts
        return frame


async def run(seconds: float, echo: bool, speed: float, clips: list[Path]) -> dict:
    embedder = Embedder()
    descriptor = FaceDescriptor()
    enrollment = build_enrollment(ENROLL, embedder, descriptor, min_seconds=8)
    camera = TimedCamera(clips, size=(640, 480), loops=0, speed=speed)
    browser = RTCPeerConnection(rtc_configuration())
    server = RTCPeerConnection(rtc_configuration())
    mismatches: list[float] = []

    def count(event) -> None:
        if event.state is State.MISMATCH and event.previous is not State.MISMATCH:
            mismatches.append(event.time)

    pipeline = Pipeline(DefaultAvatar(load_portrait()),
                        StreamingVerifier(enrollment, embedder, appearance=descriptor.info),
                        on_event=count)
    tracks: list[TimedAvatar] = []
    arrivals: list[tuple[float, int]] = []  # (decoded at, pts as the first peer sees it)
    memory: list[tuple[float, float]] = []

    @server.on("track")
    def _server_track(track) -> None:
        avatar = (Echo if echo else TimedAvatar)(track, pipeline)
        tracks.append(avatar)
        server.addTrack(avatar)

    async def consume(track) -> None:
        while True:
            frame = await track.recv()
            arrivals.append((time.perf_counter(), frame.pts))

    consumers = []
    browser.on("track", lambda t: consumers.append(asyncio.ensure_future(consume(t))))
    browser.addTransceiver(camera, direction="sendrecv")
    await negotiate(browser, server)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        memory.append((time.perf_counter() - start, rss_mb()))
        await asyncio.sleep(min(10.0, seconds - (time.perf_counter() - start)))
    memory.append((time.perf_counter() - start, rss_mb()))
    state = tracks[0].last.state.value if tracks and tracks[0].last else None
    await browser.close()
    await server.close()
    for c in consumers:
        c.cancel()

    first = tracks[0].first
    t = np.array([a for a, _ in arrivals]) - start
    window = (t >= WARMUP) & (t <= seconds)
    latencies = [(at - camera.sent[pts + first]) * 1000
                 for (at, pts), keep in zip(arrivals, window, strict=True)
                 if keep and (pts + first) in camera.sent]
    added = [lat * 1000 for lat in tracks[0].latencies[int(WARMUP * 25 * speed):]] or [np.nan]
    checks = [t * 1000 for t in pipeline.descriptor_process.seconds]
    settled = np.array([(s, m) for s, m in memory if s >= 60] or memory[-1:])
    slope = np.polyfit(settled[:, 0], settled[:, 1], 1)[0] * 600 if len(settled) > 2 else None

    def fps_from(a: float) -> float:
        """Frames received per second in the minute from ``a``."""
        return round(float(((t >= a) & (t < a + 60)).sum() / 60), 2)

    return {
        "seconds": seconds,
        "fps": round(float(window.sum() / (seconds - WARMUP)), 2),
        "fps_lowest_60s": min(fps_from(a) for a in np.arange(WARMUP, seconds - 59, 10))
        if seconds >= WARMUP + 60 else None,
        "fps_first_60s": fps_from(WARMUP),
        "fps_last_60s": fps_from(seconds - 60),
        "fps_by_minute": [fps_from(a) for a in np.arange(WARMUP, seconds - 59, 60)],
        "mismatch_events": len(mismatches),
        "mismatch_at_s": [round(m, 1) for m in mismatches],
        "latency_ms": {"p50": round(float(np.percentile(latencies, 50)), 1),
                       "p95": round(float(np.percentile(latencies, 95)), 1),
                       "min": round(float(np.min(latencies)), 1), "n": len(latencies)},
        "pipeline_latency_ms": None if echo else {
            "p50": round(float(np.percentile(added, 50)), 1),
            "p95": round(float(np.percentile(added, 95)), 1), "n": len(added)},
        "camera_fps": 25 * speed,
        "camera_frames": len(camera.sent),
        "avatar_frames": len(arrivals),
        "server_dropped": tracks[0].dropped,
        "final_state": state,
        "far_side_frames": None if echo else tracks[0].shown,  # by the guard's action
        "state_frames": None if echo else tracks[0].states,
        "face_checks": pipeline.descriptor_process.answered,
        "face_check_ms": {"p50": round(float(np.median(checks)), 1),
                          "p95": round(float(np.percentile(checks, 95)), 1)} if checks else None,
        "rss_mb": [(round(s), round(m, 1)) for s, m in memory],
        "rss_growth_mb_after_60s": round(float(settled[-1, 1] - settled[0, 1]), 1),
        "rss_trend_mb_per_10min": None if slope is None else round(float(slope), 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--echo", action="store_true",
                        help="baseline: send the camera straight back (no pipeline)")
    parser.add_argument("--camera-fps", type=float, default=25.0,
                        help="camera rate; above 25 the clip plays faster (default: 25)")
    parser.add_argument("--soak", action="store_true",
                        help="camera: four M030 recordings looped instead of one")
    args = parser.parse_args()
    with loopback_only():
        result = asyncio.run(run(args.seconds, args.echo, args.camera_fps / 25,
                                 SOAK if args.soak else [CAMERA]))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
