"""Does an enrollment from more recordings do better? Clip-pair AUC, enrolling 1 to 4.

On each fold of ``benchmarks/cross_validation.py`` (its model, its held-out clips as recorded
and through the avatar), every held-out person with more real recordings than enrolled is
enrolled from 1, 2, 3 and 4 recordings (as the product enrolls: the camera recordings and their
rendering through the avatar), as
``fingerprint-live enroll a.mp4 b.mp4`` does (the mean of every window of them); each further
recording of theirs is a genuine probe (as recorded, or through the avatar), every other
person's real recording an impostor probe. "same people" keeps only the people enrolled at every
count, so the counts compare like with like. A probe's score is its windows' mean cosine to the
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
from fingerprint_live.offline.evaluation import embed_clips, enrollment_of
from fingerprint_live.offline.manifest import read_manifest
from fingerprint_live.offline.metrics import pooled_by_person

#: Enrollments of this many recordings are compared.
COUNTS = (1, 2, 3, 4)
#: Combinations of recordings enrolled per person and count at most (drawn reproducibly).
MAX_COMBINATIONS = 40


def score(enrolled: list[tuple[np.ndarray, np.ndarray | None]], probe: np.ndarray,
          mix: tuple[float, ...], view: str) -> float:
    """The verifier's score: the probe's windows against the enrollment of the recordings."""
    return float(enrollment_of(enrolled, None).motion_scores(probe, mix, view).mean())


def fold_scores(fold: Path, view: str) -> dict[int, list[tuple[str, str, float]]]:
    """(enrolled person, probe person, score) for enrollments of each count of recordings,
    enrolled as the product enrolls and probed as ``view`` shows them."""
    clips = [c for c in read_manifest(fold / "test.csv") if c.kind == "real"]
    embedder = Embedder(fold / "model", threads=2)
    mix = embedder.info.mix(view)
    scored, _ = embed_clips(clips, embedder, None, False, view)
    by_person = defaultdict(list)
    for s in scored:
        by_person[s.clip.identity].append((s.enrolled_parts, s.embeddings))
    out = {n: [] for n in COUNTS}
    rng = np.random.default_rng(0)
    for person, recs in sorted(by_person.items()):
        for n in COUNTS:
            if len(recs) <= n:
                continue
            combos = list(itertools.combinations(range(len(recs)), n))
            if len(combos) > MAX_COMBINATIONS:
                combos = [combos[i] for i in sorted(rng.choice(len(combos), MAX_COMBINATIONS,
                                                               replace=False))]
            for chosen in combos:
                enrolled = [recs[k][0] for k in chosen]
                for k, (_, probe) in enumerate(recs):
                    if k not in chosen:
                        out[n].append((person, person, score(enrolled, probe, mix, view)))
                for other, probes in by_person.items():
                    if other != person:
                        out[n] += [(person, other, score(enrolled, p, mix, view))
                                   for _, p in probes]
    return out


def pooled(rows: list[tuple[str, str, float]]) -> dict:
    genuine = [s for a, b, s in rows if a == b]
    return {**pooled_by_person(rows), "genuine_score_median": float(np.median(genuine)),
            "n_genuine": len(genuine), "n_impostor": len(rows) - len(genuine),
            "people": sorted({a for a, b, _ in rows if a == b})}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="benchmarks/results")
    ap.add_argument("--out", default="benchmarks/results/multi_recording.json")
    args = ap.parse_args()
    folds = sorted(Path(args.results).glob("fold*"))
    report = {}
    for view in ("camera", "avatar"):
        per_fold = [fold_scores(f, view) for f in folds]
        rows = {n: [r for f in per_fold for r in f[n]] for n in COUNTS}
        most = {a for a, b, _ in rows[COUNTS[-1]] if a == b}  # enrolled at every count
        report[view] = {f"{n}_recording{'s' * (n > 1)}": {
            "all": pooled(rows[n]),
            "same_people": pooled([r for r in rows[n] if r[0] in most])} for n in COUNTS}
        print(view, json.dumps(report[view], indent=1), flush=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
