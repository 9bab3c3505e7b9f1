"""The aiohttp app: the page, its script, and ``POST /offer`` that starts a session.

Signalling follows aiortc's examples: ``POST /offer`` takes the JSON ``{"sdp", "type"}``, with
optional fields ``policy`` (block or flag), ``seconds`` (the enrollment recording's length),
``avatar`` (a portrait, base64) and ``enrollment`` (an ``.fpe`` file, base64), and answers the
same JSON plus the session's id and the brought enrollment's public ``key_id``.
``POST /session/<id>/end`` hangs up and answers how the call went. ``POST /session/<id>/grow``
adds a call that has ended to the owner's enrollment, when the owner allows it
(``ServeConfig.allow_growth``) and the call earned it (``growth.py``'s rules).

Who decides: whoever holds the enrollment. With ``ServeConfig.enrollment`` that is the server's
owner: every session verifies against that file, the owner's ``policy`` says what a mismatch
does, and no caller can enroll, bring another enrollment or ask for another policy (403).
Whether calls may grow that file is the owner's choice too; a caller can only ask for their own
call, once, and the server judges it.
Without it each page records its own enrollment (and may save it, ``GET /enrollment/<id>``) or
brings one it saved: the caller holds the enrollment of their own session, so their ``policy``
holds there (``ServeConfig.policy`` is only its default). A recorded enrollment carries the
public half of a key pair made with it; ``GET /key/<id>`` gives the page the private key file,
once, to save beside the enrollment.

Limits that keep one page from hurting the server or other sessions: a request body bound, its
JSON's nesting and size measured before parsing, an SDP size bound, a bound on live sessions (a
clear 503 past it), and uploads checked as images or enrollments. The page sends the portrait's
bytes, never a name, so it cannot point at a server file.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from aiohttp import web

from ..attest.keys import key_id
from ..avatar.portrait import load_portrait
from ..embedder import Embedder
from ..enrollment import Enrollment
from ..errors import EnrollmentError, FingerprintError
from ..face_descriptor import DescriptorInfo, load_info
from ..growth import CallHarvest, add_call
from ..guard import GuardConfig, Policy
from ..webrtc import loopback_only
from .offer_json import parse_offer_json
from .portrait_upload import MAX_BYTES, decode_portrait
from .session import Session

log = logging.getLogger(__package__)  # one line per session, in the serve command

STATIC = Path(__file__).parent / "static"
#: Largest SDP offer accepted, in characters (a browser's offer is a few KiB).
MAX_SDP = 32 << 10
#: Largest enrollment a page may bring, in bytes (a minute of enrollment is about 100 KB).
MAX_ENROLLMENT = 1 << 20
#: Enrollment recording length the page may ask for, and its default, in seconds.
ENROLL_SECONDS = (4.0, 60.0)
ENROLL_DEFAULT = 12.0
#: Seconds an ended call is kept (with --allow-growth), so that the page can still ask to add
#: it to the enrollment after hang-up; and how many are kept at most.
KEEP_ENDED = 300.0
MAX_ENDED = 16

SESSIONS = web.AppKey("sessions", dict)
ENDED = web.AppKey("ended", dict)  # id -> Session, calls that ended lately, oldest first
CONFIG = web.AppKey("config", object)
EMBEDDER = web.AppKey("embedder", Embedder)
FACES = web.AppKey("faces", DescriptorInfo)
PORTRAIT = web.AppKey("portrait", np.ndarray)


@dataclass
class Owner:
    """The owner's enrollment (``ServeConfig.enrollment``), as it is now: calls the owner lets
    grow it replace it while the server runs. None: each page enrolls its own user."""

    current: Enrollment | None = None


OWNER = web.AppKey("owner", Owner)


@dataclass(frozen=True)
class ServeConfig:
    max_sessions: int = 2
    loopback_ice: bool = True  # offer only 127.0.0.1 candidates (the server is bound there)
    stun: str | None = None  # a STUN URL, only when the user asks for one
    model_dir: str | None = None
    on_glitch: Policy = Policy.FLAG  # the guard's answer to an avatar glitch
    enrollment: Path | None = None  # verify every session against this file; no page enrolls
    #: What a mismatch does: the owner's rule with ``enrollment``, else the page's default.
    policy: Policy = Policy.BLOCK
    #: The owner lets a call that verified them with a clear margin be added to ``enrollment``
    #: (the page asks after hang-up); never the caller's choice.
    allow_growth: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "on_glitch", Policy(self.on_glitch))
        object.__setattr__(self, "policy", Policy(self.policy))
        if self.policy is Policy.OFF:
            raise ValueError("serve's policy is block or flag: a call is always guarded.")
        if self.allow_growth and self.enrollment is None:
            raise FingerprintError("--allow-growth needs --enrollment FILE: the owner's file "
                                   "that calls may grow.")


def make_app(config: ServeConfig | None = None) -> web.Application:
    config = config or ServeConfig()
    app = web.Application(client_max_size=(MAX_BYTES + MAX_ENROLLMENT) * 4 // 3 + MAX_SDP
                          + (64 << 10))
    app[CONFIG], app[SESSIONS], app[ENDED] = config, {}, {}
    app[EMBEDDER] = Embedder(config.model_dir)
    app[FACES] = load_info(config.model_dir)
    app[OWNER] = Owner()
    if config.enrollment is not None:
        app[OWNER].current = Enrollment.load(config.enrollment, app[EMBEDDER].info.model_id,
                                     app[FACES].model_id)
        if app[OWNER].current.appearance is None:
            raise EnrollmentError(f"{config.enrollment}: it holds no face; enroll again.")
    app[PORTRAIT] = load_portrait()
    for route, name in (("/", "index.html"), ("/app.js", "app.js"), ("/plot.js", "plot.js"),
                        ("/favicon.svg", "favicon.svg"), ("/favicon.ico", "favicon.svg")):
        app.router.add_get(route, _static(name))
    app.router.add_get("/config", _config)
    app.router.add_post("/offer", _offer)
    app.router.add_post("/session/{session}/end", _end)
    app.router.add_post("/session/{session}/grow", _grow)
    app.router.add_get("/enrollment/{session}", _enrollment)
    app.router.add_get("/key/{session}", _key)
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


def _static(name: str):
    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / name)

    return handler


async def _config(request: web.Request) -> web.Response:
    """What the page needs to know before it starts."""
    fixed = request.app[OWNER].current is not None
    return web.json_response({"enrollment": "fixed" if fixed else "page",
                              "policy": request.app[CONFIG].policy.value,
                              "policy_fixed": fixed, "growth": request.app[CONFIG].allow_growth,
                              "seconds": ENROLL_DEFAULT, "seconds_range": ENROLL_SECONDS})


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _offer(request: web.Request) -> web.Response:
    app = request.app
    sessions: dict[str, Session] = app[SESSIONS]
    try:
        body = parse_offer_json(await request.read())
    except web.HTTPRequestEntityTooLarge:
        return _refuse(413, "the request is too large (the image may be at most "
                       f"{MAX_BYTES >> 20} MiB, an enrollment {MAX_ENROLLMENT >> 20} MiB).")
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return _refuse(400, f"the request is not an offer's JSON ({exc}); send "
                       '{"sdp", "type"}.')
    if not isinstance(body, dict):
        return _refuse(400, 'expected a JSON object {"sdp": ..., "type": "offer"}.')
    sdp, kind = body.get("sdp"), body.get("type")
    if kind != "offer" or not isinstance(sdp, str) or not sdp:
        return _refuse(400, 'expected an SDP offer: {"sdp": ..., "type": "offer"}.')
    if len(sdp) > MAX_SDP:
        return _refuse(413, f"the SDP offer is larger than {MAX_SDP} characters.")
    owner_policy = app[CONFIG].policy
    asked = body.get("policy")
    if app[OWNER].current is not None and asked is not None and asked != owner_policy.value:
        log.warning("refused an offer that asked for policy %.20r: the owner's is %s",
                    asked, owner_policy.value)
        return _refuse(403, f"this server's owner decides what a mismatch does "
                       f"({owner_policy.value}); a call cannot ask for another policy.")
    try:
        seconds = float(body.get("seconds", ENROLL_DEFAULT))
        policy = Policy(owner_policy.value if asked is None else asked)
    except (ValueError, TypeError):
        return _refuse(400, "seconds must be a number and policy one of block, flag.")
    if policy is Policy.OFF or not ENROLL_SECONDS[0] <= seconds <= ENROLL_SECONDS[1]:
        return _refuse(400, f"policy must be block or flag, seconds from {ENROLL_SECONDS[0]:.0f}"
                       f" to {ENROLL_SECONDS[1]:.0f}.")
    try:
        portrait = _portrait(app, body.get("avatar"))
    except FingerprintError as exc:
        status = 413 if "MiB" in str(exc) else 400
        return _refuse(status, f"avatar image: {exc}")
    try:
        enrollment = _enrollment_of(app, body.get("enrollment"))
    except FingerprintError as exc:
        return _refuse(400, f"enrollment: {exc}")
    if len(sessions) >= app[CONFIG].max_sessions:
        return _refuse(503, f"the server is busy: {len(sessions)} sessions are live, the most "
                       "it runs at once; try again when one ends.")
    harvest = CallHarvest.of(app[EMBEDDER].info) if app[CONFIG].allow_growth else None
    session = Session(portrait, app[EMBEDDER], app[FACES], seconds,
                      GuardConfig(policy=policy, on_glitch=app[CONFIG].on_glitch),
                      app[CONFIG].stun, enrollment, harvest)
    sessions[session.id] = session
    origin = ("the owner's" if app[OWNER].current is not None else
              "brought by the page" if enrollment is not None else "recorded on the page")

    async def _on_state() -> None:
        if session.pc.connectionState in ("failed", "closed"):
            await _retire(app, session)

    session.pc.on("connectionstatechange", _on_state)
    try:
        answer = await session.answer(sdp, kind)
    except Exception as exc:  # noqa: BLE001 - aiortc's SDP parser asserts, indexes, raises...
        await session.close(log_end=False)  # ...on bad input; any of it must free the slot
        sessions.pop(session.id, None)
        return _refuse(400, f"the offer was not usable: {exc or type(exc).__name__}")
    log.info("session %s started: enrollment %s, on mismatch %s", session.id[:8], origin,
             policy.value)
    brought = enrollment if app[OWNER].current is None else None  # None, or the page's own
    return web.json_response({"sdp": answer.sdp, "type": answer.type, "session": session.id,
                              "key_id": _key_id(brought)})


def _key_id(enrollment: Enrollment | None) -> str | None:
    """The id of the public key a page's own enrollment carries, so that the page can check,
    on its side, that the private key it keeps pairs with it (the key never comes here)."""
    if enrollment is None or enrollment.public_key is None:
        return None
    return key_id(enrollment.public_key)


async def _end(request: web.Request) -> web.Response:
    """Hang up: the session ends now (its slot is free at once) and says how the call went."""
    session = request.app[SESSIONS].get(request.match_info["session"])
    if session is None:
        return _refuse(404, "no such call: it has ended already, or never started here.")
    await _retire(request.app, session)
    return web.json_response(session.summary())


async def _retire(app: web.Application, session: Session) -> None:
    """End ``session`` and free its slot; with growth allowed, keep it a while (KEEP_ENDED) so
    that the page can ask, after hang-up, to add it to the enrollment."""
    app[SESSIONS].pop(session.id, None)
    await session.close()
    if session.harvest is not None:
        ended = _ended(app)
        ended[session.id] = session
        while len(ended) > MAX_ENDED:
            del ended[next(iter(ended))]


def _ended(app: web.Application) -> dict[str, Session]:
    """The calls that ended less than KEEP_ENDED seconds ago (older ones are forgotten here)."""
    ended, oldest = app[ENDED], time.monotonic() - KEEP_ENDED
    for sid in [sid for sid, s in ended.items() if s.ended < oldest]:
        del ended[sid]
    return ended


async def _grow(request: web.Request) -> web.Response:
    """Add a call that has ended to the owner's enrollment, if the owner allows it and the
    call earned it; the file is rewritten atomically and later calls verify against it."""
    app, sid = request.app, request.match_info["session"]
    if not app[CONFIG].allow_growth:
        return _refuse(403, "this server's owner does not let calls grow the enrollment "
                       "(serve --allow-growth).")
    session = _ended(app).get(sid)
    if session is None:
        if sid in app[SESSIONS]:
            return _refuse(409, "the call is still on; hang up first.")
        return _refuse(404, "no such call: it never started here, or ended too long ago.")
    if session.grown:
        return _refuse(409, "this call has been added to the enrollment already.")
    path = app[CONFIG].enrollment
    try:  # no await from judging to the update: two requests cannot both add one call
        grown, addition = add_call(path, app[OWNER].current, session.harvest, session.verifier,
                                   "page call")
    except OSError as exc:
        return _refuse(500, f"the enrollment file could not be written: {exc}")
    if not addition.eligible:
        return _refuse(409, f"this call was not added: {addition.reason}")
    session.grown, app[OWNER].current = True, grown
    added = grown.segments[-1]
    log.info("session %s added to the enrollment: %d windows, %.0f s", sid[:8], added.windows,
             added.seconds)
    return web.json_response({"added": True, "reason": addition.reason,
                              "windows": added.windows, "seconds": round(added.seconds, 1),
                              "segments": len(grown.segments),
                              "enrollment_windows": len(grown.motion.vectors)})


async def _enrollment(request: web.Request) -> web.Response:
    """The enrollment a page recorded in its session, as an ``.fpe`` file to keep."""
    session = request.app[SESSIONS].get(request.match_info["session"])
    if session is None or session.enrollment is None or not session.recorded:
        return _refuse(404, "no enrollment was recorded in this session.")
    return web.Response(body=session.enrollment.to_bytes(), content_type="application/octet-stream",
                        headers={"Content-Disposition":
                                 'attachment; filename="fingerprint-live.fpe"'})


async def _key(request: web.Request) -> web.Response:
    """The private key made with the enrollment a page recorded, served once and never logged:
    the page keeps it to save beside the enrollment (``enroll --key`` pairs them the same way)."""
    session = request.app[SESSIONS].get(request.match_info["session"])
    key = None if session is None else session.take_key()
    if key is None:
        return _refuse(404, "no key to give: none was made in this session, or it was given "
                       "already (a key is served once).")
    return web.Response(body=key, content_type="application/octet-stream",
                        headers={"Content-Disposition":
                                 'attachment; filename="fingerprint-live.key"',
                                 "Cache-Control": "no-store"})


def _decoded(field: object, limit: int, what: str) -> bytes:
    """The bytes of a base64 field, refused past ``limit`` bytes."""
    if not isinstance(field, str):
        raise FingerprintError(f"the {what} must be a base64 string.")
    if len(field) > limit * 4 // 3 + 4:
        raise FingerprintError(f"the {what} is larger than {limit >> 20} MiB.")
    try:
        return base64.b64decode(field, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FingerprintError(f"the {what} is not valid base64 ({exc}).") from exc


def _portrait(app: web.Application, field: object) -> np.ndarray:
    """The default portrait, or the uploaded one once it is a readable image."""
    if field is None:
        return app[PORTRAIT]
    return decode_portrait(_decoded(field, MAX_BYTES, "image"))


def _enrollment_of(app: web.Application, field: object) -> Enrollment | None:
    """The fixed enrollment; else the page's own file, checked; else None (record one)."""
    if app[OWNER].current is not None:
        if field is not None:
            raise FingerprintError("this server verifies every call against its own "
                                   "enrollment; a page cannot bring another.")
        return app[OWNER].current
    if field is None:
        return None
    enrollment = Enrollment.from_bytes(_decoded(field, MAX_ENROLLMENT, "enrollment"))
    enrollment.check_models(app[EMBEDDER].info.model_id, app[FACES].model_id,
                            (app[EMBEDDER].info.dimension, app[FACES].dimension))
    if enrollment.appearance is None:
        raise EnrollmentError("it holds no face; enroll again.")
    return enrollment
