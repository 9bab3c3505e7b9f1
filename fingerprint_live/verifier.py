"""The streaming verifier: push one frame's landmarks (and, on the camera side, face
descriptors), get the state.

Motion: every ``stride`` steps of the uniform ``fps`` grid (anchored at the run's first frame,
:mod:`.windows`) the window that just ended is embedded, scored against the enrollment (a
cosine; for a model of several branches, the view's mix of theirs) and turned into a
log-likelihood ratio by the motion model's calibration. The same window says whether the face
moved as a live face does (:func:`.expression.activity`). Appearance: each face descriptor
handed to ``add_appearance`` is scored by its distance to the enrolled face, through the
descriptor's calibration. The :class:`.decision.SequentialDecision` weighs the evidence as it
accumulates.

Frames that come late or out of order are dropped. A gap in the frames longer than
``no_face_after``, or a jump to another face, restarts the run: no window spans it, the evidence
starts again, and a VERIFIED or SUSPECT state goes back to WARMING_UP (MISMATCH stays), so no
verdict carries over to whoever is there after it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .decision import DecisionConfig, SequentialDecision, Signal, State
from .embedder import Embedder
from .enrollment import Enrollment
from .errors import EnrollmentError
from .events import Event
from .expression import activity, measures
from .face_descriptor import DescriptorInfo
from .features import frame_features, resample
from .growth import CallHarvest
from .landmarks import FaceLandmarks, jumped
from .windows import grid, window_at

__all__ = ["LANDMARK_EVERY", "RECEIVER_SETTINGS", "SIGNAL_SETS", "Event", "Signal", "State",
           "Status", "StreamingVerifier", "VerifierConfig"]

#: A window whose expression activity reaches this counts as live motion: about twice the
#: largest activity MediaPipe gives a still photo moved by a few pixels (0.031 on ten stills);
#: most windows of real talking reach it (BENCHMARKS.md).
LIVE_ACTIVITY = 0.06

#: The decision settings chosen on held-out takeover streams (benchmarks/verifier_tuning.py):
#: for the camera side, where motion and appearance are fused, and for motion alone.
#: The signal sets a user can name (``--signals``), and what each weighs.
SIGNAL_SETS = {"motion": (Signal.MOTION,), "appearance": (Signal.APPEARANCE,),
               "fused": (Signal.MOTION, Signal.APPEARANCE)}

DECISIONS = {
    (Signal.MOTION, Signal.APPEARANCE): DecisionConfig(
        accept=1.0, reject=4.0, motion_weight=0.1, motion_bounds=(-4.0, 2.0),
        appearance_bounds=(-8.0, 4.0), motion_floor=1.0),
    (Signal.MOTION,): DecisionConfig(accept=0.5, reject=4.0, motion_weight=0.2,
                                     motion_bounds=(-4.0, 4.0), motion_floor=0.5),
    (Signal.APPEARANCE,): DecisionConfig(accept=1.0, reject=4.0, appearance_bounds=(-8.0, 4.0)),
}

#: The receiver's settings (motion alone, through the avatar), chosen by name: ``quick``
#: decides within seconds and errs more often; ``patient`` weighs the evidence over a longer
#: span, for a receiver (a moderator, a meeting service) that can wait for a verdict it can
#: act on. Chosen on held-out takeover streams (benchmarks/verifier_tuning.py); ``patient`` on
#: streams whose other person lasts 30 s, with landmarks on one frame in 2, as the receiver
#: runs. It counts one window at most 2 nats either way (``motion_cap``): on unseen people
#: the calibration's sure windows are not sure enough to carry a verdict alone.
RECEIVER_SETTINGS = {
    "quick": DECISIONS[(Signal.MOTION,)],
    "patient": DecisionConfig(accept=0.5, reject=10.0, motion_weight=0.2,
                              motion_bounds=(-12.0, 4.0), motion_floor=0.5, motion_cap=2.0),
}

#: The receiver (``VerifyTrack``, the pool) finds landmarks on one frame in this many. One in
#: two: the motion model, trained on frame rates thinned to 15-30 fps (``--vary``), tells people
#: apart about as well at 12.5 fps as at 25 (AUC -0.004, its paired interval across zero), and a
#: core makes half the landmark passes per stream (BENCHMARKS.md, the receiver's density). A
#: pool may still choose 1 (``worker --landmark-every``).
LANDMARK_EVERY = 2


@dataclass(frozen=True)
class Status:
    state: State
    score: float | None  # the summed evidence (nats); None before the first observation
    num_faces: int
    event: Event | None  # set on the push that changed the state


@dataclass(frozen=True)
class VerifierConfig:
    #: The cosine at which a motion window counts as neither for nor against (None: the
    #: motion model's calibration); moving it shifts the calibration.
    threshold: float | None = None
    window: int | None = None  # frames at the model's fps; None: the model's own
    stride: int | None = None
    #: What the stream shows: ``camera`` (the driver's real face) or ``avatar`` (an avatar
    #: rendering of it); it picks the motion model's calibration.
    view: str = "camera"
    #: The signals weighed (None: motion and appearance when both are at hand, else motion).
    signals: tuple[Signal, ...] | None = None
    decision: DecisionConfig | None = None  # None: DECISIONS' setting for the signals
    #: A receiver's setting by name (``RECEIVER_SETTINGS``; motion alone), instead of numbers.
    setting: str | None = None
    no_face_after: float = 0.5  # seconds without a face before NO_FACE


class StreamingVerifier:
    """Scores a live stream against one enrollment; not thread-safe.

    With ``appearance`` (the face descriptor's card), the appearance signal is fused with
    motion (the camera side; the enrollment must hold face descriptors); without it the
    verifier weighs motion alone (the receiver side, which sees only the avatar).
    ``config.signals`` can narrow that to one signal, for evaluation. With ``harvest`` (the
    camera side), every scored motion window goes to it with the decision after it, so that a
    call verified with a clear margin can grow the enrollment (:mod:`.growth`).
    """

    def __init__(self, enrollment: Enrollment, embedder: Embedder,
                 config: VerifierConfig | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 appearance: DescriptorInfo | None = None,
                 harvest: CallHarvest | None = None) -> None:
        info = embedder.info
        self.cfg = cfg = config or VerifierConfig()
        if appearance is not None and enrollment.appearance is None:
            raise EnrollmentError(enrollment.no_face())
        self.signals = cfg.signals or ((Signal.MOTION,) if appearance is None
                                       else (Signal.MOTION, Signal.APPEARANCE))
        if Signal.APPEARANCE in self.signals and appearance is None:
            raise ValueError("the appearance signal needs the face descriptor's card")
        uses_face = Signal.APPEARANCE in self.signals
        enrollment.check_models(info.model_id, appearance.model_id if uses_face else None,
                                (info.dimension, appearance.dimension if uses_face else 0),
                                info.view_id("avatar") if cfg.view == "avatar" else None)
        self.enrollment, self.embedder, self.on_event = enrollment, embedder, on_event
        self.harvest = harvest
        if cfg.setting is not None and (cfg.setting not in RECEIVER_SETTINGS
                                        or self.signals != (Signal.MOTION,)):
            raise ValueError(f"no receiver setting {cfg.setting!r} for {self.signals}: name "
                             f"one of {', '.join(RECEIVER_SETTINGS)}, with motion alone")
        self.decision_config = (cfg.decision or RECEIVER_SETTINGS.get(cfg.setting)
                                or DECISIONS[self.signals])
        self.motion_llr = info.calibration(cfg.view).centred(cfg.threshold)
        self.mix = info.mix(cfg.view)
        self.threshold = self.motion_llr.neutral
        self.appearance = appearance if uses_face else None
        self.appearance_llr = appearance.calibration if uses_face else None
        self._motion = Signal.MOTION in self.signals
        self.window = cfg.window or info.window
        self.stride = cfg.stride or info.stride
        cap = self.window * 10  # half of it still spans a window at 4x the model fps
        self._times = np.zeros(cap)
        self.features = info.features
        self._feats = np.zeros((cap, info.features.frame_channels), np.float32)
        self._expr = np.zeros((cap, 4), np.float32)
        self._whole = np.zeros(cap, bool)  # rows with no NaN in their features or measures
        self._decision = SequentialDecision(self.decision_config, self.signals)
        self._reset_motion()
        self._last_face = self._last_time = -np.inf
        self._last_box: np.ndarray | None = None
        self._run_start = -np.inf  # descriptors of frames before it belong to another run
        #: What the decision was told, ``(time, kind, value, raw score)``: see
        #: ``SequentialDecision.apply``. The last ~20 minutes, for timelines and replays.
        self.observations: deque[tuple[float, str, float, float]] = deque(maxlen=12000)

    @property
    def state(self) -> State:
        return self._decision.state

    @property
    def score(self) -> float | None:
        """The summed evidence (nats) the state follows; None before the run's first."""
        return self._decision.score

    def _reset_motion(self) -> None:
        self._n = 0
        self._pending: list[np.ndarray] = []  # landmarks of the newest rows, not yet featurized
        self._anchor: float | None = None  # the run's first frame: its windows' grid
        self._k = 0  # the next window of the run

    def push(self, face: FaceLandmarks, time: float) -> Status:
        """Add one frame (landmarks and its time in seconds); returns the state after it."""
        event = None
        if time <= self._last_time:
            return Status(self.state, self.score, face.num_faces, None)  # late or repeated
        gap, self._last_time = time - self._last_time, time
        if face.found:
            box = face.box()
            if gap > self.cfg.no_face_after or jumped(self._last_box, box):
                event = self._restart(time)
            self._last_face, self._last_box = time, box
            self._append(time, face.points)
            if self.state is State.NO_FACE:
                event = self._apply(time, "found", Signal.FACE)
            if self._motion:
                event = self._score_windows(time) or event
        elif time - self._last_face > self.cfg.no_face_after and self.state is not State.NO_FACE:
            self._reset_motion()
            self._run_start = time
            event = self._apply(time, "lost", Signal.FACE)
        return Status(self.state, self.score, face.num_faces, event)

    def add_appearance(self, descriptor: np.ndarray, time: float) -> Status:
        """One face descriptor of the frame at stream ``time`` (it may come a little late)."""
        event = None
        if self.appearance_llr is not None and time >= self._run_start:
            distance = float(self.enrollment.appearance_distances(descriptor)[0])
            event = self._apply(max(time, self._last_time), Signal.APPEARANCE,
                                Signal.APPEARANCE, float(self.appearance_llr.llr(distance)),
                                distance)
        return Status(self.state, self.score, 1, event)

    def _restart(self, time: float) -> Event | None:
        self._reset_motion()
        self._run_start = time
        return self._apply(time, "restart", Signal.FACE)

    def _append(self, time: float, points: np.ndarray) -> None:
        if self._anchor is None:
            self._anchor = time
        cap = len(self._times)
        if self._n == cap:  # keep the newer half: the window needs far less than cap frames
            self._featurize()
            half = cap // 2
            for buf in (self._times, self._feats, self._expr, self._whole):
                buf[:half] = buf[half:]
            self._n = half
        self._times[self._n] = time
        self._pending.append(points)
        self._n += 1

    def _featurize(self) -> None:
        """The motion features and expression measures of the frames appended since the last
        call, in one batch: on one face at a time, numpy's per-call overhead cost more than
        the arithmetic (about 1 ms a frame; the verifier's largest cost after the embedder)."""
        if self._pending:
            points = np.stack(self._pending)
            rows = slice(self._n - len(points), self._n)
            feats = self._feats[rows] = frame_features(points, self.features)
            expr = self._expr[rows] = measures(points)
            self._whole[rows] = ~(np.isnan(feats).any(axis=1) | np.isnan(expr).any(axis=1))
            self._pending.clear()

    def _rows(self, first: float, last: float) -> slice:
        """The rows a window with grid times from ``first`` to ``last`` is resampled from:
        from the second whole row before ``first`` to the second at or after ``last``, or the
        run's edge. Resampling reads only a grid time's whole neighbours (or, past the edge,
        the first or last two), so these rows give what all of them do, at a tenth of the
        copying."""
        whole = np.flatnonzero(self._whole[:self._n])
        times = self._times[whole]
        before = np.searchsorted(times, first) - 2
        after = np.searchsorted(times, last) + 1
        return slice(whole[before] if before >= 0 else 0,
                     whole[after] + 1 if after < len(whole) else self._n)

    def _score_windows(self, time: float) -> Event | None:
        """Score every window whose last grid point ``time`` has reached."""
        event = None
        while (end := grid(self._anchor, self._k * self.stride + self.window - 1, 1)[0]) <= time:
            event = self._score_window(self._k, float(end)) or event
            self._k += 1
        return event

    def _score_window(self, k: int, end: float) -> Event | None:
        self._featurize()
        at = grid(self._anchor, k * self.stride, self.window)
        rows = self._rows(float(at[0]), float(at[-1]))
        times = self._times[rows]
        window = window_at(times, self._feats[rows], self._anchor, k, self.window, self.stride,
                           self.features)
        if window is None:
            return None
        embedding = self.embedder.embed(window[None], self.cfg.view)
        raw = float(self.enrollment.motion_scores(embedding, self.mix, self.cfg.view)[0])
        event = self._apply(end, Signal.MOTION, Signal.MOTION,
                            float(self.motion_llr.llr(raw)), raw)
        if self.harvest is not None:
            self.harvest.observe(embedding[0], self._decision)
        live = activity(resample(times, self._expr[rows], at))
        if live >= LIVE_ACTIVITY:
            event = self._apply(end, "live", Signal.LIVENESS, raw=live) or event
        return event

    def _apply(self, time: float, kind: str, signal: Signal, value: float = 0.0,
               raw: float = 0.0) -> Event | None:
        """Tell the decision (and the log) one thing; the event if the state changed."""
        self.observations.append((time, str(kind), value, raw))
        return self._event(time, signal) if self._decision.apply(kind, value, time) else None

    def _event(self, time: float, signal: Signal) -> Event:
        event = Event(time, self.state, self._decision.previous, self.score, signal)
        if self.harvest is not None:
            self.harvest.note(self.state)
        if self.on_event is not None:
            self.on_event(event)
        return event
