"""``fingerprint-live fit-glitch``: fit the avatar-glitch detector on ordinary real faces."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..offline.fit_glitch import FitConfig, fit_detector
from . import report


def add_parser(sub) -> argparse.ArgumentParser:
    defaults = FitConfig()
    p = sub.add_parser(
        "fit-glitch",
        help="fit the avatar-glitch detector on a manifest's ordinary faces",
        description="Fit the novelty detector that flags avatar frames whose face shape is not "
        "an ordinary face (the shipped avatar_failure.npz), on the real clips and stills of a "
        "manifest. A seeded quarter of the identities is held out to choose the threshold. "
        "Seeded: the same manifest and options give the same file.",
    )
    p.add_argument("--manifest", type=Path, required=True,
                   help="CSV with path,identity,kind columns (kinds real and still are used)")
    p.add_argument("-o", "--output", type=Path, required=True, help="detector file to write")
    p.add_argument("--per-clip", type=int, default=defaults.per_clip,
                   help="face frames taken from each clip (default: %(default)s)")
    p.add_argument("--points", type=int, default=defaults.points,
                   help="training points kept (default: %(default)s)")
    p.add_argument("--false-flag", type=float, default=defaults.false_flag,
                   help="share of held-out ordinary frames the threshold may flag "
                   "(default: %(default)s)")
    p.add_argument("--exclude", nargs="*", default=list(defaults.exclude),
                   help="identities left out (a trailing * matches a prefix; default: the "
                   "avatar-failure study's subjects: %(default)s)")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def run(args: argparse.Namespace) -> int:
    config = FitConfig(per_clip=args.per_clip, points=args.points, false_flag=args.false_flag,
                       seed=args.seed, exclude=tuple(args.exclude))
    detector = fit_detector(args.manifest, config, progress=not args.quiet)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    detector.save(args.output)
    meta = detector.meta
    summary = {"output": str(args.output), "threshold": round(meta["threshold"], 4),
               "fitted_points": meta["fit"]["points"], "held_out_frames":
               meta["held_out"]["frames"], "held_out_false_flag": meta["held_out"]["false_flag"],
               "megabytes": round(args.output.stat().st_size / 1e6, 1)}
    report(summary, args.json,
           f"wrote {args.output} ({summary['megabytes']} MB): fitted on "
           f"{summary['fitted_points']} face frames; the threshold {summary['threshold']} flags "
           f"{summary['held_out_false_flag']:.2%} of {summary['held_out_frames']} held-out "
           "frames")
    return 0
