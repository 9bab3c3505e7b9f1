"""The receiver's enrollment and the avatar's domain: which enrollment, which centre.

The receiver compares the avatar's motion with an enrollment. On each fold of
``benchmarks/cross_validation.py`` (its model, its held-out clips), every cross-recording pair
of held-out clips (enroll from A, probe B through the avatar) is scored with:

- the enrollment made from the owner's camera recording (what ships), from the recording
  rendered through the avatar's portrait (the owner's clips rendered at enrollment), or both
  (the windows of both, one centroid);
- the probe's windows centred with the model's centre (as before 2026-12-04) or with the avatar
  view's own centre (fitted on the fold's training people rendered through the avatar).

Every way uses the fold's avatar mix. Folds pooled; 95% interval resampling people.

With ``--weights``, the product's enrollment (both parts, each part's mean weighing half) is
compared with other weights of the avatar part, per branch of the motion model: each fold is
scored with the weights chosen on the other folds' pairs (the best pooled AUC there).

    python benchmarks/receiver_domain.py --results benchmarks/results [--weights]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

from fingerprint_live.embedder import Embedder
from fingerprint_live.enrollment import Enrollment, Vectors
from fingerprint_live.errors import FingerprintError
from fingerprint_live.offline.evaluation import VIEWS
from fingerprint_live.offline.manifest import read_manifest
from fingerprint_live.offline.metrics import pooled_by_person

#: enrollment -> the embeddings it is made of, by (landmarks, centre)
ENROLLMENTS = {"camera": [("camera", "camera")], "avatar": [("avatar", "avatar")],
               "both": [("camera", "camera"), ("avatar", "avatar")]}
#: probe centring -> (landmarks, centre)
PROBES = {"model_centre": ("avatar", "camera"), "avatar_centre": ("avatar", "avatar")}
#: The avatar part's weights tried with ``--weights`` (the product's: 0.5 in every branch).
WEIGHTS = (0.0, 0.25, 0.5, 0.625, 0.75, 0.875, 1.0)
Rows = list[tuple[str, str, float]]


def fold_rows(fold: Path, weights: bool = False) -> dict[str, Rows]:
    """Every way's comparisons on ``fold``; with ``weights``, also ``weight/W`` (the avatar
    part's weight in each branch, ``W`` a tuple) for the product's enrollment and probe."""
    embedder = Embedder(fold / "model", threads=2)
    mix = embedder.info.mix("avatar")
    clips, emb = [], []
    for clip in read_manifest(fold / "test.csv"):
        try:
            marks = {view: VIEWS[view](clip.path) for view in VIEWS}
        except FingerprintError:
            continue
        e = {(view, centre): embedder.embed_clip(marks[view].times, marks[view].points,
                                                 None, centre)[0]
             for view, centre in {*PROBES.values(), *(p for v in ENROLLMENTS.values()
                                                      for p in v)}}
        if all(len(v) for v in e.values()):
            clips.append(clip)
            emb.append(e)
    ways = {f"{name}/{probe}": ([Enrollment(Vectors("", np.concatenate([e[p] for p in parts])))
                                 for e in emb], key)
            for name, parts in ENROLLMENTS.items() for probe, key in PROBES.items()}
    if weights:
        branches = embedder.info.branches
        for w in itertools.product(WEIGHTS, repeat=branches):
            share = np.repeat(w, embedder.info.dimension // branches)
            ways[f"weight/{w}"] = ([Enrollment(Vectors("", (
                (1 - share) * e[("camera", "camera")].mean(0)
                + share * e[("avatar", "avatar")].mean(0))[None])) for e in emb],
                PROBES["avatar_centre"])
    rows: dict[str, Rows] = {}
    for way, (enrolled, key) in ways.items():
        out = rows[way] = []
        for a, (ca, ea) in enumerate(zip(clips, enrolled, strict=True)):
            for b, cb in enumerate(clips):
                same = ca.identity == cb.identity
                if a == b or (same and ca.kind != cb.kind):  # one performance, two faces
                    continue
                out.append((ca.identity, cb.identity,
                            float(ea.motion_scores(emb[b][key], mix).mean())))
    return rows


def held_out_weights(per_fold: list[dict[str, Rows]]) -> dict:
    """Each fold scored with the avatar part's weights chosen on the other folds."""
    ways = [w for w in per_fold[0] if w.startswith("weight/")]
    chosen, held = [], []
    for k, fold in enumerate(per_fold):
        others = {w: pooled_by_person([r for j, f in enumerate(per_fold) if j != k
                                       for r in f[w]])["auc"] for w in ways}
        chosen.append(max(others, key=others.get))
        held += fold[chosen[-1]]
    return {**pooled_by_person(held), "chosen": chosen}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="benchmarks/results")
    ap.add_argument("--out", default="benchmarks/results/receiver_domain.json")
    ap.add_argument("--weights", action="store_true",
                    help="also weigh the avatar part against the camera part, per branch, "
                    "chosen on other folds")
    args = ap.parse_args()
    per_fold = [fold_rows(f, args.weights) for f in sorted(Path(args.results).glob("fold*"))]
    report = {way: {**pooled_by_person([r for f in per_fold for r in f[way]]),
                    "folds": [pooled_by_person(f[way])["auc"] for f in per_fold]}
              for way in per_fold[0]}
    if args.weights:
        report["weights_held_out"] = held_out_weights(per_fold)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
