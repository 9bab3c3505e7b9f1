"""Signed verdicts over a WebRTC data channel: the sender's signer, the receiver's challenger.

The sender opens a data channel labelled :data:`CHANNEL_LABEL`. On a direct call the receiver
sends a fresh random nonce on it when it opens and every :data:`NONCE_EVERY` seconds, and the
sender's statements carry the latest nonce and its own DTLS certificate's fingerprint: the
sender's from its DTLS transport, the receiver's from the remote SDP it accepted.

Through Janus, DTLS ends at the server and nothing a subscriber sends reaches the publisher, so
statements are bound to the room and the publisher's feed id (:func:`janus_binding`) and carry
no nonce: freshness rests on their time and sequence number, and a live relay of another
attested stream of the same owner remains possible (README, "Signed verdicts").
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


def dtls_binding(fingerprint: str) -> str:
    """A direct call's binding: its sender's SHA-256 certificate fingerprint (``AB:CD:...``)."""
    return "dtls sha-256 " + fingerprint.upper()


def janus_binding(room: int, feed: int) -> str:
    """A call through a Janus VideoRoom: bound to the room and the publisher's feed id."""
    return f"janus room={int(room)} feed={int(feed)}"


def sdp_binding(sdp: str) -> str:
    """The binding of the one SHA-256 DTLS fingerprint in an SDP (every media section shares
    one transport); an SDP with none, or several, binds to nothing and is refused."""
    found = {dtls_binding(v) for v in _SDP_FINGERPRINT.findall(sdp)}
    if len(found) != 1:
        raise FingerprintError(f"the remote SDP carries {len(found)} SHA-256 DTLS "
                               "fingerprints, not one: its statements cannot be bound.")
    return found.pop()


def local_binding(channel: RTCDataChannel) -> str:
    """The binding of this end's own DTLS certificate, under ``channel``."""
    for fp in channel.transport.transport.getLocalParameters().fingerprints:
        if fp.algorithm == "sha-256":
            return dtls_binding(fp.value)
    raise FingerprintError("the DTLS transport has no SHA-256 fingerprint.")


class Attestor:
    """The sender's signer: the camera side's state, signed onto ``channel``.

    ``observe`` is called on the event loop after every frame. Statements go out on a change
    of state or action, on a new nonce, and at least every ``STATEMENT_EVERY`` seconds: never
    more than one a frame, whatever the far side sends. On a direct call (``binding`` None:
    this end's DTLS certificate) they go out only once a nonce has come, as one without is
    refused; with a ``binding`` (``janus_binding``) no nonce is awaited.
    """

    def __init__(self, key: SigningKey, channel: RTCDataChannel, signals: Iterable[str],
                 binding: str | None = None, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.key, self.channel, self.signals = key, channel, tuple(str(s) for s in signals)
        self.binding, self.challenged = binding, binding is None
        self.clock, self.monotonic = clock, monotonic
        self.seq = 0
        self.nonce = ""
        self._fresh = False  # a nonce came since the last statement
        self._said: tuple[str, str] | None = None
        self._sent_at = -float("inf")
        channel.on("message", self._on_message)

    def observe(self, state: State, action: Action, evidence: float | None) -> None:
        """Sign and send the camera side's state now if it is due."""
        if (self.challenged and not self.nonce) or self.channel.readyState != "open":
            return
        said = (state.value, action.value)
        if said == self._said and not self._fresh \
                and self.monotonic() - self._sent_at < STATEMENT_EVERY:
            return
        if self.binding is None:
            self.binding = local_binding(self.channel)
        self.seq += 1
        statement = Statement(self.key.key_id, self.seq, self.clock(), state.value, action.value,
                              evidence, self.signals, self.nonce, self.binding)
        self.channel.send(statement.sign(self.key))
        self._said, self._fresh, self._sent_at = said, False, self.monotonic()

    def _on_message(self, message: str | bytes) -> None:
        if self.challenged and isinstance(message, str) and _NONCE.fullmatch(message):
            self.nonce, self._fresh = message, True


class ReceiverAttestation:
    """The receiver's side of one call: nonces out, statements in, and the combined verdict.

    ``public_raw`` is the owner's public key from the receiver's copy of the enrollment;
    ``require`` (the receiver operator's choice, never the sender's) treats an unattested
    stream as a mismatch. ``binding`` None: a direct call, bound to the DTLS fingerprint in
    the remote SDP given to ``attach``, with nonces; else (``janus_binding``) that binding,
    and no nonces.
    """

    def __init__(self, public_raw: bytes, require: bool = False,
                 binding: str | None = None) -> None:
        self.public_raw, self.require, self.binding = public_raw, require, binding
        self.key_id = key_id(public_raw)
        self.checker: StatementChecker | None = None
        self._challenger: asyncio.Task | None = None

    def attach(self, channel: RTCDataChannel, remote_sdp: str | None = None) -> None:
        """Check the statements that come on ``channel`` (the sender's, once open); on a direct
        call, bound to the DTLS fingerprint in ``remote_sdp``. A second channel is closed
        unheard."""
        if self.checker is not None:
            channel.close()
            return
        direct = self.binding is None
        if direct and remote_sdp is None:
            raise FingerprintError("a direct call's statements need the remote SDP to bind to.")
        binding = sdp_binding(remote_sdp) if direct else self.binding
        self.checker = StatementChecker(self.public_raw, binding, challenge=direct)
        channel.on("message", self.checker.check)
        if direct:
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
