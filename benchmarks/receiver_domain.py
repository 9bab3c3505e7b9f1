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

    python benchmarks/receiver_domain.py --results benchmarks/results
"""

from __future__ import annotations

import argparse
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


def fold_rows(fold: Path) -> dict[str, list[tuple[str, str, float]]]:
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
    rows: dict[str, list] = {}
    for name, parts in ENROLLMENTS.items():
        enrolled = [Enrollment(Vectors("", np.concatenate([e[p] for p in parts]))) for e in emb]
        for probe, key in PROBES.items():
            out = rows.setdefault(f"{name}/{probe}", [])
            for a, (ca, ea) in enumerate(zip(clips, enrolled, strict=True)):
                for b, cb in enumerate(clips):
                    same = ca.identity == cb.identity
                    if a == b or (same and ca.kind != cb.kind):  # one performance, two faces
                        continue
                    out.append((ca.identity, cb.identity,
                                float(ea.motion_scores(emb[b][key], mix).mean())))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="benchmarks/results")
    ap.add_argument("--out", default="benchmarks/results/receiver_domain.json")
    args = ap.parse_args()
    per_fold = [fold_rows(f) for f in sorted(Path(args.results).glob("fold*"))]
    report = {way: {**pooled_by_person([r for f in per_fold for r in f[way]]),
                    "folds": [pooled_by_person(f[way])["auc"] for f in per_fold]}
              for way in per_fold[0]}
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
