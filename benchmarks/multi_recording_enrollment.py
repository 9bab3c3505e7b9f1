"""Does an enrollment from two recordings beat one? Clip-pair AUC, enrolling one or two.

On each fold of ``benchmarks/cross_validation.py`` (its model, its held-out clips as recorded
and through the avatar), every held-out person with three or more real recordings is enrolled
from one recording, and from two, as ``fingerprint-live enroll a.mp4 b.mp4`` does (the mean of
every window of both); a third recording of theirs is the genuine probe, every other person's
real recording an impostor probe. A probe's score is its windows' mean cosine to the
enrollment's mean, as the verifier scores. Folds pooled, 95% interval resampling people.

The data holds few such people (five in the held-out folds: three of them recorded in one
studio session, so their "recordings" are different sentences of one day), so read the
interval, not the point.

    python benchmarks/multi_recording_enrollment.py --results benchmarks/results
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from fingerprint_live.embedder import Embedder
from fingerprint_live.enrollment import Enrollment, Vectors
from fingerprint_live.offline.avatar_render import rendered_clip
from fingerprint_live.offline.clip_landmarks import extract_clip
from fingerprint_live.offline.evaluation import embed_clips
from fingerprint_live.offline.manifest import read_manifest
from fingerprint_live.offline.metrics import pooled_by_person


def score(enrolled: list[np.ndarray], probe: np.ndarray, mix: tuple[float, ...]) -> float:
    """The verifier's score: the probe's windows against every enrolled window."""
    return float(Enrollment(Vectors("", np.concatenate(enrolled))).motion_scores(probe, mix)
                 .mean())


def fold_scores(fold: Path, view: str) -> dict[int, list[tuple[str, str, float]]]:
    """(enrolled person, probe person, score) for enrollments of 1 and 2 recordings."""
    load = rendered_clip if view == "avatar" else extract_clip
    clips = [c for c in read_manifest(fold / "test.csv") if c.kind == "real"]
    embedder = Embedder(fold / "model", threads=2)
    mix = embedder.info.mix("avatar" if view == "avatar" else "camera")
    scored, _ = embed_clips(clips, embedder, None, False, load)
    by_person = defaultdict(list)
    for s in scored:
        by_person[s.clip.identity].append(s.embeddings)
    out = {1: [], 2: []}
    for person, recs in by_person.items():
        if len(recs) < 3:
            continue
        for n in (1, 2):
            for chosen in itertools.combinations(range(len(recs)), n):
                enrolled = [recs[k] for k in chosen]
                for k, probe in enumerate(recs):
                    if k not in chosen:
                        out[n].append((person, person, score(enrolled, probe, mix)))
                for other, probes in by_person.items():
                    if other != person:
                        out[n] += [(person, other, score(enrolled, p, mix)) for p in probes]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="benchmarks/results")
    ap.add_argument("--out", default="benchmarks/results/multi_recording.json")
    args = ap.parse_args()
    folds = sorted(Path(args.results).glob("fold*"))
    report = {}
    for view in ("raw", "avatar"):
        per_fold = [fold_scores(f, view) for f in folds]
        report[view] = {}
        for n in (1, 2):
            rows = [r for f in per_fold for r in f[n]]
            genuine = [s for a, b, s in rows if a == b]
            report[view][f"{n}_recording{'s' * (n > 1)}"] = {
                **pooled_by_person(rows), "genuine_score_median": float(np.median(genuine)),
                "n_genuine": len(genuine), "n_impostor": len(rows) - len(genuine),
                "people": sorted({a for a, b, _ in rows if a == b})}
        print(view, json.dumps(report[view], indent=1), flush=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
