"""An enrollment that grows with use, without becoming a way in.

How a person moves drifts from the day they enrolled (another camera, another mood, another
year), and an enrollment from more recordings tells them apart better (BENCHMARKS.md). So a call
on the camera side in which *both* signals verified the owner with a clear margin may add its
motion windows to the enrollment, as a segment of its own that says where it came from.

Adaptive enrollments are a known way in (template poisoning: an impostor who gets verified
once adds themselves, and is then verified more easily). The rules here bound that:

- windows are collected only while the state is VERIFIED with the face evidence at least
  ``appearance_margin`` and the motion evidence at least the decision's floor, and a call with
  any MISMATCH adds nothing;
- the collected windows must score, on average, at least ``motion_margin`` nats for the owner
  against the *original* enrollment as well as against the current one, so the enrollment can
  never grow towards motion its first version would not accept (a face swap of the owner
  driven by someone else keeps the face but not the motion, and is refused here);
- one addition brings at most ``max_share`` of the windows after it (evenly thinned), and the
  whole is capped at ``max_windows``: the oldest additions go first, the original never;
- the original segments stay, so ``Enrollment.reset`` (``enroll --reset``) undoes every addition.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .calibration import Calibration
from .decision import SequentialDecision, Signal, State
from .enrollment import Enrollment, Segment, Vectors
from .errors import EnrollmentError

if TYPE_CHECKING:
    from .embedder import ModelInfo
    from .verifier import StreamingVerifier


@dataclass(frozen=True)
class GrowthPolicy:
    #: Seconds of motion windows collected while verified, at least, for a call to count.
    min_seconds: float = 10.0
    #: Face evidence (nats) needed while windows are collected.
    appearance_margin: float = 3.0
    #: Mean calibrated motion evidence per collected window (nats) against the original
    #: enrollment and the current one.
    motion_margin: float = 1.0
    #: One addition's share of the enrollment's windows after it, at most.
    max_share: float = 1 / 3
    #: Windows kept in all (about ten minutes of motion at five windows a second).
    max_windows: int = 3000


DEFAULT_POLICY = GrowthPolicy()


@dataclass(frozen=True)
class Addition:
    """What a call or recording would add: its windows and their segment, or why nothing."""

    windows: np.ndarray | None
    segment: Segment | None
    reason: str  # why it may be added, or why not

    @property
    def eligible(self) -> bool:
        return self.windows is not None


class CallHarvest:
    """Collects a call's motion windows while both signals verify the owner with a margin.

    The camera-side :class:`~.verifier.StreamingVerifier` hands it every scored window with
    the decision after it (``observe``); ``addition`` then says what the call may add.
    """

    def __init__(self, stride_seconds: float, policy: GrowthPolicy = DEFAULT_POLICY) -> None:
        self.policy, self.stride = policy, stride_seconds
        self._windows: list[np.ndarray] = []
        self.mismatched = False
        self.verified = False

    @classmethod
    def of(cls, info: ModelInfo, policy: GrowthPolicy = DEFAULT_POLICY) -> CallHarvest:
        """A harvest for the windows of the motion model ``info`` describes (its stride)."""
        return cls(info.stride / info.fps, policy)

    def observe(self, embedding: np.ndarray, decision: SequentialDecision) -> None:
        """One motion window's embedding, and the decision after it."""
        if decision.state is State.MISMATCH:
            self.mismatched = True
        if decision.state is not State.VERIFIED or Signal.APPEARANCE not in decision.evidence:
            return
        self.verified = True
        evidence = decision.evidence
        if (evidence[Signal.APPEARANCE] >= self.policy.appearance_margin
                and evidence[Signal.MOTION] >= decision.cfg.motion_floor):
            self._windows.append(embedding)

    def note(self, state: State) -> None:
        """A state the call went through (a MISMATCH between windows counts too)."""
        self.mismatched |= state is State.MISMATCH

    @property
    def seconds(self) -> float:
        return len(self._windows) * self.stride

    def addition(self, enrollment: Enrollment, calibration: Calibration,
                 mix: tuple[float, ...], source: str, origin: str = "call") -> Addition:
        """What this call may add to ``enrollment``, scored as the camera side scores."""
        windows = (np.stack(self._windows) if self._windows
                   else np.empty((0, 1), np.float32))
        return judge(windows, self.stride, enrollment, calibration, mix, source, origin,
                     self.policy, self.verified, self.mismatched)


def judge(windows: np.ndarray, stride: float, enrollment: Enrollment, calibration: Calibration,
          mix: tuple[float, ...], source: str, origin: str, policy: GrowthPolicy,
          verified: bool, mismatched: bool) -> Addition:
    """Apply the policy's rules to windows collected while verified."""
    def no(reason: str) -> Addition:
        return Addition(None, None, reason)

    if mismatched:
        return no("the call went to MISMATCH; nothing from it is added.")
    if not verified:
        return no("the call was never VERIFIED by face and motion; nothing from it is added.")
    seconds = len(windows) * stride
    if seconds < policy.min_seconds:
        return no(f"only {seconds:.1f} s were verified with a clear margin (at least "
                  f"{policy.min_seconds:.0f} s are needed).")
    for name, reference in (("original", enrollment.reset()), ("current", enrollment)):
        llr = float(np.mean(calibration.llr(reference.motion_scores(windows, mix))))
        if llr < policy.motion_margin:
            return no(f"its motion is not clearly the owner's against the {name} enrollment "
                      f"({llr:+.2f} nats a window, {policy.motion_margin:.1f} needed).")
    return Addition(windows, Segment(source, len(windows), seconds, origin,
                                     time.strftime("%Y-%m-%dT%H:%M:%S%z")),
                    f"{seconds:.0f} s of motion verified by face and motion with a clear margin.")


def grow(enrollment: Enrollment, addition: Addition,
         policy: GrowthPolicy = DEFAULT_POLICY) -> Enrollment:
    """``enrollment`` with ``addition``'s windows as a new segment, within the policy's bounds."""
    if not addition.eligible:
        raise EnrollmentError(f"nothing to add: {addition.reason}")
    have = len(enrollment.motion.vectors)
    most = max(1, int(have * policy.max_share / (1 - policy.max_share)))
    windows, segment = addition.windows, addition.segment
    if len(windows) > most:  # thin evenly: one call may move the enrollment only so far
        windows = windows[np.linspace(0, len(windows) - 1, most).round().astype(int)]
        segment = replace(segment, windows=most)
    parts = _parts(enrollment)
    parts.append((segment, windows))
    original = enrollment.original
    while sum(len(w) for _, w in parts) > policy.max_windows and len(parts) > original + 1:
        parts.pop(original)  # the oldest addition goes first; the original never
    return replace(enrollment, motion=Vectors(enrollment.motion.model_id,
                                              np.concatenate([w for _, w in parts])),
                   segments=tuple(s for s, _ in parts))


def add_call(path: Path, enrollment: Enrollment, harvest: CallHarvest,
             verifier: StreamingVerifier, source: str) -> tuple[Enrollment, Addition]:
    """Judge the call ``harvest`` collected against ``enrollment`` (the one in effect now, so
    calls added one after another stack); when it qualifies, write the grown enrollment to
    ``path`` atomically. Returns the enrollment in effect after it, and the addition."""
    addition = harvest.addition(enrollment, verifier.motion_llr, verifier.mix, source)
    if not addition.eligible:
        return enrollment, addition
    grown = grow(enrollment, addition)
    grown.save(path)
    return grown, addition


def _parts(enrollment: Enrollment) -> list[tuple[Segment, np.ndarray]]:
    """The enrollment's segments with their windows."""
    ends = np.cumsum([s.windows for s in enrollment.segments])
    return [(s, w) for s, w in zip(enrollment.segments,
                                   np.split(enrollment.motion.vectors, ends[:-1]), strict=True)]
