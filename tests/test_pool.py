"""The pool's coordinator without Janus or Ray processes: what it shows for a stream (fail
closed), where a dead worker's streams go, and which streams a newcomer may take.

Workers here are stand-ins that record what they are told; tests/test_janus.py runs the real
pool end to end.
"""

from __future__ import annotations

import asyncio
import time

import pytest

pytest.importorskip("ray")

from fingerprint_live.pool.coordinator import (  # noqa: E402
    UNENROLLED,
    UNVERIFIED,
    Coordinator,
    PoolConfig,
    _Stream,
    _Worker,
)


class _Handle:
    """A worker actor's handle: each ``x.remote(...)`` is recorded and returns at once."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def __getattr__(self, name: str):
        handle = self

        class _Method:
            def remote(self, *args):
                handle.calls.append((name, *args))
                return asyncio.sleep(0)
        return _Method()


def _pool(*workers: str, cfg: PoolConfig | None = None) -> Coordinator:
    coordinator = Coordinator(room=None, enrollments={"m030": b"fpe"}, cfg=cfg)
    for name in workers:
        coordinator.workers[name] = _Worker(name, _Handle(), f"host:{name}", time.monotonic())
    return coordinator


def _report(coordinator: Coordinator, worker: str, feed: int, state: str, age: float = 0.0,
            ticket: int | None = None) -> None:
    s = coordinator.streams[feed]
    coordinator.workers[worker].report = {"streams": {feed: {
        "ticket": s.ticket if ticket is None else ticket, "state": state, "score": 0.3,
        "age": age}}}


def _owned(coordinator: Coordinator, feed: int, worker: str) -> None:
    coordinator._ticket += 1
    s = coordinator.streams.setdefault(feed, _Stream(feed, "m030", b"fpe"))
    s.owner, s.ticket = worker, coordinator._ticket
    coordinator.workers[worker].streams.add(feed)


def test_a_stream_shows_its_state_only_while_its_owner_answers() -> None:
    """The state, and whether a signed verdict backs it (the worker says so), alike."""
    pool = _pool("a")
    _owned(pool, 1, "a")
    _report(pool, "a", 1, "VERIFIED")
    now = pool.workers["a"].last_ok
    row = pool.row(pool.streams[1], now)
    assert (row["state"], row["attestation"]) == ("VERIFIED", "unattested")
    pool.workers["a"].report["streams"][1]["attested"] = True
    assert pool.row(pool.streams[1], now)["attestation"] == "attested"
    late = pool.row(pool.streams[1], now + pool.cfg.lease + 0.01)
    assert (late["state"], late["attestation"]) == (UNVERIFIED, "unattested")


@pytest.mark.parametrize("why", ["old ticket", "old frame", "no first frame", "owner gone"])
def test_anything_but_a_fresh_report_of_the_current_owner_shows_unverified(why: str) -> None:
    pool = _pool("a")
    _owned(pool, 1, "a")
    ticket, now = pool.streams[1].ticket, pool.workers["a"].last_ok
    _report(pool, "a", 1, "VERIFIED", age=2 * pool.cfg.stale_frames if why == "old frame" else 0,
            ticket=ticket - 1 if why == "old ticket" else ticket)
    if why == "no first frame":
        pool.workers["a"].report["streams"][1] |= {"state": None, "age": None}
    if why == "owner gone":
        pool.workers.pop("a")
    row = pool.row(pool.streams[1], now)
    assert row["state"] == UNVERIFIED and row["score"] is None


def test_a_publisher_without_an_enrollment_shows_unenrolled() -> None:
    pool = _pool("a")
    pool.streams[2] = _Stream(2, "guest", None)
    assert pool.table()[0]["state"] == UNENROLLED


def test_a_lost_workers_streams_go_to_the_others_at_once() -> None:
    async def body() -> None:
        pool = _pool("a", "b", "c")
        for feed, worker in ((1, "a"), (2, "a"), (3, "b")):
            _owned(pool, feed, worker)
        _report(pool, "a", 1, "VERIFIED")
        tickets = {f: pool.streams[f].ticket for f in (1, 2)}
        pool._lose(pool.workers["a"], "its process died")
        await asyncio.sleep(0)
        assert "a" not in pool.workers
        assert {pool.streams[1].owner, pool.streams[2].owner} == {"b", "c"}
        assert all(pool.streams[f].ticket > tickets[f] for f in (1, 2))
        assert pool.row(pool.streams[1], time.monotonic())["state"] == UNVERIFIED
        handed = [c for w in ("b", "c") for c in pool.workers[w].handle.calls
                  if c[0] == "assign"]
        assert sorted(c[1].stream for c in handed) == [1, 2]
    asyncio.run(body())


def test_a_newcomer_takes_streams_but_never_one_in_alarm() -> None:
    async def body() -> None:
        pool = _pool("a", cfg=PoolConfig(max_streams=4))
        for feed in (1, 2, 3, 4):
            _owned(pool, feed, "a")
        pool.workers["a"].report = {"streams": {
            f: {"ticket": pool.streams[f].ticket, "state": state, "score": 0.0, "age": 0.0}
            for f, state in ((1, "VERIFIED"), (2, "MISMATCH"), (3, "SUSPECT"),
                             (4, "MISMATCH"))}}
        pool.workers["b"] = _Worker("b", _Handle(), "host:b", time.monotonic())
        pool._rebalance(pool.workers["b"])
        await asyncio.sleep(0)
        assert pool.workers["b"].streams == {1}
        assert pool.workers["a"].streams == {2, 3, 4}
        assert ("release", 1) in pool.workers["a"].handle.calls
    asyncio.run(body())
