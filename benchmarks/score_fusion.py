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
from ablation_table import VIEWS, runs_of
from cross_validation import pooled_pairs

from fingerprint_live.offline.metrics import bootstrap_auc, bootstrap_auc_gain, summary

GRID = np.round(np.arange(0.0, 1.01, 0.125), 3)


def mixed(a: list[dict], b: list[dict], w: float) -> tuple[np.ndarray, np.ndarray]:
    """The pooled (genuine, impostor) scores of folds ``a`` and ``b``, mixed with weight ``w``."""
    ga, ia, _, _ = pooled_pairs(a)
    gb, ib, _, _ = pooled_pairs(b)
    return (1 - w) * ga + w * gb, (1 - w) * ia + w * ib


def view_fusion(a: list[dict], b: list[dict]) -> dict:
    _, _, gi, ii = pooled_pairs(a)
    _, _, gib, iib = pooled_pairs(b)
    if not (np.array_equal(gi, gib) and np.array_equal(ii, iib)):
        raise SystemExit("the two variants did not score the same pairs")
    weights, gen, imp = [], [], []
    for k in range(len(a)):
        rest = [j for j in range(len(a)) if j != k]
        w = max(GRID, key=lambda w: summary(*mixed([a[j] for j in rest],
                                                   [b[j] for j in rest], w))["auc"])
        g, i = mixed([a[k]], [b[k]], w)
        weights.append(float(w))
        gen.append(g)
        imp.append(i)
    g, i = np.concatenate(gen), np.concatenate(imp)
    base = mixed(a, b, 0.0)
    return {"fold_weights": weights, "auc": summary(g, i)["auc"],
            "auc_95": bootstrap_auc(g, i, gi, ii),
            "gain": summary(g, i)["auc"] - summary(*base)["auc"],
            "gain_95": bootstrap_auc_gain(base, (g, i), gi, ii),
            "grid_all_folds": {float(w): round(summary(*mixed(a, b, w))["auc"], 3)
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
