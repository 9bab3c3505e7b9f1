"""Signed verdicts over a WebRTC data channel: the sender's signer, the receiver's challenger.

The sender opens a data channel labelled :data:`CHANNEL_LABEL`. The receiver sends a fresh
random nonce on it when it opens and every :data:`NONCE_EVERY` seconds; the sender answers
with statements that carry the latest nonce and its own DTLS certificate's fingerprint, on
every change of the camera side's state and at least every :data:`STATEMENT_EVERY` seconds.
Both ends of the binding come from the call itself: the sender's fingerprint from its DTLS
transport, the receiver's from the remote SDP it accepted.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable

from aiortc import RTCDataChannel

from ..decision import State
from ..errors import FingerprintError
from ..guard import Action
from .checker import StatementChecker
from .combine import Verdict, combine
from .keys import SigningKey, key_id
from .statement import Statement

#: The data channel statements and nonces travel on.
CHANNEL_LABEL = "fingerprint-live-attest"
#: Seconds between two nonces from the receiver.
NONCE_EVERY = 3.0
#: Seconds between two statements when nothing changes (the receiver holds one for 2 s).
STATEMENT_EVERY = 0.5
_NONCE = re.compile(r"[0-9a-f]{32}")
_SDP_FINGERPRINT = re.compile(r"^a=fingerprint:sha-256 ([0-9A-Fa-f:]+)\s*$", re.MULTILINE)


def fingerprint(value: str) -> str:
    """A SHA-256 certificate fingerprint as statements carry it: ``sha-256 AB:CD:...``."""
    return "sha-256 " + value.upper()


def sdp_fingerprint(sdp: str) -> str:
    """The one SHA-256 DTLS fingerprint in an SDP (every media section shares one transport);
    an SDP with none, or with several, binds to nothing and is refused."""
    found = {fingerprint(v) for v in _SDP_FINGERPRINT.findall(sdp)}
    if len(found) != 1:
        raise FingerprintError(f"the remote SDP carries {len(found)} SHA-256 DTLS "
                               "fingerprints, not one: its statements cannot be bound.")
    return found.pop()


def local_fingerprint(channel: RTCDataChannel) -> str:
    """The SHA-256 fingerprint of this end's own DTLS certificate, under ``channel``."""
    dtls = channel.transport.transport
    for fp in dtls.getLocalParameters().fingerprints:
        if fp.algorithm == "sha-256":
            return fingerprint(fp.value)
    raise FingerprintError("the DTLS transport has no SHA-256 fingerprint.")


class Attestor:
    """The sender's signer: the camera side's state, signed onto ``channel``.

    ``observe`` is called on the event loop after every frame. Statements go out only once a
    nonce has come (one without is refused by every receiver), on a change of state or action,
    on a new nonce, and at least every ``STATEMENT_EVERY`` seconds: never more than one a frame,
    whatever the far side sends.
    """

    def __init__(self, key: SigningKey, channel: RTCDataChannel, signals: Iterable[str],
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.key, self.channel, self.signals = key, channel, tuple(str(s) for s in signals)
        self.clock, self.monotonic = clock, monotonic
        self.seq = 0
        self.nonce = ""
        self._fresh = False  # a nonce came since the last statement
        self._said: tuple[str, str] | None = None
        self._sent_at = -float("inf")
        self._dtls: str | None = None
        channel.on("message", self._on_message)

    def observe(self, state: State, action: Action, evidence: float | None) -> None:
        """Sign and send the camera side's state now if it is due."""
        if not self.nonce or self.channel.readyState != "open":
            return
        said = (state.value, action.value)
        if said == self._said and not self._fresh \
                and self.monotonic() - self._sent_at < STATEMENT_EVERY:
            return
        if self._dtls is None:
            self._dtls = local_fingerprint(self.channel)
        self.seq += 1
        statement = Statement(self.key.key_id, self.seq, self.clock(), state.value, action.value,
                              evidence, self.signals, self.nonce, self._dtls)
        self.channel.send(statement.sign(self.key))
        self._said, self._fresh, self._sent_at = said, False, self.monotonic()

    def _on_message(self, message: str | bytes) -> None:
        if isinstance(message, str) and _NONCE.fullmatch(message):
            self.nonce, self._fresh = message, True


class ReceiverAttestation:
    """The receiver's side of one call: nonces out, statements in, and the combined verdict.

    ``public_raw`` is the owner's public key from the receiver's copy of the enrollment;
    ``require`` (the receiver operator's choice, never the sender's) treats an unattested
    stream as a mismatch.
    """

    def __init__(self, public_raw: bytes, require: bool = False) -> None:
        self.public_raw, self.require = public_raw, require
        self.key_id = key_id(public_raw)
        self.checker: StatementChecker | None = None
        self._challenger: asyncio.Task | None = None

    def attach(self, channel: RTCDataChannel, remote_sdp: str) -> None:
        """Check the statements that come on ``channel`` (the sender's, once open), bound to
        the DTLS fingerprint in ``remote_sdp``; a second channel is closed unheard."""
        if self.checker is not None:
            channel.close()
            return
        self.checker = StatementChecker(self.public_raw, sdp_fingerprint(remote_sdp))
        channel.on("message", self.checker.check)
        channel.on("close", self.close)
        self._challenger = asyncio.ensure_future(self._challenge(channel))

    def verdict(self, motion: State) -> Verdict:
        """The combined state, given the receiver's own motion state."""
        statement = self.checker.current() if self.checker is not None else None
        return combine(motion, statement, self.require)

    def stats(self) -> dict:
        """Accepted statements and refusals by reason."""
        if self.checker is None:
            return {"key_id": self.key_id, "accepted": 0, "refused": {}}
        return {"key_id": self.key_id, "accepted": self.checker.accepted,
                "refused": dict(self.checker.refused)}

    def close(self) -> None:
        if self._challenger is not None:
            self._challenger.cancel()

    async def _challenge(self, channel: RTCDataChannel) -> None:
        while channel.readyState == "open":
            channel.send(self.checker.new_nonce())
            await asyncio.sleep(NONCE_EVERY)
