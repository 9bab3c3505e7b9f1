"""``fingerprint-live enroll``: build the authorized user's enrollment from their videos."""

from __future__ import annotations

import argparse
import json

from ..embedder import Embedder
from ..enroll import MIN_SECONDS, build_enrollment


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "enroll",
        help="enroll the authorized user from videos of them talking",
        description="Build an enrollment file from one or more videos of the authorized user "
        "talking naturally, face to the camera. Needs enough usable face motion "
        f"(default {MIN_SECONDS:.0f} s in all).",
    )
    p.add_argument("videos", nargs="+", help="video files of the user")
    p.add_argument("-o", "--output", required=True, help="enrollment file to write (.fpe)")
    p.add_argument("--min-seconds", type=float, default=MIN_SECONDS,
                   help="usable face motion needed (default: %(default)s)")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    return p


def run(args: argparse.Namespace) -> int:
    embedder = Embedder(args.model)
    enrollment = build_enrollment(args.videos, embedder, args.min_seconds)
    enrollment.save(args.output)
    print(json.dumps({"output": args.output, "seconds": round(enrollment.seconds, 1),
                      "windows": len(enrollment.embeddings),
                      "model": embedder.info.model_id[:16]}))
    return 0
