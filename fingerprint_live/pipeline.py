"""The live pipeline: one camera frame in, one guarded avatar frame out.

Per frame, one MediaPipe pass gives the landmarks that both the avatar and the verifier use.
The avatar renders on the caller's thread; the verifier runs beside it in a worker thread fed by
a small drop-oldest queue, so a slow embedding never delays a frame. The guard then reads the
worker's latest state: a worker that raised, or that trails the frames by more than
``GuardConfig.max_lag`` seconds of stream time, counts as a bad state (fail closed).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from avatar.base import AvatarEngine

from .guard import Action, Decision, GuardConfig, decide, draw
from .landmarks import FaceLandmarks, LandmarkExtractor
from .verifier import State, StreamingVerifier

#: Frames the verifier may have waiting; older ones are dropped (about 0.6 s at 25 fps).
QUEUE_FRAMES = 16


@dataclass(frozen=True)
class LiveEvent:
    """A change of verifier state or guard action, as the peer and callbacks see it."""

    time: float
    state: State
    previous: State | None
    score: float | None
    action: Action
    reason: str

    def to_json(self) -> dict:
        return {"type": "event", "time": round(self.time, 3), "state": self.state.value,
                "previous": self.previous.value if self.previous else None,
                "score": None if self.score is None else round(self.score, 4),
                "action": self.action.value, "reason": self.reason}


@dataclass(frozen=True)
class LiveFrame:
    image: np.ndarray  # the guarded output, RGB uint8
    face: FaceLandmarks
    state: State
    score: float | None
    decision: Decision
    lag: float  # stream seconds the verifier trails this frame
    event: LiveEvent | None  # set on the frame where state or action changed


class VerifierWorker:
    """Owns a :class:`StreamingVerifier` on its own thread; frames go in through ``submit``."""

    def __init__(self, verifier: StreamingVerifier, maxlen: int = QUEUE_FRAMES) -> None:
        self._verifier = verifier
        self._queue: deque[tuple[FaceLandmarks, float]] = deque(maxlen=maxlen)
        self._wake = threading.Condition()
        self._closed = False
        self.state: State = verifier.state
        self.score: float | None = None
        self.done_time = -np.inf  # stream time of the last frame pushed
        self.submitted_time = -np.inf
        self.failure: str | None = None
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="verifier", daemon=True)
        self._thread.start()

    def submit(self, face: FaceLandmarks, time: float) -> None:
        with self._wake:
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1
            self._queue.append((face, time))
            self.submitted_time = time
            if self.done_time == -np.inf:  # not behind the frames it starts with
                self.done_time = time
            self._wake.notify()

    def lag(self) -> float:
        """How far the verifier trails the newest frame, in stream seconds."""
        return max(0.0, self.submitted_time - self.done_time)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                face, time = self._queue.popleft()
            try:
                status = self._verifier.push(face, time)
            except Exception as exc:  # noqa: BLE001 - any failure must block, not kill silently
                self.failure = f"{type(exc).__name__}: {exc}"
                return
            self.state, self.score, self.done_time = status.state, status.score, time

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=5)


class Pipeline:
    """Camera frames -> guarded avatar frames; call ``process`` from one thread.

    ``avatar=None`` passes the input frame through (the receiver side, which checks an avatar
    stream it did not make). ``verifier=None`` means nothing checks the stream yet (for example
    while enrolling): the guard marks every frame with ``waiting`` and never passes it clean.
    """

    def __init__(self, avatar: AvatarEngine | None, verifier: StreamingVerifier | None,
                 guard: GuardConfig | None = None,
                 on_event: Callable[[LiveEvent], None] | None = None,
                 on_face: Callable[[FaceLandmarks, float], None] | None = None,
                 waiting: str = "not enrolled") -> None:
        self.avatar, self.guard = avatar, guard or GuardConfig()
        self.on_event, self.on_face, self.waiting = on_event, on_face, waiting
        self._extractor: LandmarkExtractor | None = LandmarkExtractor()
        self._worker = VerifierWorker(verifier) if verifier is not None else None
        self._last_face: float | None = None
        self._calibrate = False
        self._previous: tuple[State, Action] | None = None

    def set_verifier(self, verifier: StreamingVerifier) -> None:
        """Start checking with ``verifier`` (from any thread; e.g. when enrollment finished)."""
        old, self._worker = self._worker, VerifierWorker(verifier)
        if old is not None:
            old.close()

    def recalibrate(self) -> None:
        """Take the next frame with a face as the avatar's neutral pose."""
        self._calibrate = True

    def process(self, rgb: np.ndarray, time: float) -> LiveFrame:
        """The guarded output for one RGB frame taken at ``time`` stream seconds."""
        face = self._extractor.process(rgb)
        if self._last_face is None or face.found:
            self._last_face = time
        if self.on_face is not None:
            self.on_face(face, time)
        worker = self._worker
        if worker is not None:
            worker.submit(face, time)
        if self.avatar is None:
            image = rgb.copy()
        else:
            if self._calibrate and face.found:
                self.avatar.calibrate(rgb, face)
                self._calibrate = False
            image = self.avatar.render(rgb, face).image.copy()  # held frames are shared
        if worker is None:
            state, score, lag = State.WARMING_UP, None, 0.0
            decision = decide(self.guard, state)
            if decision.action is Action.MARK:
                decision = Decision(Action.MARK, self.waiting)
        else:
            state, score, lag = worker.state, worker.score, worker.lag()
            decision = decide(self.guard, state, no_face_for=time - self._last_face, lag=lag,
                              failure=worker.failure, faces=face.num_faces)
        draw(image, decision)
        event = self._event(time, state, score, decision)
        return LiveFrame(image, face, state, score, decision, lag, event)

    def _event(self, time: float, state: State, score: float | None,
               decision: Decision) -> LiveEvent | None:
        key = (state, decision.action)
        if key == self._previous:
            return None
        previous = self._previous[0] if self._previous else None
        self._previous = key
        event = LiveEvent(time, state, previous, score, decision.action, decision.reason)
        if self.on_event is not None:
            self.on_event(event)
        return event

    def close(self) -> None:
        """Stop the verifier thread and MediaPipe; a second call does nothing."""
        if self._extractor is None:
            return
        if self._worker is not None:
            self._worker.close()
        self._extractor.close()
        self._extractor = None
