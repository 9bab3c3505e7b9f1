"""Novelty Local Outlier Factor in numpy, so the runtime needs no scikit-learn.

It follows scikit-learn's ``LocalOutlierFactor(novelty=True)`` exactly (Euclidean metric, brute
force): a point is as normal as its local reachability density is close to that of its ``k``
nearest training points. The fit keeps what scoring needs: the training points, each one's
distance to its ``k``-th neighbour and its local reachability density (lrd).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Rows scored at once: bounds the (rows x training points) distance block to a few MB.
CHUNK = 256


@dataclass(frozen=True)
class NoveltyLOF:
    """A fitted novelty LOF; ``score_samples`` is higher for more normal points."""

    points: np.ndarray  # (N, D) the training points
    k_distance: np.ndarray  # (N,) each training point's distance to its k-th neighbour
    lrd: np.ndarray  # (N,) local reachability density of each training point
    k: int
    offset: float = -1.5  # predict(): below this score is an outlier (scikit-learn's default)

    @classmethod
    def fit(cls, points: np.ndarray, k: int = 20) -> NoveltyLOF:
        """Fit on ``points (N, D)``; a point is never its own neighbour, as in scikit-learn."""
        points = np.asarray(points, np.float64)
        if len(points) <= k:
            raise ValueError(f"need more than k={k} training points, got {len(points)}")
        dist, idx = _neighbours(points, points, k, exclude_self=True)
        k_distance = dist[:, -1]
        lrd = _lrd(dist, k_distance[idx])
        return cls(points, k_distance, lrd, k)

    def score_samples(self, x: np.ndarray) -> np.ndarray:
        """The negated local outlier factor of each row of ``x``: about -1 for normal points."""
        x = np.asarray(x, np.float64)
        out = np.empty(len(x))
        for s in range(0, len(x), CHUNK):
            dist, idx = _neighbours(x[s:s + CHUNK], self.points, self.k)
            lrd = _lrd(dist, self.k_distance[idx])
            out[s:s + CHUNK] = -(self.lrd[idx] / lrd[:, None]).mean(axis=1)
        return out

    def predict(self, x: np.ndarray) -> np.ndarray:
        """+1 for inliers, -1 for outliers (score below ``offset``), as scikit-learn does."""
        return np.where(self.score_samples(x) < self.offset, -1, 1)


def _neighbours(x: np.ndarray, points: np.ndarray, k: int,
                exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Distances and indices of the ``k`` nearest ``points`` of each row of ``x``, nearest first."""
    d2 = (x**2).sum(1)[:, None] - 2 * x @ points.T + (points**2).sum(1)[None]
    if exclude_self:
        np.fill_diagonal(d2, np.inf)
    idx = np.argpartition(d2, k - 1, axis=1)[:, :k]
    near = np.take_along_axis(d2, idx, axis=1)
    order = np.argsort(near, axis=1)
    idx, near = np.take_along_axis(idx, order, axis=1), np.take_along_axis(near, order, axis=1)
    return np.sqrt(np.maximum(near, 0.0)), idx


def _lrd(dist: np.ndarray, neighbour_k_distance: np.ndarray) -> np.ndarray:
    """Local reachability density: 1 / mean reach distance (scikit-learn's 1e-10 guard kept)."""
    reach = np.maximum(dist, neighbour_k_distance)
    return 1.0 / (reach.mean(axis=1) + 1e-10)
