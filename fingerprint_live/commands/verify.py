"""``fingerprint-live verify``: run the streaming verifier over a video, print a timeline."""

from __future__ import annotations

import argparse
import dataclasses
import json

from ..api import Verdict, verify
from ..errors import FingerprintError
from ..verifier import RECEIVER_SETTINGS, SIGNAL_SETS

EXIT = {"VERIFIED": 0, "MISMATCH": 1, "INCONCLUSIVE": 3}


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "verify",
        help="check who drives the face in a video against an enrollment",
        description="Stream a video through the verifier as a live call would and print the "
        "state changes and a verdict. A camera recording is checked by the face's motion and "
        "appearance together (the default, when the enrollment holds a face); an avatar "
        "recording, which shows another face, by motion alone (--signals motion). "
        "Exit status: 0 VERIFIED, 1 MISMATCH, 3 INCONCLUSIVE, 2 error.",
    )
    p.add_argument("video", help="video to check")
    p.add_argument("--enrollment", required=True, help="enrollment file (.fpe)")
    p.add_argument("--signals", choices=list(SIGNAL_SETS), default=None,
                   help="what to weigh: fused (motion and appearance; the default), motion "
                   "(for a recording of the avatar) or appearance")
    p.add_argument("--setting", choices=list(RECEIVER_SETTINGS), default=None,
                   help="with --signals motion (a recording of the avatar): the receiver's "
                   "decision setting, quick (the default) or patient")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--threshold", type=float, default=None,
                   help="motion: the window cosine that counts neither for nor against, in "
                   "(-1, 1) (default: the model's calibration)")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    return p


def run(args: argparse.Namespace) -> int:
    if args.threshold is not None and not -1 < args.threshold < 1:
        raise FingerprintError(f"--threshold is a cosine between -1 and 1, not {args.threshold}.")
    if args.setting is not None and args.signals != "motion":
        raise FingerprintError("--setting is the receiver's: it goes with --signals motion.")
    result = verify(args.video, args.enrollment, signals=args.signals,
                    threshold=args.threshold, model_dir=args.model, setting=args.setting)
    if args.json:
        doc = dataclasses.asdict(result) | {"video": args.video,
                                            "events": [e.to_json() for e in result.events]}
        print(json.dumps(doc, indent=2))
    else:
        _print_text(result)
    return EXIT[result.verdict]


def _print_text(result: Verdict) -> None:
    for e in result.events:
        score = "" if e.score is None else f"  evidence {e.score:+.2f}"
        signal = f"  ({e.signal.value})" if e.signal else ""
        print(f"{e.time:8.2f} s  {e.state.value:<10}{score}{signal}")
    if result.max_faces > 1:
        print(f"note: up to {result.max_faces} faces were in view; the driver was followed")
    why = f" ({result.why})" if result.why else ""
    print(f"verdict: {result.verdict}{why}")
