"""Signed verdicts through Janus, run by tests/test_janus.py inside an isolated network namespace.

Janus starts, the pool starts as `fingerprint-live worker --json` with one worker, and two
publishers claim to be ``m030``, whose enrollment carries the owner's public key: the owner,
through examples/publisher.py with the camera side running and the key signing its verdicts
on the VideoRoom's data channel, and an unsigned stream of M030's rendered avatar. The pool's
/streams is read every 0.2 s until the signed stream is attested VERIFIED and the unsigned one
has a state (or ``limit`` s). Everything seen is written as JSON to the path given.

    python tests/attested_janus_scenario.py SETUP.json OUT.json
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from pool_scenario import _stop, _worker, pool_status, run

from fingerprint_live.janus import JanusConfig, JanusSession, Publication
from fingerprint_live.webrtc import VideoFileTrack

JANUS_PORT, HTTP_PORT, ROOM = 18189, 18091, 4322
PUBLISHER = Path(__file__).resolve().parents[1] / "examples" / "publisher.py"


async def call(setup: dict, janus: JanusConfig) -> dict:
    log = open(setup["pool_log"], "ab")  # noqa: SIM115 - closed with the processes
    pool = _worker(log, "--janus", janus.url, "--room", str(ROOM), "--enrollments",
                   setup["enrollments"], "--workers", "1", "--streams-per-worker", "2",
                   "--http", f"127.0.0.1:{HTTP_PORT}", "--json", stdout=subprocess.PIPE)
    signed = subprocess.Popen(
        [sys.executable, str(PUBLISHER), "--janus", janus.url, "--room", str(ROOM),
         "--display", "m030", "--video", setup["camera"], "--enrollment", setup["full"],
         "--key", setup["key"]], stdout=subprocess.PIPE, stderr=log, text=True)
    said = [signed.stdout.readline(), signed.stdout.readline()]  # key id, then feed
    session = await JanusSession.connect(janus.url)
    unsigned = await Publication.start(session, ROOM, "m030",
                                       VideoFileTrack([setup["avatar"]], loops=0))
    samples, t0 = [], time.monotonic()
    feeds = {"signed": int(said[1].split(" as feed ")[1].split()[0]), "unsigned": unsigned.feed}
    try:
        async with aiohttp.ClientSession() as http:
            while time.monotonic() - t0 < setup["limit"]:
                status = await pool_status(http, HTTP_PORT)
                if status is None:
                    await asyncio.sleep(0.2)
                    continue
                samples.append({"t": round(time.monotonic() - t0, 3),
                                "streams": status["streams"]})
                rows = {row["stream"]: row for row in status["streams"]}
                s, u = rows.get(feeds["signed"], {}), rows.get(feeds["unsigned"], {})
                if (s.get("state"), s.get("attestation")) == ("VERIFIED", "attested") \
                        and u.get("state") not in (None, "UNVERIFIED") and len(samples) > 50:
                    break
                await asyncio.sleep(0.2)
    finally:
        await unsigned.close()
        await session.close()
        _stop(signed)
        out = _stop(pool)
        log.close()
    lines = [json.loads(x) for x in out.decode().splitlines() if x.startswith("{")]
    return {"feeds": feeds, "said": said, "samples": samples, "lines": lines}


if __name__ == "__main__":
    run(call, JANUS_PORT, ROOM)
