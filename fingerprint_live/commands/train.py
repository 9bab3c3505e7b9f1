"""``fingerprint-live train``: train the motion embedder on a clip manifest and export ONNX."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from ..offline.manifest import read_manifest


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
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def run(args: argparse.Namespace) -> int:
    import torch

    from ..offline import training

    torch.set_num_threads(max(1, torch.get_num_threads()))
    clips = read_manifest(args.manifest)
    prepared = training.prepare(clips, progress=not args.quiet)
    config = training.TrainConfig(steps=args.steps, seed=args.seed)
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
        "final_loss": float(sum(losses[-50:]) / len(losses[-50:])),
    }
    path = training.export(model, args.output, info)
    training.fit_center(args.output, prepared, progress=not args.quiet)
    summary = {"model": str(path), "clips": len(prepared), "identities": len(counts),
               "first_loss": losses[0], "final_loss": info["final_loss"]}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"trained {path} on {len(prepared)} clips of {len(counts)} identities: loss "
              f"{losses[0]:.3f} -> {info['final_loss']:.3f}. Fit its calibration on held-out "
              "identities (benchmarks/cross_validation.py) before verifying with it.")
    return 0
