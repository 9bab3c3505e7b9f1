"""How a motion window is scored against an enrollment: the clip-pair AUC of each way.

On each fold of ``benchmarks/cross_validation.py`` (its model, its held-out clips as recorded
and through the avatar), every ordered pair of clips (A, B) is scored from the same window
embeddings in several ways; nothing is trained. Cross-recording pairs, folds pooled, with a
95% interval that resamples people.

- ``centroid``: the cosine of each of B's windows to A's mean embedding (what ships);
- ``snorm``: the same cosine, adaptive-S-normalised against a cohort of the fold's *training*
  identities (their mean embeddings): the top-k cohort similarities of the enrollment and of
  the window give the means and spreads that centre and scale it, as speaker verification does;
- ``kmeans``: the best of k centroids of A's windows (a user who talks in several ways);
- ``topk``: the mean of the k highest similarities to A's windows.

A model of several branches is scored each way per branch, and the view's mix weighs them.

    python benchmarks/scoring_ablation.py --results benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from fingerprint_live.embedder import Embedder
from fingerprint_live.offline.evaluation import embed_clips
from fingerprint_live.offline.manifest import read_manifest
from fingerprint_live.offline.metrics import pooled_by_person

COHORT_TOP = 20
CENTROIDS = 3
TOPK = 5


def unit(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-12)


def kmeans(x: np.ndarray, k: int, seed: int = 0, steps: int = 20) -> np.ndarray:
    """k spherical centroids of unit vectors (fewer when there are fewer vectors)."""
    k = min(k, len(x))
    centres = x[np.random.default_rng(seed).choice(len(x), k, replace=False)]
    for _ in range(steps):
        label = np.argmax(x @ centres.T, axis=1)
        centres = unit(np.stack([x[label == j].mean(0) if (label == j).any() else centres[j]
                                 for j in range(k)]))
    return centres


def snorm_stats(vectors: np.ndarray, cohort: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sims = np.sort(vectors @ cohort.T, axis=1)[:, -COHORT_TOP:]
    return sims.mean(1), sims.std(1) + 1e-6


def pair_scores(enrolled: np.ndarray, probe: np.ndarray, cohort: np.ndarray) -> dict:
    centroid = unit(enrolled.mean(0))
    raw = probe @ centroid
    mu_e, sd_e = snorm_stats(centroid[None], cohort)
    mu_w, sd_w = snorm_stats(probe, cohort)
    sims = probe @ enrolled.T
    return {"centroid": float(raw.mean()),
            "snorm": float((0.5 * (raw - mu_e) / sd_e + 0.5 * (raw - mu_w) / sd_w).mean()),
            "kmeans": float(np.max(probe @ kmeans(enrolled, CENTROIDS).T, axis=1).mean()),
            "topk": float(np.sort(sims, axis=1)[:, -TOPK:].mean())}


def mixed_scores(enrolled: np.ndarray, probe: np.ndarray, cohort: np.ndarray,
                 mix: tuple[float, ...]) -> dict:
    """Each way's score per branch of the model (its own unit part), weighed by the view's mix,
    as the verifier weighs the branches' cosines."""
    parts = [pair_scores(*(unit(x.reshape(len(x), len(mix), -1)[:, b])
                           for x in (enrolled, probe, cohort))) for b in range(len(mix))]
    return {way: sum(w * p[way] for w, p in zip(mix, parts, strict=True)) for way in parts[0]}


def fold_pairs(fold: Path, view: str) -> list[tuple[str, str, dict]]:
    embedder = Embedder(fold / "model", threads=2)
    mix = embedder.info.mix("avatar" if view == "avatar" else "camera")
    train, _ = embed_clips(read_manifest(fold / "train.csv"), embedder)
    by_person: dict[str, list[np.ndarray]] = {}
    for s in train:
        by_person.setdefault(s.clip.identity, []).append(s.embeddings)
    cohort = np.stack([np.concatenate(v).mean(0) for v in by_person.values()])
    test, _ = embed_clips(read_manifest(fold / "test.csv"), embedder, None, False,
                          "avatar" if view == "avatar" else "camera", enrolled_from="camera")
    out = []
    for a in test:
        for b in test:
            if a is b or a.clip.kind != b.clip.kind:
                continue
            out.append((a.clip.identity, b.clip.identity,
                        mixed_scores(a.enrolled_parts[0], b.embeddings, cohort, mix)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="benchmarks/results")
    ap.add_argument("--out", default="benchmarks/results/scoring.json")
    args = ap.parse_args()
    folds = sorted(Path(args.results).glob("fold*"))
    report = {}
    for view in ("raw", "avatar"):
        pairs = [p for f in folds for p in fold_pairs(f, view)]
        report[view] = {way: pooled_by_person([(a, b, s[way]) for a, b, s in pairs])
                        for way in pairs[0][2]}
        print(view, json.dumps(report[view], indent=1), flush=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
