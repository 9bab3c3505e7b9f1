"""Two motion models' scores mixed: would one model per feature space, weighted per view, help?

Each ablation variant's folds scored the same held-out clip pairs (``benchmarks/ablation_table.py``
checks that). Here the cosines of two variants are mixed, ``(1 - w) * a + w * b``, per view (as
recorded, and through the default avatar). The weight a fold is scored with is chosen on the
*other* three folds' pairs (the highest pooled AUC on a grid), so no fold scores a weight it chose;
the held-out folds' mixed scores are then pooled as ``cross_validation.py`` pools them, with a 95%
interval resampling people and the change against ``a`` alone with a paired interval.

    python benchmarks/score_fusion.py --a core23 --b core23_head

It prints JSON per view: the weight each fold got, the pooled AUC [95%], the change against
``a``, and the AUC at every weight of the grid on all folds (which flatters the best of them).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from ablation_table import VIEWS, paired_pools, runs_of
from cross_validation import pooled_pairs

from fingerprint_live.offline.metrics import bootstrap_auc, bootstrap_auc_gain, summary

GRID = np.round(np.arange(0.0, 1.01, 0.125), 3)


def mixed(a: list[tuple], b: list[tuple], w: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-fold (genuine, impostor) scores of ``a`` and ``b`` mixed with weight ``w``, pooled."""
    return tuple(np.concatenate([(1 - w) * fa[s] + w * fb[s] for fa, fb in zip(a, b, strict=True)])
                 for s in (0, 1))


def view_fusion(a: list[dict], b: list[dict]) -> dict:
    base, _, gi, ii = paired_pools(a, b)
    folds_a, folds_b = ([pooled_pairs([r])[:2] for r in runs] for runs in (a, b))
    weights, held_out = [], []
    for k in range(len(a)):
        rest = [j for j in range(len(a)) if j != k]
        w = max(GRID, key=lambda w: summary(*mixed([folds_a[j] for j in rest],
                                                   [folds_b[j] for j in rest], w))["auc"])
        weights.append(float(w))
        held_out.append(mixed([folds_a[k]], [folds_b[k]], w))
    g, i = (np.concatenate([f[s] for f in held_out]) for s in (0, 1))
    auc = summary(g, i)["auc"]
    return {"fold_weights": weights, "auc": auc, "auc_95": bootstrap_auc(g, i, gi, ii),
            "gain": auc - summary(*base)["auc"],
            "gain_95": bootstrap_auc_gain(base, (g, i), gi, ii),
            "grid_all_folds": {float(w): round(summary(*mixed(folds_a, folds_b, w))["auc"], 3)
                               for w in GRID}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default="benchmarks/results/ablation")
    ap.add_argument("--a", default="core23", help="the first variant (weight 1 - w)")
    ap.add_argument("--b", default="core23_head", help="the second variant (weight w)")
    args = ap.parse_args()
    out = {}
    for view in VIEWS:
        a, b = runs_of(Path(args.root) / args.a, view), runs_of(Path(args.root) / args.b, view)
        if a is None or b is None:
            raise SystemExit(f"a fold of {args.a} or {args.b} has no {view} result yet; run "
                             "benchmarks/cross_validation.py for both first.")
        out[view] = view_fusion(a, b)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
