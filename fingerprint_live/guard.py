"""The guard: what the peer may see of the avatar, given the verifier's state.

The policy decides what a bad state does to the outgoing frame:

- ``BLOCK`` (the default): a slate that says why replaces the avatar;
- ``FLAG``: the avatar goes out with a red banner that says why (the user's explicit choice);
- ``OFF``: the avatar goes out untouched.

Bad states are MISMATCH, NO_FACE that lasted longer than a grace period, and a verifier that
failed or fell behind (fail closed: no verdict is not a pass). Before the first verdict and
while the score wavers, a small mark says "verifying" so that no frame looks like a clean pass.

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

from .verifier import State


class Policy(enum.StrEnum):
    BLOCK = "block"
    FLAG = "flag"
    OFF = "off"


class Action(enum.StrEnum):
    PASS = "pass"  # untouched
    MARK = "mark"  # small corner mark: not yet verified
    FLAG = "flag"  # banner across the avatar
    BLOCK = "block"  # slate instead of the avatar


@dataclass(frozen=True)
class GuardConfig:
    policy: Policy = Policy.BLOCK
    no_face_grace: float = 2.0  # seconds of NO_FACE before it counts as bad
    max_lag: float = 1.0  # stream seconds the verifier may trail the frames
    on_glitch: Policy = Policy.FLAG  # what an avatar glitch does; OFF skips the check

    def __post_init__(self) -> None:
        object.__setattr__(self, "policy", Policy(self.policy))  # "flag" from a CLI or a page
        object.__setattr__(self, "on_glitch", Policy(self.on_glitch))


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str  # shown on the frame and sent to the peer; empty for PASS


def decide(cfg: GuardConfig, state: State, *, no_face_for: float = 0.0, lag: float = 0.0,
           failure: str | None = None, faces: int = 1, glitch: str | None = None) -> Decision:
    """The action for one frame; ``failure`` is set when the verifier raised.

    With several ``faces`` in view a verified frame still carries a mark: the peer is told.
    ``glitch`` is the avatar check's reason when it flags the avatar (or has failed).
    """
    if cfg.policy is Policy.OFF:
        return Decision(Action.PASS, "")
    bad = Action.BLOCK if cfg.policy is Policy.BLOCK else Action.FLAG
    if failure is not None:
        return Decision(bad, f"verifier failed: {failure}")
    if lag > cfg.max_lag:
        return Decision(bad, f"verifier is {lag:.1f} s behind")
    if state is State.MISMATCH:
        return Decision(bad, "not the enrolled user")
    if state is State.NO_FACE:
        if no_face_for > cfg.no_face_grace:
            return Decision(bad, f"no face for {no_face_for:.0f} s")
        return Decision(Action.MARK, "no face")
    if glitch is not None and cfg.on_glitch is not Policy.OFF:
        return Decision(Action.BLOCK if cfg.on_glitch is Policy.BLOCK else Action.FLAG, glitch)
    if state is State.VERIFIED:
        return Decision(Action.MARK, "several faces in view") if faces > 1 else Decision(
            Action.PASS, "")
    return Decision(Action.MARK, "verifying" if state is State.WARMING_UP else "checking")


_RED, _AMBER, _SLATE, _WHITE = (200, 30, 30), (235, 170, 20), (28, 28, 36), (255, 255, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def draw(image: np.ndarray, decision: Decision) -> None:
    """Apply the decision to an RGB ``uint8`` frame in place."""
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
    elif decision.action is Action.MARK:
        size = max(14, h // 14)
        cv2.rectangle(image, (0, h - size), (w - 1, h - 1), _AMBER, thickness=-1)
        _text(image, decision.reason, (w // 2, h - size // 2), 0.5 * scale, _SLATE, scale)


def draw_warning(image: np.ndarray, text: str) -> None:
    """An amber strip at the top of the user's own preview (never on what the peer gets)."""
    h, w = image.shape[:2]
    band = max(14, h // 14)
    cv2.rectangle(image, (0, 0), (w - 1, band), _AMBER, thickness=-1)
    _text(image, text, (w // 2, band // 2), 0.5 * max(w, 160) / 400, _SLATE, max(w, 160) / 400)


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
