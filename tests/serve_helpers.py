"""Shared by the tests that run ``serve``: the app on a free port, JSON offers, Chromium."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import av
import pytest
from aiohttp import web

from fingerprint_live.serve import ServeConfig, make_app
from fingerprint_live.webrtc.file_track import letterbox

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
    "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
]


@contextmanager
def serving(config: ServeConfig) -> Iterator[int]:
    """The app on 127.0.0.1 (a free port) in a thread with its own event loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner = web.AppRunner(make_app(config))

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return site._server.sockets[0].getsockname()[1]

    try:
        yield asyncio.run_coroutine_threadsafe(start(), loop).result(60)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def write_y4m(video: Path, out: Path, size: tuple[int, int] = (640, 480)) -> None:
    """The clip as a raw 4:2:0 ``.y4m``, the format Chromium's fake camera reads (it loops)."""
    width, height = size
    with av.open(str(video)) as src, open(out, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C420jpeg\n".encode())
        for frame in src.decode(video=0):
            rgb = letterbox(frame.to_ndarray(format="rgb24"), size)
            yuv = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            fh.write(b"FRAME\n" + yuv.to_ndarray().tobytes())


def chromium() -> str:
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: CI installs Debian's chromium (.ci/run)")
    pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")


async def post_offer(port: int, body: dict) -> tuple[int, dict]:
    """POST /offer with a JSON body, as aiortc's examples do."""
    from aiohttp import ClientSession

    async with ClientSession() as http, http.post(f"http://127.0.0.1:{port}/offer",
                                                  json=body) as response:
        return response.status, await response.json()


def offer_body(**fields) -> dict:
    """An offer body; bytes fields (avatar, enrollment) go as base64."""
    return {name: base64.b64encode(value).decode() if isinstance(value, bytes) else value
            for name, value in fields.items()}


@dataclass
class Call:
    """What a client got back from serve: the avatar frames, when they came, the messages,
    and the session's id."""

    session: str = ""
    frames: list = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)


async def call_serve(port: int, source, listen: float, keep_frames: bool = True,
                     **fields) -> Call:
    """An aiortc client in aiortc's own style: send ``source`` as the camera with a JSON offer
    (plus ``fields``), keep what comes back for ``listen`` seconds."""
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from fingerprint_live.webrtc import rtc_configuration

    call = Call()
    pc = RTCPeerConnection(rtc_configuration())
    pc.createDataChannel("events").on("message", lambda m: call.messages.append(json.loads(m)))
    pc.addTrack(source)

    async def drain(track) -> None:
        while True:
            frame = await track.recv()
            call.arrivals.append(asyncio.get_running_loop().time())
            if keep_frames:
                call.frames.append(frame.to_ndarray(format="rgb24"))

    drains = []
    pc.on("track", lambda t: drains.append(asyncio.ensure_future(drain(t))))
    await pc.setLocalDescription(await pc.createOffer())
    status, answer = await post_offer(port, offer_body(type="offer", sdp=pc.localDescription.sdp,
                                                       **fields))
    assert status == 200, answer
    call.session = answer["session"]
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
    await asyncio.sleep(listen)
    await pc.close()
    for d in drains:
        d.cancel()
    return call
