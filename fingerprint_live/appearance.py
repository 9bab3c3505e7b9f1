"""The appearance check in a call: when to describe the driver's face, and where.

``CheckSchedule`` runs on the frame path (a few comparisons): a face is described at once when
it is new (the first, found again after a loss, or a jump of the face box: that is when someone
else sits down), then about once a second. ``DescriptorProcess`` runs the descriptor in a
process of its own, because dlib holds the GIL for its whole ~0.1 s: in a thread it would stall
the frame path. A one-slot queue feeds it (a newer face replaces a waiting one); results come
back to ``on_result`` on a thread of this process. A process that dies or stops answering sets
``failure``, so the caller can fail closed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from .face_descriptor import FaceCrop
from .landmarks import FaceLandmarks, jumped
from .worker import QueueWorker

#: Seconds between two descriptions of the same face.
CHECK_EVERY = 1.0
#: Seconds the process may take to start (import dlib, read 22 MB of weights) and to answer.
START_TIMEOUT, ANSWER_TIMEOUT = 60.0, 5.0


class CheckSchedule:
    """Says on which frames the driver's face is described."""

    def __init__(self, every: float = CHECK_EVERY) -> None:
        self.every = every
        self._box: np.ndarray | None = None
        self._last = -np.inf

    def due(self, face: FaceLandmarks, time: float) -> bool:
        if not face.found:
            self._box = None  # the next face found counts as new
            return False
        box = face.box()
        new = self._box is None or jumped(self._box, box)
        self._box = box
        if new or time - self._last >= self.every:
            self._last = time
            return True
        return False


class DescriptorProcess:
    """Face crops in, descriptors out to ``on_result(vector, time)``, off this process's GIL.

    The process is ``python -m fingerprint_live.appearance``, talking over a socket pair: a
    fresh interpreter that imports only what the descriptor needs, and never the caller's
    main module (which ``multiprocessing``'s spawn would re-run).
    """

    def __init__(self, on_result: Callable[[np.ndarray, float], None],
                 model_dir: str | Path | None = None) -> None:
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(theirs.fileno()), str(model_dir or "")],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        theirs.close()
        self._conn = Connection(ours.detach())
        self.on_result = on_result
        self.answered = 0
        self.seconds: list[float] = []  # how long each answer took, after the first (bounded)
        self._started = False
        self._worker: QueueWorker[tuple[FaceCrop, float]] = QueueWorker(
            self._ask, 1, "face-descriptor")

    def submit(self, crop: FaceCrop, time: float) -> None:
        """Describe ``crop`` (taken at stream ``time``); a crop still waiting is replaced."""
        self._worker.submit((crop, time))

    @property
    def failure(self) -> str | None:
        return self._worker.failure

    def _ask(self, item: tuple[FaceCrop, float]) -> None:
        crop, stamp = item
        began = time.monotonic()
        try:
            self._conn.send((crop.image, crop.points))
            if not self._conn.poll(ANSWER_TIMEOUT if self._started else START_TIMEOUT):
                raise TimeoutError("the face descriptor stopped answering")
            status, value = self._conn.recv()
        except (EOFError, OSError, BrokenPipeError) as exc:
            raise RuntimeError(f"the face descriptor process ended ({exc or 'no answer'})") from exc
        if status != "ok":
            raise RuntimeError(f"the face descriptor failed: {value}")
        if self._started:
            self.seconds = [*self.seconds[-99:], time.monotonic() - began]
        self._started = True
        self.answered += 1
        self.on_result(value, stamp)

    @property
    def pid(self) -> int:
        return self._process.pid

    def close(self) -> None:
        self._worker.close()
        try:
            self._conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        try:
            self._process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._conn.close()


def _serve(conn: Connection, model_dir: str | None) -> None:
    """The child process: load the descriptor once, then answer crops until told to stop."""
    try:
        from .face_descriptor import FaceDescriptor

        descriptor = FaceDescriptor(model_dir or None)
    except Exception as exc:  # noqa: BLE001 - the parent must learn why, not see a dead pipe
        _answer_errors(conn, f"{type(exc).__name__}: {exc}")
        return
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        image, points = request
        try:
            conn.send(("ok", descriptor.describe(FaceCrop(image, points))))
        except Exception as exc:  # noqa: BLE001 - one bad crop is reported, not fatal here
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


def _answer_errors(conn, message: str) -> None:
    while True:
        try:
            if conn.recv() is None:
                return
            conn.send(("error", message))
        except (EOFError, OSError):
            return


if __name__ == "__main__":
    os.dup2(2, 1)  # a stray print must never reach the parent as an answer
    _serve(Connection(int(sys.argv[1])), sys.argv[2])
