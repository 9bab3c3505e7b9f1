"""``fingerprint-live enroll``: build the authorized user's enrollment from their videos."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from ..embedder import Embedder
from ..enrollment import Enrollment
from ..errors import FingerprintError
from ..face_descriptor import FaceDescriptor
from ..growth import grow
from ..video_enrollment import MIN_SECONDS, build_enrollment, recording_addition
from . import output_path, report
from .keys import owner_key


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "enroll",
        help="enroll the authorized user from videos of them talking",
        description="Build an enrollment file from one or more videos of the authorized user "
        "talking naturally, face to the camera, alone in view: how their face moves and how "
        "it looks (embeddings only, never an image). Needs enough usable face motion "
        f"(default {MIN_SECONDS:.0f} s in all). Videos from different days help. "
        "With --add, a later recording grows an existing enrollment, if the camera-side check "
        "(face and motion) verifies you in it with a clear margin (exit status 1 when a "
        "video was not added, and why); --reset undoes every addition.",
    )
    p.add_argument("videos", nargs="*", help="video files of the user")
    p.add_argument("-o", "--output", help="enrollment file to write (.fpe); with --add or "
                   "--reset, default: the enrollment itself, replaced whole")
    p.add_argument("--add", metavar="ENROLLMENT",
                   help="grow this enrollment with the videos: each must be verified as you "
                   "by face and motion with a clear margin, else nothing is added")
    p.add_argument("--reset", metavar="ENROLLMENT",
                   help="return this enrollment to what it was first made from (every "
                   "recording or call added since is dropped)")
    p.add_argument("--min-seconds", type=float, default=MIN_SECONDS,
                   help="usable face motion needed (default: %(default)s)")
    p.add_argument("--key", metavar="KEY",
                   help="your signing key (default: the enrollment's name with .key): an "
                   "existing one is used, a missing one is made (mode 0600); the enrollment "
                   "carries its public key, for signed verdicts")
    p.add_argument("--no-key", action="store_true",
                   help="an enrollment without a public key (no signed verdicts)")
    p.add_argument("--ask-passphrase", action="store_true",
                   help="prompt for the key's passphrase (else the environment variable "
                   "FINGERPRINT_LIVE_KEY_PASSPHRASE; else none)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars (the first pass over a video reads every frame; "
                   "later ones read the cached landmarks)")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    return p


def run(args: argparse.Namespace) -> int:
    if args.add and args.reset:
        raise FingerprintError("--add and --reset do not go together.")
    if args.add or args.reset:
        return _change(args)
    if not args.videos or not args.output:
        raise FingerprintError("give the videos to enroll and -o FILE (or --add / --reset "
                               "an existing enrollment).")
    if args.key and args.no_key:
        raise FingerprintError("--key and --no-key do not go together.")
    output = output_path(args.output, "enrollment")
    key = made = None
    if not args.no_key:  # before the long work: a wrong passphrase fails at once
        key, made = owner_key(args.key or output.with_suffix(".key"), args.ask_passphrase)
    embedder = Embedder(args.model)
    enrollment = build_enrollment(args.videos, embedder, FaceDescriptor(args.model),
                                  args.min_seconds, progress=not args.quiet)
    if key is not None:
        enrollment = replace(enrollment, public_key=key.public_raw)
    enrollment.save(output)
    faces = enrollment.appearance.vectors if enrollment.appearance is not None else ()
    summary = {"output": args.output, "seconds": round(enrollment.seconds, 1),
               "windows": len(enrollment.motion.vectors), "faces": len(faces),
               "motion_model": enrollment.motion.model_id[:16],
               "face_model": enrollment.appearance.model_id[:16] if len(faces) else None,
               "key": None if key is None else str(args.key or Path(output).with_suffix(".key")),
               "key_id": None if key is None else key.key_id, "key_made": bool(made)}
    report(summary, args.json,
           f"enrolled {len(args.videos)} video(s) into {args.output}:\n"
           f"  motion: {summary['seconds']} s of usable face motion, {summary['windows']} "
           f"windows\n  face:   {summary['faces']} descriptors"
           + ("" if key is None else f"\n  key:    {summary['key']} (key id {key.key_id}"
              f"{', made now' if made else ''})"))
    return 0


def _change(args: argparse.Namespace) -> int:
    """``--add`` (grow with recordings verified with a margin) or ``--reset``."""
    path = args.add or args.reset
    embedder, descriptor = Embedder(args.model), FaceDescriptor(args.model)
    enrollment = Enrollment.load(path, embedder.info.model_id, descriptor.info.model_id)
    if enrollment.kind != "full":
        raise FingerprintError(f"{path}: {enrollment.no_face()}")
    output = args.output or path
    if args.reset:
        if args.videos:
            raise FingerprintError("--reset takes no videos.")
        before = len(enrollment.segments)
        enrollment = enrollment.reset()
        enrollment.save(output)
        report({"output": output, "dropped_segments": before - len(enrollment.segments),
                "windows": len(enrollment.motion.vectors)}, args.json,
               f"{output}: back to the enrollment as first made "
               f"({before - len(enrollment.segments)} addition(s) dropped)")
        return 0
    if not args.videos:
        raise FingerprintError("--add needs the videos to add.")
    added = []
    for video in args.videos:
        addition = recording_addition(enrollment, video, embedder, descriptor)
        if addition.eligible:
            enrollment = grow(enrollment, addition)
        added.append({"video": video, "added": addition.eligible, "why": addition.reason})
    if any(a["added"] for a in added):
        enrollment.save(output)
    report({"output": output, "videos": added, "windows": len(enrollment.motion.vectors),
            "segments": len(enrollment.segments)}, args.json,
           "\n".join(f"{a['video']}: {'added' if a['added'] else 'not added'}: {a['why']}"
                     for a in added)
           + (f"\n{output}: {len(enrollment.segments)} segments, "
              f"{len(enrollment.motion.vectors)} motion windows"
              if any(a["added"] for a in added) else f"\n{output} is unchanged"))
    return 0 if all(a["added"] for a in added) else 1
