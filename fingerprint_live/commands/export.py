"""``fingerprint-live export``: the receiver's copy of an enrollment (motion only)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..attest.keys import key_id
from ..embedder import Embedder
from ..enrollment import Enrollment
from ..errors import EnrollmentError
from . import report


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "export",
        help="write the receiver's copy of an enrollment: the motion part alone, no face",
        description="Write the copy of your enrollment that the far side of a call (a "
        "receiver, `worker`'s enrollment folder) checks your avatar with: the motion "
        "embeddings and, when the enrollment has one, your public key; no face descriptor "
        "and no face shape. It is bound to the same motion model and integrity check as the "
        "full file. Keep the full file to yourself; give this one away.",
    )
    p.add_argument("enrollment", help="your full enrollment file (.fpe)")
    p.add_argument("-o", "--output", required=True, help="the receiver's copy to write (.fpe)")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    return p


def run(args: argparse.Namespace) -> int:
    if Path(args.output).resolve() == Path(args.enrollment).resolve():
        raise EnrollmentError("the receiver's copy would overwrite the full enrollment; "
                              "choose another output file.")
    embedder = Embedder(args.model)
    copy = Enrollment.load(args.enrollment, embedder.info.model_id,
                           avatar_id=embedder.info.view_id("avatar")).receiver_copy()
    copy.save(args.output)
    summary = {"output": args.output, "windows": len(copy.motion.vectors),
               "seconds": round(copy.seconds, 1), "public_key": copy.public_key is not None,
               "key_id": None if copy.public_key is None else key_id(copy.public_key),
               "motion_model": copy.motion.model_id[:16]}
    report(summary, args.json,
           f"wrote the receiver's copy to {args.output}: {summary['windows']} motion windows "
           f"({summary['seconds']} s), no face"
           + (f", with your public key (key id {summary['key_id']})" if summary["public_key"]
              else ""))
    return 0
