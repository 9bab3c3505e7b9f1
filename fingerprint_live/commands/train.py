"""``fingerprint-live train``: train the motion embedder on a clip manifest and export ONNX."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from ..features import SUBSETS, FeatureSet
from ..offline.augment import CameraVariation
from ..offline.manifest import read_manifest
from . import report


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train",
        help="train the motion embedder (needs torch: pip install 'fingerprint-live[train]')",
        description="Train the temporal CNN with the contrastive loss on a manifest's real and "
        "synthetic clips, then write embedder.onnx and embedder.json. Seeded: the same "
        "manifest, seed and steps give the same model.",
    )
    p.add_argument("--manifest", required=True, help="CSV with path,identity,kind columns")
    p.add_argument("-o", "--output", default="trained-model",
                   help="output folder (default: %(default)s)")
    p.add_argument("--steps", type=int, default=1500, help="training steps (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--points", choices=list(SUBSETS), default="core23",
                   help="landmark subset whose distances are the features (default: %(default)s, "
                   "as shipped; face55 is the model shipped before it)")
    p.add_argument("--space", choices=["image", "head"], default=FeatureSet.space,
                   help="distances in the image (2-D, over the face scale) or in head "
                   "coordinates (3-D, pose removed) (default: %(default)s)")
    p.add_argument("--no-pose", action="store_true", help="leave out the head-pose channels")
    p.add_argument("--velocity", action="store_true",
                   help="windows also carry each channel's frame-to-frame change")
    p.add_argument("--pose-width", type=int, default=0,
                   help="give the head-pose channels a projection of this width (default: none)")
    p.add_argument("--vary", action="store_true",
                   help="train on views varied as another camera or day would (time warp, "
                   "frame rate, dropped frames, head angle, jitter, smoothing)")
    p.add_argument("--avatar-portraits", nargs="*", type=Path, default=[],
                   help="train also on the clips rendered through the default avatar onto these "
                   "portraits (images, or a video's first frame): the receiver's view. Rendered "
                   "once and cached; slow the first time")
    p.add_argument("--avatar-prob", type=float, default=0.5,
                   help="share of views taken from those renders (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def run(args: argparse.Namespace) -> int:
    from ..offline import training

    clips = read_manifest(args.manifest)
    portraits = [_portrait(p) for p in args.avatar_portraits]
    prepared = training.prepare(clips, progress=not args.quiet, portraits=portraits)
    features = FeatureSet(args.points, args.space, not args.no_pose, args.velocity)
    config = training.TrainConfig(steps=args.steps, seed=args.seed, features=features,
                                  pose_width=args.pose_width,
                                  variation=CameraVariation() if args.vary else None,
                                  avatar_prob=args.avatar_prob if portraits else 0.0)
    model, losses = training.train(prepared, config, progress=not args.quiet)
    counts = Counter(c.identity for c in prepared)
    info = {
        "trained_on": {
            "manifest": Path(args.manifest).name,  # no machine path in a shipped model
            "identities": len(counts),
            "clips": len(prepared),
            "identity_list": sorted(counts),
        },
        "steps": args.steps,
        "seed": args.seed,
        "pose_width": args.pose_width,
        "varied": args.vary,
        "avatar_portraits": [p.name for p in args.avatar_portraits],
        "final_loss": float(sum(losses[-50:]) / len(losses[-50:])),
    }
    path = training.export(model, args.output, info, features)
    training.fit_center(args.output, prepared, progress=not args.quiet)
    summary = {"model": str(path), "clips": len(prepared), "identities": len(counts),
               "first_loss": losses[0], "final_loss": info["final_loss"]}
    report(summary, args.json,
           f"trained {path} on {len(prepared)} clips of {len(counts)} identities: loss "
           f"{losses[0]:.3f} -> {info['final_loss']:.3f}. Fit its calibration on held-out "
           "identities (benchmarks/cross_validation.py) before verifying with it.")
    return 0


def _portrait(path: Path):
    """A training portrait: an image, or the first frame of a video."""
    from ..avatar.portrait import load_portrait
    from ..media import iter_video

    if path.suffix.lower() in (".mp4", ".mov", ".avi", ".mkv", ".webm"):
        return next(iter_video(path)).image
    return load_portrait(path)
