"""Signed verdicts: the camera side's check, signed by the owner's key and bound to one call.

``keys`` holds the owner's Ed25519 key, ``statement`` the signed message, ``checker`` the
receiver's acceptance rules, ``combine`` the receiver's combined verdict, and ``channel`` (which
needs aiortc, so it is imported by name) the data-channel glue for WebRTC peers.
"""

from .checker import StatementChecker
from .combine import Verdict, combine
from .keys import SigningKey, key_id, load_key
from .statement import Refused, Statement

__all__ = ["Refused", "SigningKey", "Statement", "StatementChecker", "Verdict", "combine",
           "key_id", "load_key"]
