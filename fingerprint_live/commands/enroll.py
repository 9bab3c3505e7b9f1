"""``fingerprint-live enroll``: build the authorized user's enrollment from their videos."""

from __future__ import annotations

import argparse

from ..embedder import Embedder
from ..face_descriptor import FaceDescriptor
from ..video_enrollment import MIN_SECONDS, build_enrollment
from . import output_path, report


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "enroll",
        help="enroll the authorized user from videos of them talking",
        description="Build an enrollment file from one or more videos of the authorized user "
        "talking naturally, face to the camera, alone in view: how their face moves and how "
        "it looks (embeddings only, never an image). Needs enough usable face motion "
        f"(default {MIN_SECONDS:.0f} s in all). Videos from different days help.",
    )
    p.add_argument("videos", nargs="+", help="video files of the user")
    p.add_argument("-o", "--output", required=True, help="enrollment file to write (.fpe)")
    p.add_argument("--min-seconds", type=float, default=MIN_SECONDS,
                   help="usable face motion needed (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars (the first pass over a video reads every frame; "
                   "later ones read the cached landmarks)")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    return p


def run(args: argparse.Namespace) -> int:
    output = output_path(args.output, "enrollment")
    embedder = Embedder(args.model)
    enrollment = build_enrollment(args.videos, embedder, FaceDescriptor(args.model),
                                  args.min_seconds, progress=not args.quiet)
    enrollment.save(output)
    faces = enrollment.appearance.vectors if enrollment.appearance is not None else ()
    summary = {"output": args.output, "seconds": round(enrollment.seconds, 1),
               "windows": len(enrollment.motion.vectors), "faces": len(faces),
               "motion_model": enrollment.motion.model_id[:16],
               "face_model": enrollment.appearance.model_id[:16] if len(faces) else None}
    report(summary, args.json,
           f"enrolled {len(args.videos)} video(s) into {args.output}:\n"
           f"  motion: {summary['seconds']} s of usable face motion, {summary['windows']} "
           f"windows\n  face:   {summary['faces']} descriptors")
    return 0
