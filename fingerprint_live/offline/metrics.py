"""Verification metrics from genuine and impostor scores (higher score = more alike)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


def roc(genuine: np.ndarray, impostor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False-accept and true-accept rates at every threshold, highest threshold first."""
    scores = np.concatenate([genuine, impostor])
    labels = np.concatenate([np.ones(len(genuine)), np.zeros(len(impostor))])
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]  # ties share one threshold
    tpr = np.r_[0, np.cumsum(labels)[last] / max(1, len(genuine))]
    fpr = np.r_[0, np.cumsum(1 - labels)[last] / max(1, len(impostor))]
    return fpr, tpr, np.r_[np.inf, scores[last]]


def summary(genuine: np.ndarray, impostor: np.ndarray) -> dict:
    """AUC, EER, TPR at 1% FPR, and the threshold that gives 1% and 5% FPR."""
    genuine, impostor = np.asarray(genuine, float), np.asarray(impostor, float)
    if len(genuine) == 0 or len(impostor) == 0:
        return {"auc": None, "eer": None, "tpr_at_fpr_1pct": None}
    fpr, tpr, thr = roc(genuine, impostor)
    auc = float(np.trapezoid(tpr, fpr)) if hasattr(np, "trapezoid") else float(np.trapz(tpr, fpr))
    i = int(np.argmin(np.abs((1 - tpr) - fpr)))
    eer = float(((1 - tpr[i]) + fpr[i]) / 2)

    def at(max_fpr: float) -> int:
        return int(np.flatnonzero(fpr <= max_fpr)[-1])

    return {
        "auc": auc,
        "eer": eer,
        "tpr_at_fpr_1pct": float(tpr[at(0.01)]),
        "threshold_at_fpr_1pct": float(thr[at(0.01)]),
        "threshold_at_fpr_5pct": float(thr[at(0.05)]),
        "threshold_at_eer": float(thr[i]),
    }


def weighted_auc(genuine: np.ndarray, impostor: np.ndarray, w_genuine: np.ndarray,
                 w_impostor: np.ndarray) -> float:
    """The AUC with a weight on every score (ties count half): the chance that a genuine
    comparison drawn by weight scores above an impostor one drawn by weight."""
    scores = np.concatenate([impostor, genuine])
    order = np.argsort(scores, kind="stable")
    values = scores[order]
    is_imp = np.concatenate([np.ones(len(impostor), bool), np.zeros(len(genuine), bool)])[order]
    weights = np.concatenate([w_impostor, w_genuine])[order]
    starts = np.r_[0, np.flatnonzero(np.diff(values)) + 1]  # groups of tied scores
    imp_in = np.add.reduceat(np.where(is_imp, weights, 0.0), starts)
    gen_in = np.add.reduceat(np.where(is_imp, 0.0, weights), starts)
    below = np.cumsum(imp_in) - imp_in  # impostor weight strictly below each group
    total = imp_in.sum() * gen_in.sum()
    return float((gen_in * (below + 0.5 * imp_in)).sum() / total) if total > 0 else float("nan")


def person_draws(genuine_ids: np.ndarray, impostor_ids: np.ndarray, draws: int = 1000,
                 seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Weights of every genuine and impostor comparison in each of ``draws`` resamplings of
    *people*: comparisons of one person are not independent, so each draw takes identities with
    replacement and weighs every comparison by how often its people were drawn.
    ``genuine_ids``: the person of each genuine score; ``impostor_ids``: ``(n, 2)``, the two
    people of each impostor score."""
    people, index = np.unique(np.concatenate([genuine_ids, impostor_ids.ravel()]),
                              return_inverse=True)
    g = index[:len(genuine_ids)]
    a, b = index[len(genuine_ids):].reshape(-1, 2).T
    rng = np.random.default_rng(seed)
    for _ in range(draws):
        counts = rng.multinomial(len(people), np.full(len(people), 1 / len(people)))
        yield counts[g].astype(float), (counts[a] * counts[b]).astype(float)


def bootstrap_auc(genuine: np.ndarray, impostor: np.ndarray, genuine_ids: np.ndarray,
                  impostor_ids: np.ndarray, draws: int = 1000, seed: int = 0,
                  ) -> tuple[float, float]:
    """A 95% interval of the AUC, resampling people (:func:`person_draws`)."""
    aucs = [weighted_auc(genuine, impostor, wg, wi)
            for wg, wi in person_draws(genuine_ids, impostor_ids, draws, seed)]
    return _interval(aucs)


def bootstrap_auc_gain(base: tuple[np.ndarray, np.ndarray], other: tuple[np.ndarray, np.ndarray],
                       genuine_ids: np.ndarray, impostor_ids: np.ndarray, draws: int = 1000,
                       seed: int = 0) -> tuple[float, float]:
    """A 95% interval of ``other``'s AUC minus ``base``'s, both ``(genuine, impostor)`` scores
    of the same comparisons: paired, each draw of people weighs both alike, so the interval
    holds only what differs between the two, not which people happened to be in the data."""
    gains = [weighted_auc(*other, wg, wi) - weighted_auc(*base, wg, wi)
             for wg, wi in person_draws(genuine_ids, impostor_ids, draws, seed)]
    return _interval(gains)


def _interval(values: list[float]) -> tuple[float, float]:
    lo, hi = np.percentile([v for v in values if np.isfinite(v)], [2.5, 97.5])
    return float(lo), float(hi)


def pooled_by_person(rows: Sequence[tuple[str, str, float]]) -> dict:
    """AUC, EER and the people-resampled 95% interval of the AUC of comparisons given as
    ``(person enrolled, person probed, score)``: genuine where the two are one person."""
    gen = [(a, s) for a, b, s in rows if a == b]
    imp = [(a, b, s) for a, b, s in rows if a != b]
    g, i = np.array([s for _, s in gen]), np.array([s for *_, s in imp])
    stats = summary(g, i)
    return {"auc": stats["auc"], "eer": stats["eer"],
            "auc_95": bootstrap_auc(g, i, np.array([a for a, _ in gen]),
                                    np.array([[a, b] for a, b, _ in imp]))}
