"""An enrollment that grows with verified use: does it help, and does it let anyone in?

On each fold of ``benchmarks/cross_validation.py`` (its model and calibrations, fitted on the
other folds; its held-out people only):

- **Genuine calls**: every held-out person with three or more real recordings is enrolled from
  one recording (camera), then a second recording plays as a call on the camera side (face and
  motion fused, as ``enroll --add`` and a live call check it). What ``growth`` lets the call
  add is added; every further recording of theirs is a genuine probe, every other held-out
  person's real recording an impostor probe, scored as recorded and through the avatar
  (the receiver's view), with the original enrollment and with the grown one.
- **Face swaps**: the owner's face (the call recording's face descriptors) with another
  person's motion (their landmarks), what a live face swap of the owner gives the camera side:
  how many are added (the rule is: none).
- **Strangers**: another person's own face and motion: how many are added.

    python benchmarks/enrollment_growth.py --results benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from fingerprint_live.embedder import Embedder
from fingerprint_live.face_descriptor import FaceDescriptor
from fingerprint_live.growth import CallHarvest, grow
from fingerprint_live.offline.clip_stream import play
from fingerprint_live.offline.evaluation import Scored, embed_clips
from fingerprint_live.offline.manifest import read_manifest
from fingerprint_live.offline.metrics import pooled_by_person
from fingerprint_live.progress import progress_bar
from fingerprint_live.verifier import StreamingVerifier

#: Other people whose motion drives each face swap, per call.
SWAPS_PER_CALL = 3


def call(owner: Scored, face_of: Scored, motion_of: Scored, embedder: Embedder,
         descriptor: FaceDescriptor):
    """Play ``motion_of``'s landmarks with ``face_of``'s descriptors through the camera-side
    check enrolled from ``owner``; what the call may add."""
    enrollment = owner.enrollment(embedder.info, descriptor.info.model_id)
    harvest = CallHarvest.of(embedder.info)
    verifier = StreamingVerifier(enrollment, embedder, appearance=descriptor.info,
                                 harvest=harvest)
    faces = face_of.descriptors

    def describe(i, face):
        return faces.vectors[(i // 5) % len(faces)] if face_of is not motion_of \
            else face_of.describe(i, face)

    play(verifier, motion_of.landmarks, describe)
    return enrollment, harvest.addition(enrollment, verifier.motion_llr, verifier.mix,
                                        motion_of.clip.path.name)


def fold_run(fold: Path, descriptor: FaceDescriptor) -> dict:
    embedder = Embedder(fold / "model", threads=2)
    clips = [c for c in read_manifest(fold / "test.csv") if c.kind == "real"]
    camera, _ = embed_clips(clips, embedder, descriptor=descriptor)
    avatar, _ = embed_clips([s.clip for s in camera], embedder, view="avatar",
                            enrolled_from="camera")
    probes = {"camera": {s.clip.path: s.embeddings for s in camera},
              "avatar": {s.clip.path: s.embeddings for s in avatar}}
    by_person = defaultdict(list)
    for s in camera:
        by_person[s.clip.identity].append(s)
    out = {"genuine_calls": [], "swaps": [], "strangers": [],
           "pairs": {v: {"original": [], "grown": []} for v in probes}}
    rng = np.random.default_rng(0)
    people = sorted(by_person)
    for person in progress_bar(people, desc=fold.name, unit="person"):
        recs = by_person[person]
        if len(recs) < 2:
            continue
        others = [p for p in people if p != person]
        for i, owner in enumerate(recs):
            for j, mate in enumerate(recs):
                if i == j:
                    continue
                enrollment, addition = call(owner, mate, mate, embedder, descriptor)
                out["genuine_calls"].append({"person": person, "added": addition.eligible,
                                             "why": addition.reason})
                for other in rng.choice(others, min(SWAPS_PER_CALL, len(others)),
                                        replace=False):
                    stranger = by_person[other][0]
                    _, swap = call(owner, mate, stranger, embedder, descriptor)
                    out["swaps"].append({"person": person, "driver": other,
                                         "added": swap.eligible, "why": swap.reason})
                    _, alone = call(owner, stranger, stranger, embedder, descriptor)
                    out["strangers"].append({"person": person, "stranger": other,
                                             "added": alone.eligible, "why": alone.reason})
                if not addition.eligible or len(recs) < 3:
                    continue
                grown = grow(enrollment, addition)
                mix = {v: embedder.info.mix(v) for v in probes}
                for view, table in probes.items():
                    for name, e in (("original", enrollment), ("grown", grown)):
                        for k, rec in enumerate(recs):
                            if k not in (i, j) and rec.clip.path in table:
                                out["pairs"][view][name].append(
                                    (person, person, float(e.motion_scores(
                                        table[rec.clip.path], mix[view], view).mean())))
                        for other in others:
                            for rec in by_person[other]:
                                if rec.clip.path in table:
                                    out["pairs"][view][name].append(
                                        (person, other, float(e.motion_scores(
                                            table[rec.clip.path], mix[view], view).mean())))
    return out


def share(rows: list[dict]) -> dict:
    return {"added": sum(r["added"] for r in rows), "of": len(rows),
            "share": float(np.mean([r["added"] for r in rows])) if rows else None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="benchmarks/results")
    ap.add_argument("--out", default="benchmarks/results/enrollment_growth.json")
    args = ap.parse_args()
    descriptor = FaceDescriptor()
    runs = [fold_run(f, descriptor) for f in sorted(Path(args.results).glob("fold*"))]
    merged = {k: [r for run in runs for r in run[k]] for k in ("genuine_calls", "swaps",
                                                              "strangers")}
    report = {k: share(v) for k, v in merged.items()}
    report["refusals"] = {k: sorted({r["why"].split(" (")[0] for r in v if not r["added"]})
                          for k, v in merged.items()}
    for view in ("camera", "avatar"):
        report[view] = {name: pooled_by_person([tuple(r) for run in runs
                                                for r in run["pairs"][view][name]])
                        for name in ("original", "grown")}
    report["swaps_added"] = [r for r in merged["swaps"] if r["added"]]
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "refusals"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
