"""The guard: what the far side may see of the avatar, given the verifier's state.

The far side sees a verdict, and only a verdict: nothing while the driver is verified or the
evidence is still coming in, and when it matters to them, what the policy says:

- ``BLOCK`` (the default): a slate that says why replaces the avatar;
- ``FLAG``: the avatar goes out with a red banner that says why (the user's explicit choice);
- ``OFF``: the avatar goes out untouched.

It matters when the verifier says MISMATCH, when there was no face for longer than a grace
period, when nobody was VERIFIED for longer than ``unverified_grace`` (a photo held up, a face
swap: the evidence never settles, so the stream fails closed), and when the verifier failed or
fell behind (no verdict is not a pass). Before a verdict, while the evidence wavers (SUSPECT),
or with several faces in view, the far side sees nothing: those are for the user's own view,
the ``note`` of a decision, drawn only on their preview (``draw_note``).

An avatar that renders badly ("avatar glitch", from :mod:`.glitch`) is its own reason with its
own policy, ``on_glitch``: FLAG by default (the avatar is still the enrolled user's, only ugly),
BLOCK when the user asks. It never weakens a bad state: a MISMATCH still blocks.
Drawing is done in place with OpenCV primitives on the output buffer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import cv2
import numpy as np

from .decision import State


class Policy(enum.StrEnum):
    BLOCK = "block"
    FLAG = "flag"
    OFF = "off"


class Action(enum.StrEnum):
    PASS = "pass"  # untouched
    FLAG = "flag"  # banner across the avatar
    BLOCK = "block"  # slate instead of the avatar


@dataclass(frozen=True)
class GuardConfig:
    policy: Policy = Policy.BLOCK
    no_face_grace: float = 2.0  # seconds of NO_FACE before it counts as bad
    unverified_grace: float = 10.0  # seconds without VERIFIED before it counts as bad
    max_lag: float = 1.0  # stream seconds the verifier may trail the frames
    on_glitch: Policy = Policy.FLAG  # what an avatar glitch does; OFF skips the check

    def __post_init__(self) -> None:
        object.__setattr__(self, "policy", Policy(self.policy))  # "flag" from a CLI or a page
        object.__setattr__(self, "on_glitch", Policy(self.on_glitch))


@dataclass(frozen=True)
class Decision:
    action: Action  # what the far side sees
    reason: str  # why, shown on the frame and sent to the peer; empty for PASS
    note: str = ""  # for the user's own view only: "verifying", "checking", ...


def decide(cfg: GuardConfig, state: State, *, no_face_for: float = 0.0,
           unverified_for: float = 0.0, lag: float = 0.0, failure: str | None = None,
           faces: int = 1, glitch: str | None = None) -> Decision:
    """The decision for one frame; ``failure`` is set when the verifier (or the face check)
    raised, ``unverified_for`` is how long no frame was VERIFIED.

    ``glitch`` is the avatar check's reason when it flags the avatar (or has failed).
    """
    note = _note(state, faces)
    if cfg.policy is Policy.OFF:
        return Decision(Action.PASS, "", note)
    bad = Action.BLOCK if cfg.policy is Policy.BLOCK else Action.FLAG
    if failure is not None:
        return Decision(bad, f"verifier failed: {failure}", note)
    if lag > cfg.max_lag:
        return Decision(bad, f"verifier is {lag:.1f} s behind", note)
    if state is State.MISMATCH:
        return Decision(bad, "not the enrolled user", note)
    if state is State.NO_FACE and no_face_for > cfg.no_face_grace:
        return Decision(bad, f"no face for {no_face_for:.0f} s", note)
    if state is not State.VERIFIED and unverified_for > cfg.unverified_grace:
        return Decision(bad, f"not verified for {unverified_for:.0f} s", note)
    if glitch is not None and cfg.on_glitch is not Policy.OFF:
        return Decision(Action.BLOCK if cfg.on_glitch is Policy.BLOCK else Action.FLAG, glitch,
                        note)
    return Decision(Action.PASS, "", note)


def _note(state: State, faces: int) -> str:
    if state is State.VERIFIED:
        return "several faces in view" if faces > 1 else ""
    return {State.WARMING_UP: "verifying", State.SUSPECT: "checking", State.NO_FACE: "no face",
            State.MISMATCH: "not the enrolled user"}[state]


_RED, _AMBER, _SLATE, _WHITE = (200, 30, 30), (235, 170, 20), (28, 28, 36), (255, 255, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def draw(image: np.ndarray, decision: Decision) -> None:
    """Apply the decision's far-side action to an RGB ``uint8`` frame in place."""
    h, w = image.shape[:2]
    scale = max(w, 160) / 400
    if decision.action is Action.BLOCK:
        image[:] = _SLATE
        _text(image, "BLOCKED", (w // 2, h // 2 - int(24 * scale)), 1.5 * scale, _RED, 3 * scale)
        _text(image, decision.reason, (w // 2, h // 2 + int(24 * scale)), 0.8 * scale, _WHITE,
              scale)
    elif decision.action is Action.FLAG:
        band = max(18, h // 8)
        cv2.rectangle(image, (0, 0), (w - 1, band), _RED, thickness=-1)
        cv2.rectangle(image, (0, 0), (w - 1, h - 1), _RED, thickness=max(2, w // 80))
        _text(image, f"WARNING: {decision.reason}", (w // 2, band // 2), 0.6 * scale, _WHITE,
              scale)


def draw_note(image: np.ndarray, text: str, top: bool = False) -> None:
    """An amber strip on the user's own preview (never on what the far side gets): the
    decision's note along the bottom, a pose warning along the top."""
    h, w = image.shape[:2]
    band, scale = max(14, h // 14), max(w, 160) / 400
    y0 = 0 if top else h - band
    cv2.rectangle(image, (0, y0), (w - 1, y0 + band - 1), _AMBER, thickness=-1)
    _text(image, text, (w // 2, y0 + band // 2), 0.5 * scale, _SLATE, scale)


def _text(image: np.ndarray, text: str, centre: tuple[int, int], scale: float,
          colour: tuple[int, int, int], weight: float) -> None:
    """Centred text, shrunk to fit the frame's width; ``weight`` is the stroke in pixels."""
    scale, thickness = max(scale, 0.3), max(1, round(weight))
    (tw, th), _ = cv2.getTextSize(text, _FONT, scale, thickness)
    if tw > image.shape[1] - 8:
        scale *= (image.shape[1] - 8) / tw
        (tw, th), _ = cv2.getTextSize(text, _FONT, scale, thickness)
    org = (centre[0] - tw // 2, centre[1] + th // 2)
    cv2.putText(image, text, org, _FONT, scale, colour, thickness, cv2.LINE_AA)
