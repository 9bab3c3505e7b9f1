"""``fingerprint-live keys``: make the owner's signing key (for signed verdicts)."""

from __future__ import annotations

import argparse
import getpass
import os
from pathlib import Path

from ..attest.keys import PASSPHRASE_ENV, SigningKey, load_key
from ..errors import KeyFileError
from . import report


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "keys",
        help="make your signing key, which signs the camera side's verdicts",
        description="Make an Ed25519 key pair. The private key goes in its own file (mode "
        "0600, PEM), encrypted when a passphrase is given (--ask-passphrase, or the "
        f"environment variable {PASSPHRASE_ENV}); it never goes in an enrollment. `enroll "
        "--key` puts the public key in the enrollment, and `export` keeps it in the "
        "receiver's copy, with which the far side checks your signed verdicts. Prints the "
        "key id. With --show, prints the id of an existing key instead.",
    )
    p.add_argument("-o", "--output", required=True, help="private key file to write (or read)")
    p.add_argument("--force", action="store_true",
                   help="replace an existing key file (enrollments carrying its public key "
                   "will need the new one)")
    p.add_argument("--show", action="store_true", help="read the key and print its id")
    p.add_argument("--ask-passphrase", action="store_true",
                   help="prompt for the passphrase (else the environment variable; else none)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    return p


def passphrase(ask: bool, confirm: bool = False) -> bytes | None:
    """The key's passphrase: prompted for with ``ask``, else from the environment, else none."""
    if ask:
        first = getpass.getpass("key passphrase: ")
        if confirm and getpass.getpass("again: ") != first:
            raise KeyFileError("the two passphrases differ.")
        return first.encode() or None
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode() if value else None


def run(args: argparse.Namespace) -> int:
    if args.show:
        key = load_key(args.output, passphrase(args.ask_passphrase))
    else:
        key = SigningKey.generate()
        key.save(args.output, passphrase(args.ask_passphrase, confirm=True), args.force)
    report({"key": args.output, "key_id": key.key_id, "created": not args.show}, args.json,
           f"{'key' if args.show else 'made the key'} {args.output}: key id {key.key_id}")
    return 0


def owner_key(path: str | Path, ask: bool) -> tuple[SigningKey, bool]:
    """The key at ``path``, made there first when there is none (True: it was made)."""
    if Path(path).exists():
        return load_key(path, passphrase(ask)), False
    key = SigningKey.generate()
    key.save(path, passphrase(ask, confirm=True))
    return key, True
