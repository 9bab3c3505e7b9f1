"""Sizing the pool: streams one verification worker checks per core at 25 fps, through Janus.

Inside an isolated network namespace (see fingerprint_live/janus/server.py), Janus relays one
publisher per stream, each sending the default avatar of a real clip at 25 fps (M030 driving,
from M030's enrolled neutral, and LivePortrait's d12 driving, alternately). The avatar clips are
rendered and VP8-encoded (500 kbit/s, a keyframe a second) beforehand, and the publishers send
those packets as they are, so the senders cost almost nothing (they and Janus are pinned to the
last core): on a 2-core machine, six live encoders would otherwise take most of a core.

For each run, worker processes (the pool's ``StreamChecker``, as a Ray actor runs it, without
Ray) are each pinned to one core (worker w to core w) and subscribe to their share of the N
streams; every stream is checked against M030's enrollment by motion alone.

Per run, after ``--warmup`` seconds, over ``--seconds``:
- checked fps per stream (frames through ``VerifyTrack``; 25 arrive) and frames dropped as stale;
  a stream "keeps up" at >= 24 fps with <= 4 % dropped;
- CPU seconds the worker used per stream-second (so streams per core = 1 / that), and Janus's
  (one stream in from its publisher, one out to its worker), over the whole run;
- RSS of the worker before subscribing and at the end (memory per stream);
- added latency: a frame's arrival in the worker to the end of its check (ms);
- the states each stream went through (the verdict).

    sudo python benchmarks/janus_pool.py --runs 1x1 1x2 1x3 1x4 2x6 --seconds 30

(run ``WxN``: W workers, N streams in all). Needs root (for the namespace), janus and the clips.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from aiortc import MediaStreamTrack
from process_stats import cpu_seconds, rss_mb

from fingerprint_live.verifier import LANDMARK_EVERY

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MEAD = DATA / "dreamtalk/data/style_clip/video"
ENROLL = [MEAD / f"M030_front_{e}_level3_001.mp4"
          for e in ("angry", "contempt", "disgusted", "fear")]
GENUINE, IMPOSTOR = MEAD / "M030_front_happy_level3_001.mp4", DATA / "liveportrait/driving/d12.mp4"
CACHE = Path("/tmp/fingerprint-live-janus-bench")
PORT, ROOM = 18288, 1234


def prepare() -> dict:
    """The M030 enrollment and the two avatar clips (cached between runs)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from pool_helpers import render_avatar

    from fingerprint_live.embedder import Embedder
    from fingerprint_live.enrollment import Enrollment
    from fingerprint_live.video_enrollment import build_enrollment

    CACHE.mkdir(exist_ok=True)
    path = CACHE / "m030.fpe"
    if not path.exists():
        build_enrollment(ENROLL, Embedder(), None, min_seconds=8).save(path)
    enrollment = Enrollment.load(path)
    clips = {}
    for name, driver, neutral in (("genuine", GENUINE, enrollment.neutral),
                                  ("impostor", IMPOSTOR, None)):
        out = CACHE / f"{name}.mkv"
        if not out.exists():
            render_avatar(driver, out, neutral)
        clips[name] = str(out)
    return {"enrollment": str(path), "clips": clips}


def packets(prepared: dict) -> list[list[bytes]]:
    return [encode_vp8(Path(prepared["clips"][name]), CACHE / f"{name}.vp8.pickle")
            for name in ("genuine", "impostor")]


def encode_vp8(clip: Path, out: Path) -> list[bytes]:
    """``clip``'s frames as VP8 packets (as a browser would send them), cached in ``out``."""
    if not out.exists():
        from fingerprint_live.media import iter_video

        codec = av.CodecContext.create("libvpx", "w")
        codec.width = codec.height = 256
        codec.pix_fmt, codec.time_base = "yuv420p", Fraction(1, 25)
        codec.bit_rate, codec.gop_size = 500_000, 25
        codec.options = {"deadline": "realtime", "cpu-used": "4"}
        packets = []
        for n, frame in enumerate(iter_video(clip)):
            video = av.VideoFrame.from_ndarray(frame.image, format="rgb24").reformat(
                format="yuv420p")
            video.pts = n
            packets += [bytes(p) for p in codec.encode(video)]
        packets += [bytes(p) for p in codec.encode(None)]
        out.write_bytes(pickle.dumps(packets))
    return pickle.loads(out.read_bytes())


class PacketTrack(MediaStreamTrack):
    """Pre-encoded VP8 packets, looped, at 25 fps: aiortc sends them without encoding."""

    kind = "video"

    def __init__(self, packets: list[bytes]) -> None:
        super().__init__()
        self.packets, self.n, self.start = packets, 0, None

    async def recv(self) -> av.Packet:
        if self.start is None:
            self.start = time.monotonic()
        wait = self.start + self.n / 25 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        packet = av.Packet(self.packets[self.n % len(self.packets)])
        packet.pts, packet.time_base = self.n * 3600, Fraction(1, 90000)
        self.n += 1
        return packet


async def checker(feeds: list[int], enrollment: str, warmup: float, seconds: float,
                  landmark_every: int) -> dict:
    """One worker: check ``feeds`` (one stream each), measure, report."""
    from fingerprint_live.janus import JanusConfig
    from fingerprint_live.pool.checker import Assignment, StreamChecker

    check = StreamChecker(JanusConfig(port=PORT).url, ROOM)
    await check.start()
    base = rss_mb()
    data = Path(enrollment).read_bytes()
    for n, feed in enumerate(feeds):
        check.assign(Assignment(feed, f"s{n}", data, n + 1, landmark_every=landmark_every))
    states: dict[int, list[str]] = {n: [] for n in range(len(feeds))}
    by_feed = {}

    def take() -> dict:
        report = check.report()
        for e in report["events"]:
            states[e["ticket"] - 1].append(e["state"])
        return report["streams"]

    await asyncio.sleep(warmup)
    first, cpu0, t0 = take(), os.times(), time.monotonic()
    latency: list[float] = []
    end = t0 + seconds
    while time.monotonic() < end:
        await asyncio.sleep(1.0)
        for r in take().values():
            latency += r["latency_ms"]
    last, cpu1, t1 = take(), os.times(), time.monotonic()
    span = t1 - t0
    for feed, r in last.items():
        frames = r["frames"] - first[feed]["frames"]
        dropped = (r["dropped"] or 0) - (first[feed]["dropped"] or 0)
        by_feed[feed] = {"fps": frames / span,
                         "dropped_share": dropped / max(1, frames + dropped),
                         "error": r["error"]}
    cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    out = {"streams": [by_feed[f] | {"feed": f, "states": states[n]}
                       for n, f in enumerate(feeds)],
           "cpu_per_stream_second": cpu / span / len(feeds), "rss_base_mb": base,
           "rss_end_mb": rss_mb(), "latency_ms": latency}
    await check.close()
    return out


async def bench(args: argparse.Namespace, prepared: dict, janus_pid: int) -> list[dict]:
    from fingerprint_live.janus import JanusSession, Publication

    session = await JanusSession.connect(f"ws://127.0.0.1:{PORT}/")
    clips = packets(prepared)
    results = []
    for run in args.runs:
        workers, streams = (int(x) for x in run.split("x"))
        pubs = [await Publication.start(session, ROOM, f"p{n}", PacketTrack(clips[n % 2]))
                for n in range(streams)]
        janus0, t0 = cpu_seconds(janus_pid), time.monotonic()
        shares = [[p.feed for n, p in enumerate(pubs) if n % workers == w]
                  for w in range(workers)]
        label = {p.feed: ("genuine", "impostor")[n % 2] for n, p in enumerate(pubs)}
        procs = [await asyncio.create_subprocess_exec(
            "taskset", "-c", str(w % os.cpu_count()), sys.executable, __file__, "--checker",
            json.dumps({"feeds": share, "enrollment": prepared["enrollment"],
                        "warmup": args.warmup, "seconds": args.seconds,
                        "landmark_every": args.landmark_every}),
            stdout=subprocess.PIPE) for w, share in enumerate(shares)]
        outs = [json.loads((await p.communicate())[0]) for p in procs]
        janus_cpu = (cpu_seconds(janus_pid) - janus0) / (time.monotonic() - t0) / streams
        load = os.getloadavg()[0]
        all_streams = [s for o in outs for s in o["streams"]]
        lat = np.array([v for o in outs for v in o["latency_ms"]])
        result = {
            "run": run, "workers": workers, "streams": streams, "load_avg": round(load, 2),
            "landmark_every": args.landmark_every,
            "fps": [round(s["fps"], 2) for s in all_streams],
            "dropped": [round(s["dropped_share"], 4) for s in all_streams],
            "keeps_up": all(s["fps"] >= 24 and s["dropped_share"] <= 0.04
                            for s in all_streams),
            "cpu_per_stream_second": [round(o["cpu_per_stream_second"], 4) for o in outs],
            "janus_cpu_per_stream_second": round(janus_cpu, 4),
            "rss_base_mb": [round(o["rss_base_mb"], 1) for o in outs],
            "rss_end_mb": [round(o["rss_end_mb"], 1) for o in outs],
            "latency_ms_p50_p95": [round(float(np.percentile(lat, q)), 1) for q in (50, 95)]
            if len(lat) else None,
            "states": [(label[s["feed"]], s["states"], s["error"]) for s in all_streams]}
        print(json.dumps(result), flush=True)
        results.append(result)
        for pub in pubs:
            await pub.close()
    await session.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=["1x1", "1x2", "1x3", "1x4", "2x6"])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=8.0)
    parser.add_argument("--out", default="benchmarks/results/janus_pool.json")
    parser.add_argument("--landmark-every", type=int, default=LANDMARK_EVERY,
                        help="workers find landmarks on one frame in this many (default: the "
                        "receiver's, %(default)s)")
    parser.add_argument("--checker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.checker:
        job = json.loads(args.checker)
        print(json.dumps(asyncio.run(checker(**job))))
        return
    from fingerprint_live.janus import JanusConfig, JanusServer
    from fingerprint_live.janus.server import ISOLATED_ADDRESS, isolated

    if os.environ.get("FL_ISOLATED") != "1":
        env = os.environ | {"FL_ISOLATED": "1"}
        sys.exit(subprocess.run(isolated([sys.executable, *sys.argv]), env=env).returncode)
    prepared = prepare()
    os.sched_setaffinity(0, {os.cpu_count() - 1})  # Janus and the publishers: the last core
    with JanusServer(JanusConfig(port=PORT, room=ROOM, ice=ISOLATED_ADDRESS)) as janus:
        results = asyncio.run(bench(args, prepared, janus.process.pid))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
