"""``fingerprint-live worker``: check a Janus VideoRoom's avatar streams with a pool of Ray
workers, and report each stream's state as lines and over HTTP."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from ..errors import FingerprintError
from ..verifier import LANDMARK_EVERY, RECEIVER_SETTINGS
from . import report

DESCRIPTION = """\
Check the avatar streams of a Janus VideoRoom against enrollments, with a pool of verification
workers (Ray actors). Each publisher whose display name (or feed id) is NAME is checked against
ENROLLMENTS/NAME.fpe by motion alone, as a receiver sees only the avatar; publishers without an
enrollment are listed as UNENROLLED. Each stream is checked by exactly one worker. A worker
that dies has its streams moved to another at once; until the new owner reports, the stream
shows UNVERIFIED, never its last state.

Without --join this command runs the pool: it starts --workers workers (in a local Ray, or in
the cluster at --ray), prints a line whenever a stream's state changes ({stream, display, time,
state, score, attestation, worker}; --json for JSON lines; "attested" when the publisher's
signed verdict, checked with the public key in its enrollment, backs the state) and serves
GET /streams and GET /events on --http. With --join it only adds workers to the pool already
running for that room in the cluster at --ray: run it on more machines, or later, while
streams run."""


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("worker", help="check a Janus room's avatar streams with a pool of workers",
                       description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--janus", default="ws://127.0.0.1:8188/",
                   help="Janus's WebSocket API (default ws://127.0.0.1:8188/)")
    p.add_argument("--room", type=int, default=1234, help="the VideoRoom's id (default 1234)")
    p.add_argument("--enrollments", metavar="DIR",
                   help="folder of NAME.fpe files, NAME being a publisher's display name or "
                   "feed id (needed unless --join)")
    p.add_argument("--workers", type=int, default=1, help="workers to start here (default 1)")
    p.add_argument("--cpus-per-worker", type=float, default=1.0,
                   help="CPUs Ray reserves for each worker (default 1)")
    p.add_argument("--streams-per-worker", type=int, default=3,
                   help="most streams one worker checks (default 3: a core of its own keeps "
                   "up with 4 at 25 fps, 5 at the edge, and 3 leaves room for Janus on a "
                   "shared host; see BENCHMARKS.md)")
    p.add_argument("--setting", choices=list(RECEIVER_SETTINGS), default="quick",
                   help="how the workers decide: quick (a verdict within seconds, more false "
                   "alarms) or patient (evidence weighed over about half a minute, a verdict "
                   "worth acting on); default: %(default)s. See BENCHMARKS.md")
    p.add_argument("--landmark-every", type=int, default=LANDMARK_EVERY, metavar="N",
                   help="find landmarks on one frame in N (default %(default)s: about 1.75 "
                   "times the streams per core of 1, at about the same accuracy; 3 loses "
                   "accuracy; BENCHMARKS.md, the receiver's density)")
    p.add_argument("--ray", metavar="ADDRESS", default=None,
                   help="a running Ray cluster (host:6379, or auto); default: start a local one")
    p.add_argument("--join", action="store_true",
                   help="add workers to the pool already running for --room in --ray's cluster")
    p.add_argument("--http", metavar="HOST:PORT", default="127.0.0.1:8090",
                   help="where the pool serves GET /streams and /events (default "
                   "127.0.0.1:8090; 'off' for none)")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of text")
    return p


def run(args: argparse.Namespace) -> int:
    if args.workers < (1 if args.join else 0) or args.streams_per_worker < 1 \
            or args.cpus_per_worker <= 0 or args.landmark_every < 1:
        raise FingerprintError("--workers, --streams-per-worker, --cpus-per-worker and "
                               "--landmark-every must be positive (--workers may be 0 for a "
                               "pool without local workers).")
    if not args.join and not args.enrollments:
        raise FingerprintError("--enrollments DIR is needed to run a pool (or --join one).")
    http = None if args.http == "off" else _host_port(args.http)
    enrollments = None
    if not args.join:
        from ..embedder import Embedder
        from ..pool.enrollments import load_folder

        info = Embedder().info
        enrollments = load_folder(args.enrollments, info.model_id, info.view_id("avatar"))
    asyncio.run(_check_janus(args.janus, args.room))
    ray = _ray(args)
    from ..pool.actor import start_workers

    workers = start_workers(args.workers, args.janus, args.room, args.cpus_per_worker)
    try:
        if args.join:
            print(f"fingerprint-live worker: {len(workers)} worker(s) joined the pool of room "
                  f"{args.room}; Ctrl-C takes them out", file=sys.stderr, flush=True)
            while True:
                time.sleep(3600)
        asyncio.run(_pool(args, enrollments, http))
    finally:
        for handle in workers:
            ray.kill(handle, no_restart=True)
    return 0


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise FingerprintError(f"--http wants HOST:PORT (or off), not {text!r}.")
    return host, int(port)


async def _check_janus(url: str, room: int) -> None:
    """Fail early, in one line, when Janus is unreachable or has no such room."""
    from ..janus import JanusSession, Room

    session = await JanusSession.connect(url)
    try:
        await Room.open(session, room)
    finally:
        await session.close()


def _ray(args: argparse.Namespace):
    try:
        import ray
    except ImportError:
        raise FingerprintError("the worker pool needs Ray: pip install "
                               "'fingerprint-live[scale]'.") from None
    try:
        ray.init(address=args.ray or ("auto" if args.join else None),
                 namespace=f"fingerprint-live-room-{args.room}", include_dashboard=False,
                 log_to_driver=False, logging_level="ERROR")
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise FingerprintError(f"cannot reach the Ray cluster at {args.ray or 'auto'}: "
                               f"{str(exc).splitlines()[0]}") from exc
    return ray


async def _pool(args: argparse.Namespace, enrollments: dict[str, bytes],
                http: tuple[str, int] | None) -> None:
    from ..janus import JanusSession, Room
    from ..pool.coordinator import Coordinator, PoolConfig
    from ..pool.endpoint import serve

    session = await JanusSession.connect(args.janus)
    room = await Room.open(session, args.room)
    coordinator = Coordinator(room, enrollments, PoolConfig(max_streams=args.streams_per_worker,
                                                                setting=args.setting,
                                                                landmark_every=args.landmark_every),
                              on_line=_printer(args.json),
                              log=lambda m: print(f"pool: {m}", file=sys.stderr, flush=True))
    runner = await serve(coordinator, *http) if http else None
    if http:
        print(f"pool: serving http://{http[0]}:{http[1]}/streams", file=sys.stderr, flush=True)
    try:
        await coordinator.run()
    finally:
        if runner is not None:
            await runner.cleanup()
        await session.close()


def _printer(as_json: bool):
    """Each state change as the commands print a summary: a JSON line with --json, else text."""
    def show(line: dict) -> None:
        score = "" if line["score"] is None else f"  evidence {line['score']:+.2f}"
        who = f"  ({line['worker']})" if line["worker"] else ""
        report(line, as_json,
               f"{time.strftime('%H:%M:%S', time.localtime(line['time']))}  stream "
               f"{line['stream']} {line['display']!r}: {line['state']} "
               f"({line['attestation']}){score}{who}")
        sys.stdout.flush()
    return show
