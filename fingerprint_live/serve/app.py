"""The aiohttp app: the page, its script, and ``POST /offer`` that starts a session.

Limits that keep one page from hurting the server or other sessions: a request body bound, an
SDP size bound, a bound on live sessions (a clear 503 past it), and uploads checked as images.
The page sends the portrait's bytes, never a name, so it cannot point at a server file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from aiohttp import web

from fingerprint_live.avatar.portrait import load_portrait

from ..embedder import Embedder
from ..errors import FingerprintError
from ..face_descriptor import DescriptorInfo, load_info
from ..guard import GuardConfig, Policy
from ..webrtc import loopback_only
from .portrait_upload import MAX_BYTES, decode_portrait
from .session import Session

STATIC = Path(__file__).parent / "static"
#: Largest SDP offer accepted, in characters (a browser's offer is a few KiB).
MAX_SDP = 32 << 10
#: Enrollment recording length the page may ask for, in seconds.
ENROLL_SECONDS = (4.0, 60.0)

SESSIONS = web.AppKey("sessions", dict)
CONFIG = web.AppKey("config", object)
EMBEDDER = web.AppKey("embedder", Embedder)
FACES = web.AppKey("faces", DescriptorInfo)
PORTRAIT = web.AppKey("portrait", np.ndarray)


@dataclass(frozen=True)
class ServeConfig:
    max_sessions: int = 2
    loopback_ice: bool = True  # offer only 127.0.0.1 candidates (the server is bound there)
    stun: str | None = None  # a STUN URL, only when the user asks for one
    model_dir: str | None = None
    on_glitch: str = "flag"  # the guard's answer to an avatar glitch: flag, block or off


def make_app(config: ServeConfig | None = None) -> web.Application:
    config = config or ServeConfig()
    app = web.Application(client_max_size=MAX_BYTES + MAX_SDP + (64 << 10))
    app[CONFIG], app[SESSIONS] = config, {}
    app[EMBEDDER] = Embedder(config.model_dir)
    app[FACES] = load_info(config.model_dir)
    app[PORTRAIT] = load_portrait()
    app.router.add_get("/", _page)
    app.router.add_get("/app.js", _script)
    app.router.add_post("/offer", _offer)
    app.cleanup_ctx.append(_lifetime)
    return app


async def _lifetime(app: web.Application):
    if app[CONFIG].loopback_ice:
        with loopback_only():
            yield
    else:
        yield
    for session in list(app[SESSIONS].values()):
        await session.close()


async def _page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def _script(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "app.js")


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _offer(request: web.Request) -> web.Response:
    app = request.app
    sessions: dict[str, Session] = app[SESSIONS]
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        return _refuse(413, "the request is too large (the image may be at most "
                       f"{MAX_BYTES >> 20} MiB).")
    except (ValueError, UnicodeDecodeError, AssertionError) as exc:  # a malformed form body
        return _refuse(400, f"the request is not a readable form ({exc}).")
    sdp, kind = str(form.get("sdp", "")), str(form.get("type", ""))
    if kind != "offer" or not sdp:
        return _refuse(400, "expected an SDP offer (fields sdp and type=offer).")
    if len(sdp) > MAX_SDP:
        return _refuse(413, f"the SDP offer is larger than {MAX_SDP} characters.")
    try:
        seconds = float(form.get("seconds", 10))
        policy = Policy(str(form.get("policy", "block")))
    except ValueError:
        return _refuse(400, "seconds must be a number and policy one of block, flag.")
    if policy is Policy.OFF or not ENROLL_SECONDS[0] <= seconds <= ENROLL_SECONDS[1]:
        return _refuse(400, f"policy must be block or flag, seconds from {ENROLL_SECONDS[0]:.0f}"
                       f" to {ENROLL_SECONDS[1]:.0f}.")
    if len(sessions) >= app[CONFIG].max_sessions:
        return _refuse(503, f"the server is busy: {len(sessions)} sessions are live, the most "
                       "it runs at once; try again when one ends.")
    try:
        session = Session(_portrait(app, form.get("avatar")), app[EMBEDDER], app[FACES], seconds,
                          GuardConfig(policy=policy, on_glitch=app[CONFIG].on_glitch),
                          app[CONFIG].stun)
    except FingerprintError as exc:
        return _refuse(400, f"avatar image: {exc}")
    sessions[session.id] = session

    async def _on_state() -> None:
        if session.pc.connectionState in ("failed", "closed"):
            await session.close()
            sessions.pop(session.id, None)

    session.pc.on("connectionstatechange", _on_state)
    try:
        answer = await session.answer(sdp, kind)
    except Exception as exc:  # noqa: BLE001 - aiortc's SDP parser asserts, indexes, raises...
        await session.close()  # ...on bad input; any of it must free the session's slot
        sessions.pop(session.id, None)
        return _refuse(400, f"the offer was not usable: {exc or type(exc).__name__}")
    return web.Response(text=json.dumps({"sdp": answer.sdp, "type": answer.type,
                                         "session": session.id}),
                        content_type="application/json")


def _portrait(app: web.Application, field) -> np.ndarray:
    """The default portrait, or the uploaded one once it is a readable image."""
    if not isinstance(field, web.FileField):
        return app[PORTRAIT]
    return decode_portrait(field.file.read(MAX_BYTES + 1))
