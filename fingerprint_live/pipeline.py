"""The live pipeline: one camera frame in, one guarded avatar frame out.

Per frame, one MediaPipe pass gives the landmarks that both the avatar and the verifier use.
The avatar renders on the caller's thread; the verifier runs beside it in a worker thread fed by
a small drop-oldest queue, so a slow embedding never delays a frame. The guard then reads the
worker's latest state: a worker that raised, or that trails the frames by more than
``GuardConfig.max_lag`` seconds of stream time, counts as a bad state (fail closed).

A second worker checks every few avatar frames for a glitch (:mod:`.glitch`) with its own
MediaPipe pass, also off the frame path; the driver's head pose is checked on the frame path
(a few arithmetic operations) and warns the user when it leaves the avatar's good range (the
sender only: a receiver has no driver of its own to warn).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .appearance import CheckSchedule, DescriptorProcess
from .avatar.base import AvatarEngine
from .decision import Signal
from .events import Event
from .face_descriptor import DescriptorInfo, face_crop
from .glitch import FailureWindow, GlitchDetector
from .guard import Action, Decision, GuardConfig, Policy, decide, draw
from .landmarks import MAX_FACES, FaceLandmarks, LandmarkExtractor
from .pose_warning import PoseMonitor
from .verifier import State, StreamingVerifier
from .worker import QueueWorker

#: Frames the verifier may have waiting; older ones are dropped (about 0.6 s at 25 fps).
QUEUE_FRAMES = 16
#: Every this many avatar frames one is checked for a glitch (about 8 a second at 25 fps).
GLITCH_EVERY = 3


@dataclass(frozen=True)
class LiveFrame:
    image: np.ndarray | None  # the guarded output, RGB uint8: what the far side sees (None:
    # a receiver's frame passed on as it came, see ``Pipeline.process``)
    face: FaceLandmarks
    state: State
    score: float | None  # the evidence (nats) the state follows, compared with ``bounds``
    decision: Decision
    lag: float  # stream seconds the verifier trails this frame
    event: Event | None  # set on the frame where state or action changed
    glitch: str | None = None  # why the avatar check flags the avatar, if it does
    warning: str | None = None  # the pose warning for the driver's own preview, if any
    #: The evidence at which the state becomes VERIFIED and MISMATCH (None: no verifier yet).
    bounds: tuple[float, float] | None = None


class VerifierWorker:
    """Owns a :class:`StreamingVerifier` on its own thread; frames go in through ``submit``,
    face descriptors through ``submit_descriptor``."""

    def __init__(self, verifier: StreamingVerifier, maxlen: int = QUEUE_FRAMES) -> None:
        self._verifier = verifier
        self.uses_appearance = Signal.APPEARANCE in verifier.signals
        cfg = verifier.decision_config
        self.bounds = (cfg.accept, -cfg.reject)
        self.state: State = verifier.state
        self.score: float | None = None
        self.signal: Signal | None = None  # what moved the state last
        self.done_time = -np.inf  # stream time of the last frame pushed
        self.submitted_time = -np.inf
        self._worker: QueueWorker[tuple[bool, object, float]] = QueueWorker(
            self._push, maxlen, "verifier")

    def submit(self, face: FaceLandmarks, time: float) -> None:
        self.submitted_time = time
        if self.done_time == -np.inf:  # not behind the frames it starts with
            self.done_time = time
        self._worker.submit((True, face, time))

    def submit_descriptor(self, vector: np.ndarray, time: float) -> None:
        """A face descriptor of the frame at stream ``time`` (from the descriptor process)."""
        if self.uses_appearance:
            self._worker.submit((False, vector, time))

    @property
    def failure(self) -> str | None:
        return self._worker.failure

    @property
    def dropped(self) -> int:
        return self._worker.dropped

    def lag(self) -> float:
        """How far the verifier trails the newest frame, in stream seconds."""
        return max(0.0, self.submitted_time - self.done_time)

    def _push(self, item: tuple[bool, object, float]) -> None:
        is_frame, value, time = item
        if is_frame:
            status = self._verifier.push(value, time)
            self.done_time = time
        else:
            status = self._verifier.add_appearance(value, time)
        self.state, self.score = status.state, status.score
        if status.event is not None:
            self.signal = status.event.signal

    def close(self) -> None:
        self._worker.close()


class GlitchWorker:
    """Checks every ``every``-th avatar frame for a glitch on its own thread.

    The sender hands in the rendered image (its face is found here, off the frame path); the
    receiver, whose input is the avatar, hands in the landmarks it already has.
    """

    def __init__(self, detector: GlitchDetector, every: int = GLITCH_EVERY) -> None:
        self.detector, self.every = detector, every
        self.window = FailureWindow()
        self._extractor: LandmarkExtractor | None = None  # made on the worker thread
        self._seen = 0
        self._last = -np.inf  # stream time of the newest check
        self._worker: QueueWorker[tuple[float, np.ndarray | None, FaceLandmarks | None]] = (
            QueueWorker(self._check, 1, "avatar-check"))

    def submit(self, time: float, image: np.ndarray | None = None,
               face: FaceLandmarks | None = None) -> None:
        """Offer one avatar frame (its ``image`` is copied only when it is checked)."""
        self._seen += 1
        if self._seen % self.every == 0:
            self._worker.submit((time, None if image is None else image.copy(), face))

    def reason(self, time: float) -> str | None:
        """Why the avatar is bad at ``time``, or None; a stale window (no face) does not flag."""
        if self._worker.failure is not None:
            return f"avatar check failed: {self._worker.failure}"
        fresh = time - self._last < self.window.seconds
        return "avatar glitch" if fresh and self.window.flagged else None

    def _check(self, item: tuple[float, np.ndarray | None, FaceLandmarks | None]) -> None:
        time, image, face = item
        if face is None:
            if self._extractor is None:
                self._extractor = LandmarkExtractor()
            face = self._extractor.process(image)
        self.window.add(time, self.detector.failed(face))
        self._last = time

    def close(self) -> None:
        self._worker.close()
        if self._extractor is not None:
            self._extractor.close()


class Pipeline:
    """Camera frames -> guarded avatar frames; one ``process`` call at a time (not thread-safe).

    ``avatar=None`` passes the input frame through (the receiver side, which checks an avatar
    stream it did not make). ``verifier=None`` means nothing checks the stream yet (for example
    while enrolling): unless the policy is OFF, every frame carries a banner that says
    ``waiting``, so none goes out as if it had been checked.
    Unless the policy or ``guard.on_glitch`` is OFF, the avatar output is checked for glitches
    by ``detector`` (default: the shipped one) beside the frame path. An avatar that takes a
    neutral face (``set_neutral``, the default avatar) gets the verifier's enrolled one.

    ``max_faces``: how many faces MediaPipe looks for (1 for a stream that shows one face by
    construction, the receiver's avatar). ``landmark_every`` > 1 (the receiver only,
    ``avatar=None``): landmarks are found on one frame in that many; the frames between pass
    as they came, and the verifier's windows are resampled from the frames it has (the motion
    model's grid is 25 fps; a face is interpolated over gaps up to 0.25 s), so a receiver
    checks more streams per core.

    When the verifier weighs appearance, or ``faces`` (the face descriptor's card) is given,
    the driver's face is described on the frames :class:`.appearance.CheckSchedule` picks, in
    a :class:`.appearance.DescriptorProcess`; each descriptor goes to the verifier and to
    ``on_descriptor`` (an enrollment being recorded).
    """

    def __init__(self, avatar: AvatarEngine | None, verifier: StreamingVerifier | None,
                 guard: GuardConfig | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 on_face: Callable[[FaceLandmarks, float], None] | None = None,
                 waiting: str = "not enrolled", detector: GlitchDetector | None = None,
                 faces: DescriptorInfo | None = None,
                 on_descriptor: Callable[[np.ndarray, float], None] | None = None,
                 landmark_every: int = 1, max_faces: int = MAX_FACES) -> None:
        if landmark_every < 1 or (landmark_every > 1 and avatar is not None):
            raise ValueError("landmark_every > 1 is for the receiver (no avatar), and >= 1")
        self.avatar, self.guard = avatar, guard or GuardConfig()
        self.landmark_every, self._frames = landmark_every, 0
        self._face = FaceLandmarks(None, 0, 0, 0)  # the newest landmark pass
        self.on_event, self.on_face, self.waiting = on_event, on_face, waiting
        self.on_descriptor = on_descriptor
        self._extractor: LandmarkExtractor | None = LandmarkExtractor(max_faces=max_faces)
        self._worker = VerifierWorker(verifier) if verifier is not None else None
        faces = faces or (verifier.appearance if verifier is not None else None)
        self._schedule = CheckSchedule()
        self.descriptor_process = (DescriptorProcess(self._described, faces.folder)
                                   if faces is not None else None)
        checked = Policy.OFF not in (self.guard.policy, self.guard.on_glitch)
        self._glitch = GlitchWorker(detector or GlitchDetector.load()) if checked else None
        self._pose = PoseMonitor() if avatar is not None else None  # for a driver's preview
        self._last_face: float | None = None
        self._verified_at: float | None = None  # the newest VERIFIED frame (or the start)
        self._calibrate = False
        self._neutral = None if verifier is None else verifier.enrollment.neutral
        self._previous: tuple | None = None

    def set_verifier(self, verifier: StreamingVerifier) -> None:
        """Start checking with ``verifier`` (from any thread; e.g. when enrollment finished).

        A verifier that weighs appearance needs the pipeline made with ``faces``.
        """
        if Signal.APPEARANCE in verifier.signals and self.descriptor_process is None:
            raise ValueError("this pipeline describes no faces: make it with faces=...")
        old, self._worker = self._worker, VerifierWorker(verifier)
        self._verified_at = None  # the unverified grace starts again
        self._neutral = verifier.enrollment.neutral  # handed over on the frame thread
        if old is not None:
            old.close()

    def _described(self, vector: np.ndarray, time: float) -> None:
        """A descriptor came back (on the descriptor's reply thread)."""
        if self.on_descriptor is not None:
            self.on_descriptor(vector, time)
        worker = self._worker
        if worker is not None:
            worker.submit_descriptor(vector, time)

    def recalibrate(self) -> None:
        """Take the next frame with a face as the avatar's neutral pose."""
        self._calibrate = True

    @property
    def looks_next(self) -> bool:
        """Whether the next frame gets a landmark pass (else, on the receiver, its pixels are
        not needed unless the guard draws on them)."""
        return self._frames % self.landmark_every == 0

    def process(self, rgb: np.ndarray | None, time: float) -> LiveFrame:
        """The guarded output for one RGB frame taken at ``time`` stream seconds.

        A receiver whose guard never draws (policy OFF) may pass ``None`` for a frame that gets
        no landmark pass (``looks_next`` False): its verdict comes without pixels, and the
        output image is then None (the caller sends the frame as it came).
        """
        looked = self.looks_next
        self._frames += 1
        worker = self._worker
        if looked:
            face = self._face = self._extractor.process(rgb)
            if self._last_face is None or face.found:
                self._last_face = time
            if self.on_face is not None:
                self.on_face(face, time)
            if worker is not None:
                worker.submit(face, time)
        else:  # the receiver's frame between landmark passes: the newest one stands
            face = self._face
        if looked and self.descriptor_process is not None and self._schedule.due(face, time):
            self.descriptor_process.submit(face_crop(rgb, face), time)
        if rgb is None:
            if looked or self.avatar is not None or self.guard.policy is not Policy.OFF:
                raise ValueError("only a receiver with policy OFF may skip the pixels of a "
                                 "frame without a landmark pass")
            image = None
        elif self.avatar is None:
            image = rgb.copy()
        else:
            neutral, self._neutral = self._neutral, None
            set_neutral = getattr(self.avatar, "set_neutral", None)  # not every engine has one
            if neutral is not None and set_neutral is not None:
                set_neutral(neutral)
            if self._calibrate and face.found:
                self.avatar.calibrate(rgb, face)
                self._calibrate = False
            image = self.avatar.render(rgb, face).image.copy()  # held frames are shared
        glitch = self._check_avatar(image, face, time, looked)
        warning = self._pose.update(face) if self._pose is not None else None
        if worker is None:
            state, score, lag = State.WARMING_UP, None, 0.0
            decision = decide(self.guard, state, glitch=glitch)
            if decision.action is Action.PASS and self.guard.policy is not Policy.OFF:
                decision = Decision(Action.FLAG, self.waiting, self.waiting)
        else:
            state, score, lag = worker.state, worker.score, worker.lag()
            if self._verified_at is None or state is State.VERIFIED:
                self._verified_at = time
            decision = decide(self.guard, state, no_face_for=time - self._last_face,
                              unverified_for=time - self._verified_at, lag=lag,
                              failure=self._failure(worker), faces=face.num_faces,
                              glitch=glitch)
        if image is not None:
            draw(image, decision)
        signal = worker.signal if worker is not None else None
        event = self._event(time, state, score, decision, glitch, warning, signal)
        return LiveFrame(image, face, state, score, decision, lag, event, glitch, warning,
                         worker.bounds if worker is not None else None)

    def _failure(self, worker: VerifierWorker) -> str | None:
        """Why the verdict cannot be trusted: the verifier or the face check has failed."""
        if worker.failure is not None:
            return worker.failure
        if worker.uses_appearance and self.descriptor_process.failure is not None:
            return f"face check: {self.descriptor_process.failure}"
        return None

    def _check_avatar(self, image: np.ndarray, face: FaceLandmarks, time: float,
                      looked: bool) -> str | None:
        """Hand the avatar frame to the glitch check (if its landmarks were found on it); its
        current reason, if it flags.

        Frames without a driver face are not offered: the avatar only holds its last frame
        then, and the missing face is the verifier's NO_FACE, not a glitch.
        """
        if self._glitch is None:
            return None
        if face.found and looked:
            if self.avatar is None:
                self._glitch.submit(time, face=face)
            else:
                self._glitch.submit(time, image=image)
        return self._glitch.reason(time)

    def _event(self, time: float, state: State, score: float | None, decision: Decision,
               glitch: str | None, warning: str | None,
               signal: Signal | None) -> Event | None:
        key = (state, decision.action, decision.note, glitch is not None, warning)
        if key == self._previous:
            return None
        previous = self._previous[0] if self._previous else None
        self._previous = key
        event = Event(time, state, previous, score, signal, decision.action, decision.reason,
                      decision.note, glitch is not None, warning or "")
        if self.on_event is not None:
            self.on_event(event)
        return event

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker threads, the descriptor process and MediaPipe; a second call does
        nothing."""
        if self._extractor is None:
            return
        if self._worker is not None:
            self._worker.close()
        if self._glitch is not None:
            self._glitch.close()
        if self.descriptor_process is not None:
            self.descriptor_process.close()
        self._extractor.close()
        self._extractor = None
