"""The pool's coordinator: who checks which stream, and what the pool shows for each.

It looks at the room every ``discover`` seconds (Janus's ``listparticipants``), maps each
publisher's display name (or feed id) to an enrollment, and hands each enrolled stream to the
live worker with the fewest streams, under ``max_streams``. Every ``poll`` seconds it asks each
worker for its report.

What it shows follows one rule: a state counts only while its owner answers. A stream shows the
verifier's state only when its current owner answered within ``lease`` seconds, the report is
for the current assignment (its ticket), and the newest checked frame is at most
``stale_frames`` old; otherwise it shows UNVERIFIED, computed at the moment it is read. A state
is "attested" when a valid signed verdict of the publisher backs it (the worker says so), else
"unattested". A worker
whose actor died (Ray says so at once) or that stays silent for ``dead_after`` seconds (it is
then killed, and Ray restarts it) loses its streams, which go to the others at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import ray
from ray.exceptions import RayError

from ..janus import Room
from ..verifier import LANDMARK_EVERY
from .actor import PREFIX
from .checker import Assignment

UNVERIFIED, UNENROLLED, ENDED = "UNVERIFIED", "UNENROLLED", "ENDED"
#: Lines kept for ``GET /events``.
KEEP_LINES = 10000


@dataclass(frozen=True)
class PoolConfig:
    lease: float = 0.5  # seconds a worker's word counts after its last answer
    poll: float = 0.1  # seconds between reports asked of each worker
    dead_after: float = 3.0  # a worker silent this long is killed (and restarted by Ray)
    stale_frames: float = 1.0  # a stream whose newest checked frame is older is UNVERIFIED
    max_streams: int = 3  # streams per worker
    setting: str = "quick"  # the receiver's decision setting, by name (RECEIVER_SETTINGS)
    landmark_every: int = LANDMARK_EVERY  # landmarks on one frame in this many (VerifyTrack)
    discover: float = 0.5  # seconds between looks at the room and for new workers
    hello_timeout: float = 120.0  # a new worker's start (models, Janus session)


@dataclass
class _Worker:
    name: str
    handle: object  # a Ray actor handle
    id: str  # this incarnation: host:pid
    last_ok: float
    streams: set[int] = field(default_factory=set)
    report: dict = field(default_factory=dict)


@dataclass
class _Stream:
    feed: int
    display: str
    enrollment: bytes | None
    owner: str | None = None  # a worker's actor name
    ticket: int = 0
    shown: tuple | None = None  # the (state, attestation, worker) of the last line


class Coordinator:
    """Runs the pool of room ``room`` until cancelled; ``table()`` is what it shows now."""

    def __init__(self, room: Room, enrollments: dict[str, bytes],
                 cfg: PoolConfig | None = None,
                 on_line: Callable[[dict], None] | None = None,
                 log: Callable[[str], None] | None = None) -> None:
        self.room, self.enrollments = room, enrollments
        self.cfg = cfg or PoolConfig()
        self.on_line, self.log = on_line, log or (lambda message: None)
        self.workers: dict[str, _Worker] = {}
        self.streams: dict[int, _Stream] = {}
        self.lines: deque[dict] = deque(maxlen=KEEP_LINES)
        self.line_count = 0  # lines ever made (the index of the next one)
        self._adopting: set[str] = set()
        self._ticket = 0
        self._tasks: set[asyncio.Task] = set()

    async def run(self) -> None:
        await asyncio.gather(self._watch_room(), self._watch_workers(), self._show())

    # -- what it shows -------------------------------------------------------------------
    def row(self, s: _Stream, now: float) -> dict:
        worker = self.workers.get(s.owner) if s.owner else None
        state, score = (UNENROLLED if s.enrollment is None else UNVERIFIED), None
        attested = False
        if worker is not None and now - worker.last_ok <= self.cfg.lease:
            r = worker.report.get("streams", {}).get(s.feed)
            if (r is not None and r["ticket"] == s.ticket and r["state"] is not None
                    and r["age"] is not None
                    and r["age"] + now - worker.last_ok <= self.cfg.stale_frames):
                state, score, attested = r["state"], r["score"], bool(r.get("attested"))
        return {"stream": s.feed, "display": s.display, "time": round(time.time(), 3),
                "state": state, "score": None if score is None else round(score, 4),
                "attestation": "attested" if attested else "unattested",
                "worker": worker.id if worker is not None else None}

    def table(self) -> list[dict]:
        now = time.monotonic()
        return [self.row(s, now) for s in self.streams.values()]

    def status(self) -> dict:
        """The table and the workers, as ``GET /streams`` returns them."""
        now = time.monotonic()
        return {"time": round(time.time(), 3), "streams": self.table(),
                "workers": [{"id": w.id, "streams": sorted(w.streams),
                             "answered_s_ago": round(now - w.last_ok, 3)}
                            for w in self.workers.values()]}

    def _line(self, line: dict) -> None:
        self.lines.append(line)
        self.line_count += 1
        if self.on_line is not None:
            self.on_line(line)

    async def _show(self) -> None:
        """A line whenever a stream's shown state, attestation or owner changes (checked every
        0.1 s)."""
        while True:
            now = time.monotonic()
            for s in self.streams.values():
                row = self.row(s, now)
                if (row["state"], row["attestation"], row["worker"]) != s.shown:
                    s.shown = (row["state"], row["attestation"], row["worker"])
                    self._line(row)
            await asyncio.sleep(0.1)

    # -- the room ------------------------------------------------------------------------
    async def _watch_room(self) -> None:
        while True:
            publishers = {p.id: p for p in await self.room.publishers()}
            for feed, p in publishers.items():
                if feed not in self.streams:
                    enrollment = self.enrollments.get(p.display, self.enrollments.get(str(feed)))
                    self.streams[feed] = _Stream(feed, p.display, enrollment)
                    self.log(f"stream {feed} ({p.display!r}) "
                             f"{'joined' if enrollment else 'joined, not enrolled'}")
            for feed in [f for f in self.streams if f not in publishers]:
                s = self.streams.pop(feed)
                self._unassign(s, release=True)
                self._line({"stream": feed, "display": s.display, "time": round(time.time(), 3),
                            "state": ENDED, "score": None, "attestation": "unattested",
                            "worker": None})
            self._assign_free()
            await asyncio.sleep(self.cfg.discover)

    def _assign_free(self) -> None:
        """Hand every unowned enrolled stream to the live worker with the fewest streams."""
        for s in self.streams.values():
            if s.enrollment is None or s.owner is not None:
                continue
            free = [w for w in self.workers.values() if len(w.streams) < self.cfg.max_streams]
            if not free:
                return
            self._give(s, min(free, key=lambda w: len(w.streams)))

    def _rebalance(self, newcomer: _Worker) -> None:
        """A worker that joins takes streams from the busiest while they differ by two or more.

        A moved stream starts its check again (a few seconds UNVERIFIED), so a stream in
        MISMATCH or SUSPECT never moves this way: that would clear its alarm.
        """
        now = time.monotonic()
        while True:
            busiest = max(self.workers.values(), key=lambda w: len(w.streams))
            movable = [f for f in busiest.streams
                       if self.row(self.streams[f], now)["state"] not in ("MISMATCH", "SUSPECT")]
            if len(busiest.streams) - len(newcomer.streams) < 2 or not movable:
                return
            s = self.streams[max(movable)]
            self._unassign(s, release=True)
            self._give(s, newcomer)

    def _give(self, s: _Stream, worker: _Worker) -> None:
        self._ticket += 1
        s.owner, s.ticket = worker.name, self._ticket
        worker.streams.add(s.feed)
        self._spawn(self._hand(worker, Assignment(s.feed, s.display, s.enrollment, s.ticket,
                                                          self.cfg.setting,
                                                          self.cfg.landmark_every)))

    async def _hand(self, worker: _Worker, assignment: Assignment) -> None:
        try:
            await asyncio.wait_for(worker.handle.assign.remote(assignment), self.cfg.dead_after)
        except (TimeoutError, RayError) as exc:
            s = self.streams.get(assignment.stream)
            if s is not None and s.ticket == assignment.ticket:
                self.log(f"stream {s.feed}: {worker.id} did not take it ({exc!r:.80})")
                self._unassign(s)

    def _unassign(self, s: _Stream, release: bool = False) -> None:
        worker = self.workers.get(s.owner) if s.owner else None
        if worker is not None:
            worker.streams.discard(s.feed)
            if release:
                self._spawn(_quietly(worker.handle.release.remote(s.feed)))
        s.owner = None

    # -- the workers ---------------------------------------------------------------------
    async def _watch_workers(self) -> None:
        """Adopt every worker actor named in the pool's namespace (started here or joined)."""
        loop = asyncio.get_running_loop()
        while True:
            names = await loop.run_in_executor(None, ray.util.list_named_actors)
            known = {w.name for w in self.workers.values()} | self._adopting
            for name in names:
                if name.startswith(PREFIX) and name not in known:
                    self._adopting.add(name)
                    self._spawn(self._adopt(name))
            await asyncio.sleep(self.cfg.discover)

    async def _adopt(self, name: str) -> None:
        try:
            handle = ray.get_actor(name)
            info = await asyncio.wait_for(handle.hello.remote(), self.cfg.hello_timeout)
        except (TimeoutError, RayError, ValueError) as exc:
            self.log(f"worker {name} did not start: {exc!r:.200}")
            return
        finally:
            self._adopting.discard(name)
        worker = _Worker(name, handle, info["id"], time.monotonic())
        self.workers[name] = worker
        self.log(f"worker {worker.id} joined ({len(self.workers)} in the pool)")
        self._assign_free()
        self._rebalance(worker)
        await self._follow(worker)

    async def _follow(self, worker: _Worker) -> None:
        """Poll one worker until it dies, restarts or goes silent; then its streams move."""
        died = asyncio.ensure_future(_result(worker.handle.alive.remote()))
        try:
            while self.workers.get(worker.name) is worker:
                poll = asyncio.ensure_future(_result(worker.handle.poll.remote()))
                await asyncio.wait({poll, died}, timeout=self.cfg.lease,
                                   return_when=asyncio.FIRST_COMPLETED)
                if died.done():
                    poll.cancel()
                    self._lose(worker, "its process died")
                    return
                if not poll.done():
                    poll.cancel()
                    if time.monotonic() - worker.last_ok > self.cfg.dead_after:
                        ray.kill(worker.handle, no_restart=False)
                        self._lose(worker, f"silent for {self.cfg.dead_after:.0f} s; killed")
                        return
                    continue
                try:
                    report = poll.result()
                except RayError as exc:
                    self._lose(worker, type(exc).__name__)
                    return
                if report["id"] != worker.id:
                    self._lose(worker, "restarted")
                    return
                worker.last_ok, worker.report = time.monotonic(), report
                self._drop_failed(worker, report)
                await asyncio.wait({died}, timeout=self.cfg.poll)
        finally:
            died.cancel()

    def _drop_failed(self, worker: _Worker, report: dict) -> None:
        """Streams the worker could not check go back to the pool (tried again next look)."""
        for feed, r in report["streams"].items():
            s = self.streams.get(feed)
            if r["error"] and s is not None and s.owner == worker.name \
                    and r["ticket"] == s.ticket:
                self.log(f"stream {feed}: {worker.id} failed: {r['error']}")
                self._unassign(s, release=True)

    def _lose(self, worker: _Worker, why: str) -> None:
        self.workers.pop(worker.name, None)
        moved = sorted(worker.streams)
        for feed in moved:
            if feed in self.streams:
                self.streams[feed].owner = None
        self.log(f"worker {worker.id} lost ({why}); its streams {moved} move")
        self._assign_free()

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _result(ref):
    return await ref


async def _quietly(awaitable) -> None:
    with contextlib.suppress(Exception):
        await awaitable
