"""The pool's worker as a Ray actor: Ray places it on a node with a free CPU and restarts it
when its process dies.

Each actor is named ``worker-...`` in the pool's Ray namespace, which is how the coordinator
finds workers that join later. A restarted actor is a new incarnation (``hello`` says which):
the coordinator has already handed its streams to others, and gives it new ones.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid

import ray

from .checker import Assignment, StreamChecker

#: Prefix of the workers' actor names in the pool's namespace.
PREFIX = "worker-"


@ray.remote
class VerifyWorker:
    """A :class:`StreamChecker` behind Ray's actor calls (all on the actor's event loop)."""

    def __init__(self, janus_url: str, room: int) -> None:
        self.checker = StreamChecker(janus_url, room)
        self.id = f"{socket.gethostname()}:{os.getpid()}"

    async def hello(self) -> dict:
        """Connect to Janus; who this incarnation is."""
        await self.checker.start()
        return {"id": self.id, "pid": os.getpid(), "host": socket.gethostname()}

    async def assign(self, assignment: Assignment) -> None:
        self.checker.assign(assignment)

    async def release(self, stream: int) -> None:
        await self.checker.release(stream)

    async def poll(self) -> dict:
        return {"id": self.id} | self.checker.report()

    async def alive(self) -> None:
        """Never returns: the coordinator keeps this call in flight, and Ray fails it as soon
        as the actor's process dies (a restart would only queue new calls)."""
        await asyncio.Event().wait()


def start_workers(count: int, janus_url: str, room: int, cpus: float = 1.0) -> list:
    """``count`` named workers, each asking Ray for ``cpus`` CPUs, restarted when they die."""
    return [VerifyWorker.options(name=f"{PREFIX}{uuid.uuid4().hex[:8]}", num_cpus=cpus,
                                 max_restarts=-1).remote(janus_url, room)
            for _ in range(count)]
