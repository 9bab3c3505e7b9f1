"""The owner's Ed25519 signing key: made once, kept in its own file, never in an enrollment.

The private key lies in a PEM file (PKCS#8) of mode 0600, encrypted under a passphrase when one
is given (``cryptography``'s ``BestAvailableEncryption``); a file that others can read is
refused, as ssh refuses one. The public key (32 raw bytes) travels in the enrollment and in the
receiver's copy. A key is named by its id, a short digest of the raw public key, so that a
statement, a page and an enrollment can say which key they mean without carrying it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..atomic_write import write_bytes
from ..errors import KeyFileError

#: Hex digits of the key id (64 bits of SHA-256): enough to tell one owner's keys apart.
KEY_ID_HEX = 16
#: A PEM Ed25519 key is about 120 bytes (encrypted, about 300); anything larger is not one.
MAX_KEY_FILE_BYTES = 16 << 10
#: Environment variable the commands read a key's passphrase from (never a command-line word,
#: which other users can see in the process list).
PASSPHRASE_ENV = "FINGERPRINT_LIVE_KEY_PASSPHRASE"


def key_id(public_raw: bytes) -> str:
    """The id of a raw Ed25519 public key: the first hex digits of its SHA-256."""
    return hashlib.sha256(public_raw).hexdigest()[:KEY_ID_HEX]


def public_key(raw: bytes) -> Ed25519PublicKey:
    """The verifying key of 32 raw bytes (as an enrollment holds it)."""
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise KeyFileError("not an Ed25519 public key (32 bytes).") from exc


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key and what others know it by."""

    private: Ed25519PrivateKey = field(repr=False)
    public_raw: bytes = field(init=False)
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                     serialization.PublicFormat.Raw)
        object.__setattr__(self, "public_raw", raw)
        object.__setattr__(self, "key_id", key_id(raw))

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        return self.private.sign(data)

    def save(self, path: str | Path, passphrase: bytes | None = None,
             force: bool = False) -> None:
        """Write the private key to ``path`` (mode 0600, atomically); an existing file is
        kept unless ``force``: overwriting a key orphans every enrollment that carries it."""
        path = Path(path)
        if path.exists() and not force:
            raise KeyFileError(f"{path}: a key file is already there; keep it, or replace it "
                               "with --force (enrollments that carry its public key will then "
                               "need the new one).")
        if not path.parent.is_dir():
            raise KeyFileError(f"{path.parent}: no such folder for the key file.")
        write_bytes(path, self.pem(passphrase), mode=0o600)

    def pem(self, passphrase: bytes | None = None) -> bytes:
        """The private key file's content (PEM, PKCS#8), encrypted when a passphrase is given:
        what :meth:`save` writes, and what ``serve`` hands a page that enrolled, once."""
        encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                      else serialization.NoEncryption())
        return self.private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8, encryption)


def load_key(path: str | Path, passphrase: bytes | None = None) -> SigningKey:
    """Read a private key file written by :meth:`SigningKey.save`. Errors say what to do and
    never echo the file's content or the passphrase."""
    path = Path(path)
    if not path.is_file():
        raise KeyFileError(f"{path}: no such key file; make one with `fingerprint-live keys "
                           f"-o {path}`.")
    info = path.stat()
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path}: the private key is open to other users (mode "
                           f"{stat.S_IMODE(info.st_mode):o}); `chmod 600 {path}` first.")
    if info.st_size > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"{path}: too large to be a key file.")
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), passphrase or None)
    except TypeError as exc:  # encrypted without a passphrase given, or the other way round
        says = ("is encrypted: give its passphrase in" if not passphrase
                else "has no passphrase: unset")
        raise KeyFileError(f"{path}: the key {says} {PASSPHRASE_ENV}.") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"{path}: not a readable private key, or the passphrase is "
                           "wrong.") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 key; make one with `fingerprint-live "
                           "keys`.")
    return SigningKey(private)
