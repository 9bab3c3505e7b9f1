"""A signed verdict: the camera side's state, bound to one call, in a few hundred bytes.

The body is canonical JSON (sorted keys, no spaces, ASCII) of the version, the key id, a
sequence number, the sender's time, the camera gate's state, action and evidence, the signals
it weighs, the receiver's latest nonce and the call it is bound to: on a direct call the SHA-256
fingerprint of the sender's own DTLS certificate (``dtls sha-256 AB:...``); through Janus, where
DTLS ends at the server, the room and the publisher's feed id (``janus room=R feed=F``). No
image and no landmark: nothing the far side could not already see.

On the wire a statement is ``base64(body) "." base64(signature)``: the signed bytes travel as
they are, so the receiver never re-serialises what it verifies. :func:`parse` checks the
cheap things first (size, shape, a bound on nesting) before any JSON parsing, and the
signature before anything in the body is believed.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .keys import SigningKey

VERSION = 1
#: A statement is about 500 bytes on the wire; anything above this is refused unread.
MAX_MESSAGE_BYTES = 1024
#: The body holds one object and one list: more brackets than this (a nesting bomb, or any
#: other shape) is refused before the JSON parser sees it.
MAX_BRACKETS = 2
SIGNATURE_BYTES = 64
_FIELDS = {"v", "kid", "seq", "t", "state", "action", "evidence", "signals", "nonce", "bind"}


class Refused(Exception):
    """A message that is not an acceptable statement; ``reason`` is the counter it goes to."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Statement:
    """What the camera side says about the driver at ``time`` (Unix seconds, sender's clock)."""

    key_id: str
    seq: int
    time: float
    state: str  # decision.State's value
    action: str  # what the guard lets the far side see (guard.Action's value)
    evidence: float | None  # the summed evidence (nats) the state follows
    signals: tuple[str, ...]  # what the camera side weighs (motion, appearance)
    nonce: str  # the receiver's latest nonce, hex ("" where none can come: through Janus)
    binding: str  # the call: "dtls sha-256 AB:..." (its own certificate) or "janus room=R feed=F"
    version: int = VERSION

    def body(self) -> bytes:
        """The canonical bytes that are signed."""
        doc = {"v": self.version, "kid": self.key_id, "seq": self.seq,
               "t": round(self.time, 3), "state": self.state, "action": self.action,
               "evidence": None if self.evidence is None else round(self.evidence, 3),
               "signals": list(self.signals), "nonce": self.nonce, "bind": self.binding}
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("ascii")

    def sign(self, key: SigningKey) -> str:
        """The wire message: the body and its signature by ``key``."""
        body = self.body()
        return _b64(body) + "." + _b64(key.sign(body))

    @classmethod
    def from_body(cls, body: bytes) -> Statement:
        """The statement in a (verified) body; ``Refused("malformed")`` for any other shape."""
        if body.count(b"{") + body.count(b"[") > MAX_BRACKETS:
            raise Refused("malformed")
        try:
            doc = json.loads(body, parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            raise Refused("malformed") from exc
        if not isinstance(doc, dict) or set(doc) != _FIELDS:
            raise Refused("malformed")
        evidence, signals, t = doc["evidence"], doc["signals"], doc["t"]
        if not (type(doc["v"]) is int and type(doc["seq"]) is int and _number(t)
                and (evidence is None or _number(evidence))
                and isinstance(signals, list) and all(isinstance(s, str) for s in signals)
                and all(isinstance(doc[k], str)
                        for k in ("kid", "state", "action", "nonce", "bind"))):
            raise Refused("malformed")
        return cls(doc["kid"], doc["seq"], float(t), doc["state"], doc["action"],
                   None if evidence is None else float(evidence), tuple(signals), doc["nonce"],
                   doc["bind"], doc["v"])


def parse(message: str | bytes, verifier: Ed25519PublicKey, expected_key_id: str) -> Statement:
    """The statement in ``message`` if it is one, signed by ``verifier``'s key; else
    :class:`Refused` with the reason: ``oversized``, ``malformed``, ``version``, ``other_key``
    or ``signature``."""
    if len(message) > MAX_MESSAGE_BYTES:
        raise Refused("oversized")
    raw = message.encode("ascii", "replace") if isinstance(message, str) else message
    parts = raw.split(b".")
    if len(parts) != 2:
        raise Refused("malformed")
    try:
        body, signature = (base64.b64decode(p, validate=True) for p in parts)
    except (binascii.Error, ValueError) as exc:
        raise Refused("malformed") from exc
    if len(signature) != SIGNATURE_BYTES:
        raise Refused("malformed")
    statement = Statement.from_body(body)  # a bounded parse, not yet believed
    if statement.version != VERSION:
        raise Refused("version")
    if statement.key_id != expected_key_id:
        raise Refused("other_key")
    try:
        verifier.verify(signature, body)
    except InvalidSignature as exc:
        raise Refused("signature") from exc
    return statement


def _number(value: object) -> bool:
    """A finite JSON number (not a bool, which Python counts as an int)."""
    return type(value) in (int, float) and math.isfinite(value)


def _no_constant(name: str) -> float:
    """NaN and Infinity are not JSON, though Python's parser takes them."""
    raise ValueError(f"{name} is not a number")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
