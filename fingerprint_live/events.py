"""The one event type: something changed in a stream, at a stream time.

The verifier emits one when its state changes (which signal moved it, and the evidence); a
pipeline emits one when the state, what the far side sees, the avatar check or the pose warning
changes, with the guard's fields filled in. Both go to ``on_event`` callbacks, and as JSON over
a data channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .decision import Signal, State

if TYPE_CHECKING:
    from .guard import Action


@dataclass(frozen=True)
class Event:
    time: float
    state: State
    previous: State | None
    score: float | None  # the summed evidence (nats) the state follows
    signal: Signal | None = None  # what moved the state
    action: Action | None = None  # what the far side sees (pipelines only)
    reason: str = ""  # why, when the far side sees a slate or a banner
    note: str = ""  # for the user's own view: verifying, checking, several faces in view...
    glitch: bool = False  # the avatar check flags the avatar (or failed)
    warning: str = ""  # the driver's head pose is beyond what the avatar renders well
    #: At a receiver that checks signed verdicts: "attested" while a valid statement from the
    #: camera side holds, else "unattested" (motion alone decides); "" where none is checked.
    attestation: str = ""

    def to_json(self) -> dict:
        return {"type": "event", "time": round(self.time, 3), "state": self.state.value,
                "previous": self.previous.value if self.previous else None,
                "score": None if self.score is None else round(self.score, 4),
                "signal": self.signal and self.signal.value,
                "action": self.action and self.action.value, "reason": self.reason,
                "note": self.note, "glitch": self.glitch, "warning": self.warning,
                "attestation": self.attestation}
