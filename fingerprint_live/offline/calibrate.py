"""Fitting a score calibration: class-balanced logistic regression, in numpy.

Given the scores of genuine and of impostor comparisons (a signal's raw score: a cosine, a
distance), fit ``llr = slope * score + intercept`` by maximum likelihood with both classes
weighted equally, so the fitted log-odds are log-likelihood ratios with no prior in them. A motion
model of several branches first gets the weights that mix its branches' cosines into one score.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..calibration import Calibration
from .metrics import summary


def fit_calibration(genuine: np.ndarray, impostor: np.ndarray, limit: float = 8.0,
                    ridge: float = 1e-6, steps: int = 50) -> Calibration:
    """The line through (score, log-likelihood ratio) that best separates the two sets."""
    genuine, impostor = np.asarray(genuine, float).ravel(), np.asarray(impostor, float).ravel()
    if len(genuine) < 2 or len(impostor) < 2:
        raise ValueError("a calibration needs at least two genuine and two impostor scores")
    x = np.concatenate([genuine, impostor])
    y = np.concatenate([np.ones(len(genuine)), np.zeros(len(impostor))])
    w = np.where(y == 1, 0.5 / len(genuine), 0.5 / len(impostor))
    centre, spread = x.mean(), x.std() + 1e-12
    z = (x - centre) / spread  # well-conditioned Newton steps
    design = np.column_stack([z, np.ones_like(z)])
    beta = np.zeros(2)
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        grad = design.T @ (w * (p - y)) + ridge * beta
        hess = (design * (w * p * (1 - p))[:, None]).T @ design + ridge * np.eye(2)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    slope = beta[0] / spread
    return Calibration(float(slope), float(beta[1] - slope * centre), limit)


def fit_mix(genuine: np.ndarray, impostor: np.ndarray, steps: int = 8) -> tuple[float, ...]:
    """Branch weights (summing to 1, on a grid of ``1/steps``) whose mix of per-branch scores
    ``(n, branches)`` separates genuine from impostor comparisons best (highest AUC)."""
    branches = genuine.shape[1]
    grid = [np.array(c) / steps for c in itertools.product(range(steps + 1), repeat=branches)
            if sum(c) == steps]
    best = max(grid, key=lambda m: summary(genuine @ m, impostor @ m)["auc"])
    return tuple(float(w) for w in best)
