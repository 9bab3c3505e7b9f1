"""``fingerprint-live train``: train the motion embedder on a clip manifest and export ONNX."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from ..errors import FingerprintError
from ..features import SPACES, SUBSETS, FeatureSet
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
    p.add_argument("--space", choices=list(SPACES), default="image+head",
                   help="distances in the image (2-D, over the face scale), in head "
                   "coordinates (3-D, pose removed), or image+head: one network per space, "
                   "joined in one model whose branches each view weighs as fitted on held-out "
                   "identities; each branch is trained into OUTPUT/branches/SPACE and reused "
                   "from there when the run is repeated (default: %(default)s, as shipped)")
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
    }
    output = Path(args.output)
    if len(features.spaces) == 1:
        _train(training, prepared, features, portraits, args, output, info)
    else:
        parts = []
        for branch, _ in features.branches():
            part = output / "branches" / branch.space
            if not _trained(part, info, branch):
                _train(training, prepared, branch, portraits, args, part, info)
            parts.append(part)
        training.export_branches(parts, output, info, features)
    training.fit_center(output, prepared, progress=not args.quiet)
    card = json.loads((output / "embedder.json").read_text())
    loss = card.get("final_loss") or [b["final_loss"] for b in card["branches"]]
    summary = {"model": str(output / "embedder.onnx"), "clips": len(prepared),
               "identities": len(counts), "final_loss": loss}
    report(summary, args.json,
           f"trained {summary['model']} on {len(prepared)} clips of {len(counts)} identities, "
           f"final loss {loss}. Fit its calibration on held-out identities "
           "(benchmarks/cross_validation.py) before verifying with it.")
    return 0


def _train(training, prepared, features: FeatureSet, portraits, args: argparse.Namespace,
           output: Path, info: dict) -> None:
    """Train one network on ``features`` and export it to ``output``."""
    config = training.TrainConfig(steps=args.steps, seed=args.seed, features=features,
                                  pose_width=args.pose_width,
                                  variation=CameraVariation() if args.vary else None,
                                  avatar_prob=args.avatar_prob if portraits else 0.0)
    model, losses = training.train(prepared, config, progress=not args.quiet)
    final = round(float(sum(losses[-50:]) / len(losses[-50:])), 6)
    training.export(model, output, {**info, "final_loss": final}, features)


def _trained(part: Path, info: dict, features: FeatureSet) -> bool:
    """Whether ``part`` already holds this branch, trained on the same data the same way."""
    card = part / "embedder.json"
    if not card.is_file():
        return False
    meta = json.loads(card.read_text())
    same = (FeatureSet.from_dict(meta.get("features")) == features
            and all(meta.get(k) == v for k, v in info.items() if k != "trained_on")
            and meta.get("trained_on", {}).get("identity_list")
            == info["trained_on"]["identity_list"])
    if not same:
        raise FingerprintError(f"{part} holds a branch trained on other data or settings; "
                               "remove it, or train into another folder.")
    return True


def _portrait(path: Path):
    """A training portrait: an image, or the first frame of a video."""
    from ..avatar.portrait import load_portrait
    from ..media import iter_video

    if path.suffix.lower() in (".mp4", ".mov", ".avi", ".mkv", ".webm"):
        return next(iter_video(path)).image
    return load_portrait(path)
