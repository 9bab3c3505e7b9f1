"""The receiver's combined verdict: the camera side's signed state and its own motion check.

The camera side sees the driver's real face and decides far better than motion through the
avatar can, so while a valid statement holds it leads: attested VERIFIED when it says VERIFIED
and motion does not say MISMATCH. A MISMATCH from either side is a MISMATCH: motion stays the
independent second factor, for a stolen key. Without a valid statement the stream is
unattested and motion alone decides, unless the receiver's operator requires attestation, in
which case an unattested stream counts as a mismatch (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..decision import State
from .statement import Statement

_STATES = {s.value: s for s in State}


@dataclass(frozen=True)
class Verdict:
    """What the receiver acts on, whether a signed statement backs it, and why."""

    state: State
    attested: bool
    reason: str


def combine(motion: State, statement: Statement | None, require: bool = False) -> Verdict:
    """The combined state of ``motion`` (the receiver's own) and the statement in force."""
    if statement is None:
        if require:
            return Verdict(State.MISMATCH, False, "unattested, and attestation is required")
        return Verdict(motion, False, "unattested: motion alone decides")
    # a state this version does not know is no verdict: not VERIFIED (fail closed)
    signed = _STATES.get(statement.state, State.SUSPECT)
    if signed is State.MISMATCH:
        return Verdict(State.MISMATCH, True, "the camera side's signed verdict is MISMATCH")
    if motion is State.MISMATCH:
        return Verdict(State.MISMATCH, True, "motion says MISMATCH against a signed "
                       f"{signed.value}")
    return Verdict(signed, True, f"the camera side's signed verdict is {signed.value}")
