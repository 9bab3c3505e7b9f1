"""The receiver's check of signed verdicts: which statements to believe, and for how long.

A statement is accepted only if all of these hold, checked cheapest first so that a flood
costs little: it is small; the sender is within its rate; it parses as a statement of the
enrolled key; the signature verifies; it is bound to this call (on a direct call, the DTLS
certificate whose fingerprint the SDP this receiver accepted carries: a relay in the middle has
its own; through Janus, the room and feed); it answers a nonce this receiver sent recently (a
statement recorded in an earlier call answers none; through Janus no nonce reaches the
publisher, so this check is off there and freshness rests on time and sequence); its sequence
number rises; and it is at most ``MAX_AGE`` seconds old by the receiver's clock, and not from
the future beyond ``MAX_SKEW``. Refusals are counted by reason; none changes what
was accepted before.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter, deque
from collections.abc import Callable

from .keys import key_id, public_key
from .statement import MAX_MESSAGE_BYTES, Refused, Statement, parse

#: Seconds a statement may be old on arrival, and how long the latest one holds: with no valid
#: statement for this long, the stream is unattested.
MAX_AGE = 2.0
#: Seconds a statement's time may lie ahead of the receiver's clock (clocks differ a little).
MAX_SKEW = 0.5
#: Messages a second a sender may send (it sends a few); the rest are refused unread.
RATE_LIMIT = 20
#: Seconds a nonce stays answerable after it was sent.
NONCE_TTL = 10.0
#: Random bytes in a nonce.
NONCE_BYTES = 16


class StatementChecker:
    """Checks one call's statements against the owner's public key and the call's binding.

    ``binding`` is what statements must be bound to (``"dtls sha-256 AB:..."`` from the remote
    SDP this receiver accepted, or ``"janus room=R feed=F"``); ``challenge`` says whether this
    receiver's nonces reach the sender (not through Janus). ``clock`` is wall time (statements
    carry the sender's wall time), ``monotonic`` the receiver's own intervals; both can be
    stood in for in tests.
    """

    def __init__(self, public_raw: bytes, binding: str, challenge: bool = True,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.verifier, self.key_id = public_key(public_raw), key_id(public_raw)
        self.binding, self.challenge = binding, challenge
        self.clock, self.monotonic = clock, monotonic
        self.refused: Counter[str] = Counter()
        self.accepted = 0
        self.latest: Statement | None = None
        self._latest_at = -float("inf")  # monotonic time the latest was accepted
        self._last_seq = 0
        self._nonces: deque[tuple[str, float]] = deque(maxlen=8)  # (nonce, sent at)
        self._window, self._in_window = -float("inf"), 0

    def new_nonce(self) -> str:
        """A fresh random nonce to send to the sender, remembered as answerable."""
        nonce = secrets.token_bytes(NONCE_BYTES).hex()
        self._nonces.append((nonce, self.monotonic()))
        return nonce

    def check(self, message: str | bytes) -> Statement | None:
        """The statement in ``message`` if it is accepted; None (and a count) if refused."""
        try:
            statement = self._check(message)
        except Refused as refusal:
            self.refused[refusal.reason] += 1
            return None
        self.accepted += 1
        self._last_seq, self.latest, self._latest_at = statement.seq, statement, self.monotonic()
        return statement

    def current(self) -> Statement | None:
        """The latest accepted statement while it holds (None: unattested)."""
        if self.monotonic() - self._latest_at > MAX_AGE:
            return None
        return self.latest

    def _check(self, message: str | bytes) -> Statement:
        if len(message) > MAX_MESSAGE_BYTES:  # refused unread, before the rate counts it
            raise Refused("oversized")
        now = self.monotonic()
        if now - self._window >= 1.0:
            self._window, self._in_window = now, 0
        self._in_window += 1
        if self._in_window > RATE_LIMIT:
            raise Refused("rate")
        statement = parse(message, self.verifier, self.key_id)
        if statement.binding != self.binding:
            raise Refused("binding")
        if self.challenge and not any(n == statement.nonce and now - sent <= NONCE_TTL
                                      for n, sent in self._nonces):
            raise Refused("nonce")
        if statement.seq <= self._last_seq:
            raise Refused("sequence")
        age = self.clock() - statement.time
        if age > MAX_AGE:
            raise Refused("stale")
        if age < -MAX_SKEW:
            raise Refused("future")
        return statement
