"""One worker's share of a room: a subscription and a ``VerifyTrack`` per assigned stream.

Everything runs on the worker's event loop, over one Janus session; each ``VerifyTrack`` does
its landmarks and verifier on threads of its own. ``report()`` says, per stream, the newest
state and score, how many frames were checked and how long ago the last one was, plus the state
changes since the last report. When the enrollment carries the owner's public key, the
publisher's signed verdicts (on the VideoRoom's data channel, bound to the room, the feed and
the time: DTLS ends at Janus) are checked too, and each state says whether one backs it. It
holds no Ray: the Ray actor (:mod:`.actor`) and the benchmark both drive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from ..attest.channel import ReceiverAttestation, janus_binding
from ..embedder import Embedder
from ..enrollment import Enrollment
from ..errors import FingerprintError
from ..events import Event
from ..janus import JanusSession, Subscription
from ..verifier import LANDMARK_EVERY
from ..webrtc import VerifyTrack


@dataclass(frozen=True)
class Assignment:
    """A stream handed to a worker: Janus's feed id, its publisher's name, the enrollment
    file's bytes, the coordinator's ticket (reports carry it, so a stale owner's are
    ignored), and the pool's decision setting and landmark rate (so a worker that joins later
    decides alike)."""

    stream: int
    display: str
    enrollment: bytes
    ticket: int
    setting: str = "quick"
    landmark_every: int = LANDMARK_EVERY  # landmarks on one frame in this many


@dataclass
class _Check:
    assignment: Assignment
    state: str | None = None  # the verifier's newest state (None before the first frame)
    attested: bool = False  # a valid signed verdict of the publisher backs ``state``
    attestation: ReceiverAttestation | None = None  # with the owner's public key
    score: float | None = None
    frames: int = 0
    last_frame: float = 0.0  # monotonic time of the newest checked frame
    error: str | None = None
    task: asyncio.Task | None = None
    track: VerifyTrack | None = None
    subscription: Subscription | None = None
    latency: list[float] = field(default_factory=list)  # ms, since the last report


class StreamChecker:
    """Checks the streams of room ``room`` that are assigned to it (motion only)."""

    def __init__(self, janus_url: str, room: int, embedder: Embedder | None = None) -> None:
        self.janus_url, self.room = janus_url, room
        self.embedder = embedder or Embedder()
        self.session: JanusSession | None = None
        self._checks: dict[int, _Check] = {}
        self._events: list[dict] = []

    async def start(self) -> None:
        """Connect to Janus, again if the connection was lost (Janus restarted)."""
        if self.session is None or self.session.closed:
            self.session = await JanusSession.connect(self.janus_url)

    def assign(self, assignment: Assignment) -> None:
        """Start checking a stream (a newer ticket for the same stream replaces the check)."""
        old = self._checks.pop(assignment.stream, None)
        if old is not None:
            asyncio.ensure_future(self._stop(old))
        check = _Check(assignment)
        check.task = asyncio.ensure_future(self._run(check))
        self._checks[assignment.stream] = check

    async def release(self, stream: int) -> None:
        check = self._checks.pop(stream, None)
        if check is not None:
            await self._stop(check)

    async def _run(self, check: _Check) -> None:
        a = check.assignment
        try:
            enrollment = Enrollment.from_bytes(a.enrollment)
            info = self.embedder.info
            enrollment.check_models(info.model_id, avatar_id=info.view_id("avatar"))
            await self.start()
            attestation = check.attestation = (
                None if enrollment.public_key is None else ReceiverAttestation(
                    enrollment.public_key, binding=janus_binding(self.room, a.stream)))

            def on_channel(channel) -> None:  # Janus labels the feed's data with its id
                if attestation is not None and channel.label == str(a.stream):
                    attestation.attach(channel)

            check.subscription = await Subscription.start(self.session, self.room, a.stream,
                                                          on_channel=on_channel)
            check.track = VerifyTrack(check.subscription.track, enrollment, self.embedder,
                                      setting=a.setting, landmark_every=a.landmark_every,
                                      attestation=attestation)
            check.track.on("event", lambda e: self._changed(check, e))
            while True:
                await check.track.recv()
                check.frames += 1
                check.last_frame = time.monotonic()
                if check.track.last_latency is not None:
                    check.latency.append(check.track.last_latency * 1000)
        except asyncio.CancelledError:
            raise
        except FingerprintError as exc:
            check.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - the stream ended or broke; say why
            check.error = f"{type(exc).__name__}: {exc}" if str(exc) else "the stream ended"

    def _changed(self, check: _Check, event: Event) -> None:
        check.state = event.state.value
        check.score = event.score
        check.attested = event.attestation == "attested"
        self._events.append({"stream": check.assignment.stream, "ticket": check.assignment.ticket,
                             "time": time.time(), "stream_time": event.time,
                             "state": check.state, "score": event.score,
                             "attested": check.attested})

    def report(self) -> dict:
        """The streams' status now, and the state changes since the previous report."""
        now = time.monotonic()
        streams = {}
        for stream, c in self._checks.items():
            stats = c.track.stats() if c.track is not None else {}
            streams[stream] = {
                "ticket": c.assignment.ticket, "state": c.state, "score": c.score,
                "attested": c.attested, "frames": c.frames, "error": c.error,
                "statements": c.attestation.stats() if c.attestation is not None else None,
                "age": now - c.last_frame if c.frames else None,
                "fps": stats.get("fps"), "dropped": stats.get("dropped"),
                "latency_ms": list(c.latency)}
            c.latency.clear()
        events, self._events = self._events, []
        return {"streams": streams, "events": events}

    async def _stop(self, check: _Check) -> None:
        if check.task is not None:
            check.task.cancel()
            with contextlib.suppress(BaseException):
                await check.task
        if check.track is not None:
            check.track.stop()
        if check.subscription is not None:
            with contextlib.suppress(Exception):
                await check.subscription.close()

    async def close(self) -> None:
        for stream in list(self._checks):
            await self.release(stream)
        if self.session is not None:
            await self.session.close()
