"""A daemon thread fed by a small drop-oldest queue: work that must never delay a frame.

The caller's ``submit`` only appends to the queue; ``step`` runs on the thread, item by item in
order. When ``step`` raises, the thread stops and ``failure`` says why, so the caller can fail
closed instead of trusting a result that no longer comes.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")


class QueueWorker(Generic[Item]):
    """Runs ``step(item)`` on its own thread for items given to ``submit``."""

    def __init__(self, step: Callable[[Item], None], maxlen: int, name: str) -> None:
        self._step = step
        self._queue: deque[Item] = deque(maxlen=maxlen)
        self._wake = threading.Condition()
        self._closed = False
        self.failure: str | None = None
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: Item) -> None:
        """Queue ``item``; when the queue is full, the oldest waiting item is dropped."""
        with self._wake:
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1
            self._queue.append(item)
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                item = self._queue.popleft()
            try:
                self._step(item)
            except Exception as exc:  # noqa: BLE001 - any failure must be reported, not hidden
                self.failure = f"{type(exc).__name__}: {exc}"
                return

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=5)
