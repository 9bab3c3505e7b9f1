"""The Janus pool's whole call, run by tests/test_janus.py inside an isolated network namespace.

Janus starts with a config written here, the pool starts as `fingerprint-live worker --json`
with one worker, three publishers send their avatar clips, and the pool's HTTP endpoint is read
every 0.1 s. Once the first worker checks the streams, a second one joins while they run
(`fingerprint-live worker --join`). Once the enrolled publisher is VERIFIED and the worker that
joined checks a stream (or after ``before_kill`` s), the worker that checks the enrolled
publisher is killed with SIGKILL; reading goes on until its stream is VERIFIED again by another
worker and the impostor has been called (or ``after_kill`` s). Everything seen is written as JSON
to the path given, for the test to judge.

    python tests/pool_scenario.py SETUP.json OUT.json
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from fingerprint_live.janus import JanusConfig, JanusServer, JanusSession, Publication
from fingerprint_live.janus.server import ISOLATED_ADDRESS
from fingerprint_live.webrtc import VideoFileTrack

JANUS_PORT, HTTP_PORT, ROOM = 18188, 18090, 4321


def _worker(log, *args: str, stdout=None) -> subprocess.Popen:
    """``fingerprint-live worker ARGS`` in the background, its stderr appended to ``log``."""
    return subprocess.Popen([sys.executable, "-m", "fingerprint_live.cli", "worker", *args],
                            stdout=stdout, stderr=log)


def _stop(process: subprocess.Popen) -> bytes:
    """Ctrl-C, as a user stops it (killed after 20 s); what it printed."""
    process.send_signal(signal.SIGINT)
    try:
        out, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out or b""


async def pool_status(http: aiohttp.ClientSession, port: int) -> dict | None:
    """The pool's ``/streams`` on ``port``, or None while it does not answer yet."""
    try:
        async with http.get(f"http://127.0.0.1:{port}/streams") as r:
            return await r.json()
    except aiohttp.ClientError:
        return None


async def call(setup: dict, janus: JanusConfig) -> dict:
    log = open(setup["pool_log"], "ab")  # noqa: SIM115 - closed with the processes
    room = ["--janus", janus.url, "--room", str(ROOM)]
    pool = _worker(log, *room, "--enrollments", setup["enrollments"], "--workers", "1",
                   "--streams-per-worker", "2", "--http", f"127.0.0.1:{HTTP_PORT}", "--json",
                   stdout=subprocess.PIPE)
    joiner, joined = None, None
    session = await JanusSession.connect(janus.url)
    feeds, publications = {}, []
    for role, (display, clip) in setup["publishers"].items():
        pub = await Publication.start(session, ROOM, display, VideoFileTrack([clip], loops=0))
        publications.append(pub)
        feeds[role] = pub.feed
    samples, killed, t0 = [], None, time.monotonic()
    genuine, impostor = feeds["genuine"], feeds["impostor"]
    try:
        async with aiohttp.ClientSession() as http:
            while time.monotonic() - t0 < setup["limit"]:
                now = time.monotonic() - t0
                status = await pool_status(http, HTTP_PORT)
                if status is None:
                    await asyncio.sleep(0.2)
                    continue
                samples.append({"t": round(now, 3), "streams": status["streams"],
                                "workers": status["workers"]})
                rows = {row["stream"]: row for row in status["streams"]}
                g, i = rows.get(genuine, {}), rows.get(impostor, {})
                if joiner is None and g.get("worker") and i.get("worker"):
                    joiner = _worker(log, *room, "--join", "--ray", "auto", "--workers", "1")
                    joined = {"t": round(now, 3), "workers": [w["id"] for w in
                                                               status["workers"]]}
                # Kill only once the worker that joined checks a stream: it is seen in the pool
                # before it takes one, and a kill then left it nothing to show (a race).
                joiner_checks = joined is not None and any(
                    row.get("worker") not in (None, *joined["workers"])
                    and row.get("state") != "UNVERIFIED" for row in status["streams"])
                if killed is None and g.get("worker") and (
                        g.get("state") == "VERIFIED" and joiner_checks
                        or now > setup["before_kill"]):
                    pid = int(g["worker"].rsplit(":", 1)[1])
                    os.kill(pid, signal.SIGKILL)
                    killed = {"t": round(time.monotonic() - t0, 3), "worker": g["worker"],
                              "state_before": g.get("state")}
                if killed and (now - killed["t"] > setup["after_kill"] or (
                        g.get("state") == "VERIFIED" and g.get("worker") != killed["worker"]
                        and i.get("state") == "MISMATCH")):
                    break
                await asyncio.sleep(0.1)
    finally:
        for pub in publications:
            await pub.close()
        await session.close()
        if joiner is not None:
            _stop(joiner)
        out = _stop(pool)
        log.close()
    lines = [json.loads(x) for x in out.decode().splitlines() if x.startswith("{")]
    return {"feeds": feeds, "joined": joined, "killed": killed, "samples": samples,
            "lines": lines}


def run(scenario: Callable[[dict, JanusConfig], Awaitable[dict]], port: int, room: int) -> None:
    """A scenario's command line: SETUP.json in, Janus up on ``port`` with ``room`` while it
    runs, its report written to OUT.json."""
    setup = json.loads(Path(sys.argv[1]).read_text())
    janus = JanusConfig(port=port, room=room, ice=ISOLATED_ADDRESS)
    with JanusServer(janus, log=setup["janus_log"]):
        report = asyncio.run(scenario(setup, janus))
    Path(sys.argv[2]).write_text(json.dumps(report))


def main() -> None:
    run(call, JANUS_PORT, ROOM)


if __name__ == "__main__":
    main()
