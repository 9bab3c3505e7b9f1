"""The sequential decision: calibrated evidence from each signal, weighed as it accumulates.

Every observation of a signal (a motion window, a face descriptor) comes as a log-likelihood
ratio (:mod:`.calibration`): positive for the enrolled person, negative against. Each signal
keeps a running sum of its weighted ratios, held within its bounds (a two-sided CUSUM with a
floor and a ceiling): a long good past cannot hide a takeover for longer than the ceiling
allows, and the memory is a few numbers, whatever the length of the call. The bounds also say
how much each signal may weigh: on the camera side the face's appearance is strong evidence
and motion weak, so motion's narrow bounds let it hold back a verdict but never overrule a
clear face. The state follows the sum over the signals:

- MISMATCH when the sum falls to ``-reject`` (from any state); left only by reaching VERIFIED;
- VERIFIED when the sum reaches ``accept``, every signal has been seen, the motion evidence is
  for the person (at least ``motion_floor``: a face swap of the enrolled user driven by
  someone else keeps the appearance but not the motion), and the face moved live within
  ``live_within`` seconds (a photo held up to the camera has the right face and no motion);
  the last two apply when motion is one of the signals;
- otherwise SUSPECT after a verdict, or WARMING_UP before the first.

Motion windows overlap (2 s long, 0.2 s apart), so each counts for ``motion_weight`` of an
independent observation; the weights, bounds and thresholds were chosen on held-out takeover
streams (``benchmarks/verifier_tuning.py``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np


class State(enum.StrEnum):
    NO_FACE = "NO_FACE"
    WARMING_UP = "WARMING_UP"
    VERIFIED = "VERIFIED"
    SUSPECT = "SUSPECT"
    MISMATCH = "MISMATCH"


class Signal(enum.StrEnum):
    """What moved the state: a kind of evidence, the liveness cue, or the face coming and going."""

    MOTION = "motion"
    APPEARANCE = "appearance"
    LIVENESS = "liveness"
    FACE = "face"


@dataclass(frozen=True)
class DecisionConfig:
    accept: float = 1.0  # summed evidence (nats) for VERIFIED
    reject: float = 4.0  # summed evidence against (nats) for MISMATCH
    motion_weight: float = 0.1  # share of an independent observation per motion window
    motion_bounds: tuple[float, float] = (-6.0, 2.0)  # the motion evidence stays within
    #: One motion window's ratio counts at most this much (nats) either way, before its weight:
    #: a few windows the calibration takes as very sure (its own limit is 8) cannot carry a
    #: verdict that the rest of the stream does not share.
    motion_cap: float = 8.0
    appearance_weight: float = 1.0
    appearance_bounds: tuple[float, float] = (-8.0, 4.0)
    motion_floor: float = 1.0  # VERIFIED needs at least this much motion evidence for it
    live_within: float = 10.0  # seconds since the face last moved live, for VERIFIED

    def weight(self, signal: Signal) -> float:
        return self.motion_weight if signal is Signal.MOTION else self.appearance_weight

    def bounds(self, signal: Signal) -> tuple[float, float]:
        return self.motion_bounds if signal is Signal.MOTION else self.appearance_bounds


class SequentialDecision:
    """The state of one stream: bounded evidence per signal, and what ends a run of it.

    A run is one face seen without a break; ``restart`` (a jump to another face, a gap in the
    frames) and ``lose_face`` clear the evidence, so no verdict carries over to whoever comes
    next. Replaying recorded observations through a new instance gives exactly the verifier's
    states (``benchmarks/verifier_tuning.py`` does).
    """

    def __init__(self, config: DecisionConfig, signals: tuple[Signal, ...]) -> None:
        self.cfg, self.signals = config, signals
        self.state = self.previous = State.WARMING_UP
        self._clear()

    def _clear(self) -> None:
        self.evidence = dict.fromkeys(self.signals, 0.0)
        self.seen = dict.fromkeys(self.signals, 0)
        self.last_live = -np.inf

    @property
    def total(self) -> float:
        """The summed evidence (nats) that the state follows."""
        return float(sum(self.evidence.values()))

    @property
    def score(self) -> float | None:
        """``total``, or None before the run's first observation."""
        return self.total if any(self.seen.values()) else None

    def observe(self, signal: Signal, llr: float, time: float) -> bool:
        """One observation's log-likelihood ratio at ``time``; True when the state changed."""
        low, high = self.cfg.bounds(signal)
        if signal is Signal.MOTION:
            llr = min(max(llr, -self.cfg.motion_cap), self.cfg.motion_cap)
        value = self.evidence[signal] + self.cfg.weight(signal) * llr
        self.evidence[signal] = float(min(max(value, low), high))
        self.seen[signal] += 1
        return self._decide(time)

    def live(self, time: float) -> bool:
        """The face moved as a live face does at ``time``; True when the state changed."""
        self.last_live = time
        return self._decide(time)

    def restart(self) -> bool:
        """Another face, or a gap: the evidence starts again and a pass does not carry over."""
        self._clear()
        return self._move(State.WARMING_UP if self.state in (State.VERIFIED, State.SUSPECT)
                          else self.state)

    def lose_face(self) -> bool:
        self._clear()
        return self._move(State.NO_FACE)

    def find_face(self) -> bool:
        return self._move(State.WARMING_UP) if self.state is State.NO_FACE else False

    def apply(self, kind: str, value: float, time: float) -> bool:
        """One entry of a verifier's observation log (``StreamingVerifier.observations``):
        ``motion`` or ``appearance`` with its ratio, ``live``, ``restart``, ``lost`` or
        ``found``. True when the state changed. The verifier decides only through this, so a
        replayed log gives exactly its states."""
        if kind in (Signal.MOTION, Signal.APPEARANCE):
            return self.observe(Signal(kind), value, time)
        return {"live": lambda: self.live(time), "restart": self.restart,
                "lost": self.lose_face, "found": self.find_face}[kind]()

    def accepted(self, time: float) -> bool:
        cfg = self.cfg
        if self.total < cfg.accept or not all(self.seen.values()):
            return False
        if Signal.MOTION not in self.evidence:  # appearance alone: no motion, no liveness cue
            return True
        return (self.evidence[Signal.MOTION] >= cfg.motion_floor
                and time - self.last_live <= cfg.live_within)

    def _decide(self, time: float) -> bool:
        if self.state is State.NO_FACE:
            return False
        if self.total <= -self.cfg.reject:
            return self._move(State.MISMATCH)
        if self.accepted(time):
            return self._move(State.VERIFIED)
        if self.state in (State.MISMATCH, State.WARMING_UP):
            return False
        return self._move(State.SUSPECT)

    def _move(self, state: State) -> bool:
        """Go to ``state``; True (and ``previous`` set) when it is a change."""
        if state is self.state:
            return False
        self.previous, self.state = self.state, state
        return True
