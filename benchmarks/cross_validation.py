"""Identity-disjoint cross-validation of the motion embedder, then the shipped model.

For each fold: train on the other folds' identities with ``fingerprint-live train``'s code, then
run ``fingerprint-live eval`` unchanged on the held-out identities: raw clips, and clips moved
onto the default avatar's face shape (``--same-face``). The operating threshold for a fold's
takeover run comes from the *other* folds (their 5%-FPR pair thresholds), so no fold tunes on
itself. Finally the shipped model is trained on every identity, with the mean threshold.
The third variant renders every held-out clip through the default avatar onto one portrait and
finds its landmarks again (``--through-avatar``): the accuracy that counts for an avatar.

    python benchmarks/cross_validation.py --folds 4 --steps 800 --out benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from fingerprint_live.cli import main as cli
from fingerprint_live.manifest import read_manifest, write_manifest

#: Evaluation variants: clips as recorded, motion moved onto the avatar's face shape in landmark
#: space, and clips rendered through the default avatar with landmarks found again.
VARIANTS = {"raw": [], "same_face": ["--same-face"], "avatar": ["--through-avatar"]}
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "manifest.csv"


def folds(clips, k: int, seed: int) -> list[set[str]]:
    """Deal identities into k folds; identities with several clips are dealt first, evenly."""
    counts = defaultdict(int)
    for c in clips:
        counts[c.identity] += 1
    rng = np.random.default_rng(seed)
    multi = [i for i in sorted(counts) if counts[i] > 1]
    single = [i for i in sorted(counts) if counts[i] == 1]
    rng.shuffle(multi)
    rng.shuffle(single)
    out = [set() for _ in range(k)]
    for n, ident in enumerate(multi + single):
        out[n % k].add(ident)
    return out


def set_threshold(model_dir: Path, threshold: float) -> None:
    meta_path = model_dir / "embedder.json"
    meta = json.loads(meta_path.read_text())
    meta["threshold"] = threshold
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", default=str(DATA))
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--ship", default=None, help="also train on everything into this folder")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clips = read_manifest(args.manifest)
    fold_ids = folds(clips, args.folds, args.seed)
    results = []
    for k, test_ids in enumerate(fold_ids):
        fold = out / f"fold{k}"
        fold.mkdir(exist_ok=True)
        write_manifest([c for c in clips if c.identity not in test_ids], fold / "train.csv")
        write_manifest([c for c in clips if c.identity in test_ids], fold / "test.csv")
        if not (fold / "model" / "embedder.onnx").is_file():
            cli(["train", "--manifest", str(fold / "train.csv"), "-o", str(fold / "model"),
                 "--steps", str(args.steps), "--seed", str(args.seed)])
        for name, extra in VARIANTS.items():
            cli(["eval", "--manifest", str(fold / "test.csv"), "--json",
                 str(fold / f"eval_{name}.json"), "--model", str(fold / "model"), "--quiet",
                 *extra])
        results.append({n: json.loads((fold / f"eval_{n}.json").read_text()) for n in VARIANTS})
    thresholds = [r["raw"]["threshold_at_fpr_5pct"] for r in results]
    for k in range(args.folds):
        fold = out / f"fold{k}"
        others = [t for j, t in enumerate(thresholds) if j != k]
        set_threshold(fold / "model", float(np.mean(others)))
        for name, extra in VARIANTS.items():
            cli(["eval", "--manifest", str(fold / "test.csv"), "--json",
                 str(fold / f"takeover_{name}.json"), "--model", str(fold / "model"),
                 "--takeover", "--quiet", *extra])
            results[k][f"takeover_{name}"] = json.loads(
                (fold / f"takeover_{name}.json").read_text())["takeover"]
    summary = {"folds": args.folds, "steps": args.steps, "seed": args.seed,
               "operating_threshold": float(np.mean(thresholds))}
    for name in VARIANTS:
        for key in ("auc", "eer", "tpr_at_fpr_1pct"):
            vals = [r[name][key] for r in results]
            summary[f"{name}_{key}"] = {"mean": float(np.mean(vals)), "min": float(np.min(vals)),
                                        "max": float(np.max(vals)), "folds": vals}
        summary[f"{name}_n_genuine"] = [r[name]["n_genuine"] for r in results]
        summary[f"{name}_cross_recording_auc"] = [r[name]["cross_recording"]["auc"]
                                                  for r in results]
        t = [r[f"takeover_{name}"] for r in results]
        summary[f"takeover_{name}"] = t
    (out / "cv_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    if args.ship:
        if not (Path(args.ship) / "embedder.onnx").is_file():
            cli(["train", "--manifest", args.manifest, "-o", args.ship, "--steps",
                 str(args.steps), "--seed", str(args.seed)])
        set_threshold(Path(args.ship), summary["operating_threshold"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
