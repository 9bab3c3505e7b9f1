"""Verification metrics from genuine and impostor scores (higher score = more alike)."""

from __future__ import annotations

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
