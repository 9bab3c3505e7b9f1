"""The ablation table: one row per training variant, from each variant's cross-validation.

Each variant is a run of ``benchmarks/cross_validation.py`` into its own folder under
``--root`` (same folds, same seed, only ``--train-args`` differ), pairs only:

    python benchmarks/cross_validation.py --out benchmarks/results/ablation/vary \\
        --variants raw avatar --calibrate --no-takeover --train-args "--vary"

Cross-recording clip pairs, folds pooled (95% interval resampling people), and the mean
(min-max) over folds; as recorded (raw) and through the default avatar.

    python benchmarks/ablation_table.py --root benchmarks/results/ablation
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def cell(view: dict) -> str:
    pooled = view["pooled_cross_recording"]
    lo, hi = pooled["auc_95"]
    folds = [f["auc"] for f in view["cross_recording_folds"]]
    return (f"{pooled['auc']:.3f} [{lo:.2f}-{hi:.2f}]; folds {sum(folds) / len(folds):.3f} "
            f"({min(folds):.2f}-{max(folds):.2f})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="benchmarks/results/ablation")
    args = ap.parse_args()
    print("| variant | train arguments | raw AUC, pooled [95%]; folds mean (min-max) | "
          "through the avatar |")
    print("| --- | --- | --- | --- |")
    for run in sorted(Path(args.root).glob("*/cv_summary.json")):
        summary = json.loads(run.read_text())
        train = json.loads((run.parent / "fold0" / "model" / "embedder.json").read_text())
        flags = {k: train.get(k) for k in ("varied", "pose_width", "avatar_portraits")}
        print(f"| {run.parent.name} | {train.get('features')} {flags} | {cell(summary['raw'])} "
              f"| {cell(summary['avatar'])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
