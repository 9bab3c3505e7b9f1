"""The sliding-window verifier: push one frame's landmarks, get the state.

Every ``stride`` frames (on the uniform ``fps`` grid) the last ``window`` frames of motion are
embedded and scored against the enrollment. The state follows the median of the last few window
scores, so one odd window does not change it, and MISMATCH needs several bad windows in a row.
Frames that come late or out of order are dropped. A gap in the frames longer than
``no_face_after``, or a jump to another face (the driver's face moves by more than its own width,
or changes size twice over, from one frame to the next), restarts the motion: no window spans it,
and a VERIFIED or SUSPECT state goes back to WARMING_UP (MISMATCH stays), so no verdict carries
over to whoever is there after it.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .embedder import Embedder
from .enrollment import Enrollment
from .errors import EnrollmentError
from .features import NUM_CHANNELS, frame_features, resample, window_features
from .landmarks import FaceLandmarks


class State(enum.StrEnum):
    NO_FACE = "NO_FACE"
    WARMING_UP = "WARMING_UP"
    VERIFIED = "VERIFIED"
    SUSPECT = "SUSPECT"
    MISMATCH = "MISMATCH"


@dataclass(frozen=True)
class Event:
    """A state change: when (stream seconds), to what, from what, and the smoothed score."""

    time: float
    state: State
    previous: State
    score: float | None


@dataclass(frozen=True)
class Status:
    state: State
    score: float | None  # smoothed score of the latest windows; None before the first
    num_faces: int
    event: Event | None  # set on the push that changed the state


@dataclass
class VerifierConfig:
    threshold: float | None = None  # None: the model card's operating threshold
    window: int | None = None  # frames at the model's fps; None: the model's own
    stride: int | None = None
    # Chosen on the cross-validation folds' takeover streams (benchmarks/verifier_tuning.py):
    # fewer false MISMATCH than shorter runs, still well under 3 s to catch a takeover.
    smooth: int = 3  # median over this many window scores
    mismatch_after: int = 10  # bad smoothed scores in a row before MISMATCH (2 s at the stride)
    recover_after: int = 5  # good smoothed scores in a row to leave MISMATCH
    no_face_after: float = 0.5  # seconds without a face before NO_FACE


class Hysteresis:
    """Window scores -> state: a median over the last few, then runs of good or bad.

    One odd window cannot move the median; MISMATCH needs ``mismatch_after`` bad
    smoothed scores in a row, and leaving it needs ``recover_after`` good ones.
    """

    def __init__(self, threshold: float, cfg: VerifierConfig) -> None:
        self.threshold, self.cfg = threshold, cfg
        self._recent: deque[float] = deque(maxlen=cfg.smooth)
        self._good = self._bad = 0

    def update(self, score: float, state: State) -> tuple[State, float]:
        """The state after one more window score, and the smoothed score."""
        self._recent.append(score)
        smoothed = float(np.median(self._recent))
        good = smoothed >= self.threshold
        self._good = self._good + 1 if good else 0
        self._bad = 0 if good else self._bad + 1
        if state is State.MISMATCH:
            return (State.VERIFIED if self._good >= self.cfg.recover_after else state), smoothed
        if good:
            return State.VERIFIED, smoothed
        return (State.MISMATCH if self._bad >= self.cfg.mismatch_after else State.SUSPECT), smoothed


class StreamingVerifier:
    """Scores a live stream of landmarks against one enrollment; not thread-safe."""

    def __init__(self, enrollment: Enrollment, embedder: Embedder,
                 config: VerifierConfig | None = None,
                 on_event: Callable[[Event], None] | None = None) -> None:
        info = embedder.info
        if enrollment.model_id != info.model_id:
            raise EnrollmentError(
                "the enrollment was made with another motion model; enroll again.")
        self.cfg = cfg = config or VerifierConfig()
        self.enrollment, self.embedder, self.on_event = enrollment, embedder, on_event
        self.threshold = cfg.threshold if cfg.threshold is not None else info.threshold
        self.window = cfg.window or info.window
        self.step = (cfg.stride or info.stride) / info.fps
        self.fps = info.fps
        self._offsets = (np.arange(self.window) - (self.window - 1)) / info.fps
        cap = self.window * 10  # half of it still spans a window at 4x the model fps
        self._times = np.zeros(cap)
        self._feats = np.zeros((cap, NUM_CHANNELS), np.float32)
        self.state = State.WARMING_UP
        self._reset_motion()
        self._last_face = self._last_time = -np.inf
        self._last_box: np.ndarray | None = None  # centre x, y and width of the last face
        # (time, raw window score) of the last ~20 minutes, for timelines; bounded for long calls
        self.scores: deque[tuple[float, float]] = deque(maxlen=6000)

    def _reset_motion(self) -> None:
        self._n = 0
        self._next_eval = -np.inf
        self._hysteresis = Hysteresis(self.threshold, self.cfg)
        self._score: float | None = None

    def push(self, face: FaceLandmarks, time: float) -> Status:
        """Add one frame (landmarks and its time in seconds); returns the state after it."""
        event = None
        if time <= self._last_time:
            return Status(self.state, self._score, face.num_faces, None)  # late or repeated
        gap, self._last_time = time - self._last_time, time
        if face.found:
            box = _box(face)
            if gap > self.cfg.no_face_after or _jumped(self._last_box, box):
                event = self._restart(time)
            self._last_face, self._last_box = time, box
            self._append(time, frame_features(face.points[None])[0])
            if self.state is State.NO_FACE:
                event = self._set(State.WARMING_UP, time)
            if time >= self._next_eval and self._covered(time):
                self._next_eval = time + self.step - 1e-6
                event = self._score_window(time) or event
        elif time - self._last_face > self.cfg.no_face_after and self.state is not State.NO_FACE:
            self._reset_motion()
            event = self._set(State.NO_FACE, time)
        return Status(self.state, self._score, face.num_faces, event)

    def _restart(self, time: float) -> Event | None:
        self._reset_motion()
        if self.state in (State.VERIFIED, State.SUSPECT):
            return self._set(State.WARMING_UP, time)
        return None

    def _append(self, time: float, feats: np.ndarray) -> None:
        cap = len(self._times)
        if self._n == cap:  # keep the newer half: the window needs far less than cap frames
            half = cap // 2
            self._times[:half] = self._times[half:]
            self._feats[:half] = self._feats[half:]
            self._n = half
        self._times[self._n] = time
        self._feats[self._n] = feats
        self._n += 1

    def _covered(self, time: float) -> bool:
        return self._n >= 2 and self._times[0] <= time + self._offsets[0] + 1e-6

    def _score_window(self, time: float) -> Event | None:
        n = self._n
        frames = resample(self._times[:n], self._feats[:n], grid=time + self._offsets)
        if np.isnan(frames).any():
            return None
        emb = self.embedder.embed(window_features(frames)[None])
        raw = float(self.enrollment.score_samples(emb)[0])
        self.scores.append((time, raw))
        new, self._score = self._hysteresis.update(raw, self.state)
        return self._set(new, time) if new is not self.state else None

    def _set(self, state: State, time: float) -> Event:
        event = Event(time, state, self.state, self._score)
        self.state = state
        if self.on_event is not None:
            self.on_event(event)
        return event


def _box(face: FaceLandmarks) -> np.ndarray:
    """Centre x, y and width of the face's bounding box, in frame widths and heights.

    Relative to the frame, so that a change of resolution (a call adapting to its bandwidth)
    is not taken for another face.
    """
    size = np.array([face.width, face.height])
    low, high = face.points[:, :2].min(axis=0) / size, face.points[:, :2].max(axis=0) / size
    return np.array([*(low + high) / 2, high[0] - low[0]])


def _jumped(before: np.ndarray | None, now: np.ndarray) -> bool:
    """Another face, not the same one moving: it moved its own width or changed size 2x."""
    if before is None:
        return False
    moved = np.hypot(*(now[:2] - before[:2])) > before[2]
    return bool(moved or not 0.5 < now[2] / max(before[2], 1e-6) < 2)
