"""The ablation table: one row per training variant, from each variant's cross-validation.

Each variant is a run of ``benchmarks/cross_validation.py`` into its own folder under
``--root`` (same folds, same seed, only ``--train-args`` differ), pairs only:

    python benchmarks/cross_validation.py --out benchmarks/results/ablation/vary \\
        --variants raw avatar --calibrate --no-takeover --train-args=--vary

Cross-recording clip pairs, folds pooled (95% interval resampling people), the mean (min-max)
over folds, and the change against the ``--base`` variant with a *paired* interval (every
variant scores the same pairs, so each resampling of people weighs both alike); as recorded
(raw) and through the default avatar. Also written as JSON (``--json``).

    python benchmarks/ablation_table.py --root benchmarks/results/ablation
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from cross_validation import pooled_pairs

from fingerprint_live.offline.metrics import bootstrap_auc, bootstrap_auc_gain, summary

VIEWS = ("raw", "avatar")
FLAGS = ("varied", "pose_width", "avatar_portraits")


def runs_of(variant: Path, view: str) -> list[dict] | None:
    """The variant's fold results for ``view``, or None while a fold is missing."""
    paths = sorted(variant.glob(f"fold*/eval_{view}.json"))
    folds = sorted(variant.glob("fold*/"))
    if not paths or len(paths) != len(folds):
        return None
    return [json.loads(p.read_text()) for p in paths]


def paired_pools(runs: list[dict], other: list[dict]) -> tuple[tuple[np.ndarray, np.ndarray],
                                                              tuple[np.ndarray, np.ndarray],
                                                              np.ndarray, np.ndarray]:
    """Both variants' pooled (genuine, impostor) scores and the pairs' people; refuses two runs
    that did not score the same pairs, whose AUCs a paired interval could not compare."""
    g, i, gi, ii = pooled_pairs(runs)
    og, oi, ogi, oii = pooled_pairs(other)
    if not (np.array_equal(gi, ogi) and np.array_equal(ii, oii)):
        raise SystemExit("the two variants did not score the same pairs")
    return (g, i), (og, oi), gi, ii


def view_row(runs: list[dict], base: list[dict] | None) -> dict:
    """A view's pooled AUC and folds; against ``base``, the paired change and where it comes
    from (``by_person``: each person's mean change of their cross-recording genuine scores, and
    the impostor scores' mean change)."""
    g, i, gi, ii = pooled_pairs(runs)
    row = {"auc": summary(g, i)["auc"], "auc_95": bootstrap_auc(g, i, gi, ii),
           "folds": [r["cross_recording"]["auc"] for r in runs]}
    if base is not None:
        _, (bg, bi), _, _ = paired_pools(runs, base)
        row["gain"] = row["auc"] - summary(bg, bi)["auc"]
        row["gain_95"] = bootstrap_auc_gain((bg, bi), (g, i), gi, ii)
        row["by_person"] = {
            "impostor_change": float(np.mean(i - bi)),
            "genuine_change": {str(p): {"pairs": int((gi == p).sum()),
                                        "change": float(np.mean(g[gi == p] - bg[gi == p]))}
                               for p in np.unique(gi)}}
    return row


def cell(row: dict) -> str:
    lo, hi = row["auc_95"]
    folds = row["folds"]
    text = (f"{row['auc']:.3f} [{lo:.2f}-{hi:.2f}]; folds {np.mean(folds):.3f} "
            f"({min(folds):.2f}-{max(folds):.2f})")
    if "gain" in row:
        glo, ghi = row["gain_95"]
        text += f"; {row['gain']:+.3f} [{glo:+.3f}, {ghi:+.3f}]"
    return text


def train_args(variant: Path) -> dict:
    """How a variant's models were trained, from its first fold's model card."""
    card = json.loads((variant / "fold0" / "model" / "embedder.json").read_text())
    return {**card.get("features", {}), **{k: card.get(k) for k in FLAGS}}


def described(train: dict, base: dict) -> str:
    """What a variant's training changed against the base, in a few words."""
    changed = []
    for key, value in train.items():
        if base.get(key) == value:
            continue
        if key == "avatar_portraits":
            value = ", ".join(Path(v).stem for v in value)
        changed.append(f"{key} {value}")
    return "; ".join(changed) or "as the base"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="benchmarks/results/ablation")
    ap.add_argument("--base", default="base", help="the variant the others are compared with")
    ap.add_argument("--json", default=None, help="also write the rows to this file")
    args = ap.parse_args()
    root = Path(args.root)
    base = {v: runs_of(root / args.base, v) for v in VIEWS}
    rows = {}
    base_train = train_args(root / args.base)
    print("| variant | trained with (what differs from the base) | raw: AUC pooled [95%]; folds "
          f"mean (min-max); change against {args.base} [paired 95%] | through the avatar |")
    print("| --- | --- | --- | --- |")
    for variant in sorted(p for p in root.iterdir() if p.is_dir()):
        views = {v: runs_of(variant, v) for v in VIEWS}
        if any(r is None for r in views.values()):
            print(f"(skipped {variant.name}: not every fold has both views yet)", file=sys.stderr)
            continue
        train = train_args(variant)
        rows[variant.name] = {"train": train, **{
            v: view_row(views[v], None if variant.name == args.base else base[v])
            for v in VIEWS}}
        row = rows[variant.name]
        print(f"| {variant.name} | {described(train, base_train)} | {cell(row['raw'])} | "
              f"{cell(row['avatar'])} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
