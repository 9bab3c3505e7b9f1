"""Calibrated scores: a raw similarity or distance -> a log-likelihood ratio.

A signal's raw score (a cosine for motion, a distance for appearance) means nothing on its own
scale; its log-likelihood ratio, log p(score | the enrolled person) / p(score | someone else),
can be added across signals and over time. Each model stores a line fitted offline by
class-balanced logistic regression on held-out pairs (``fingerprint_live.offline``), and a limit:
no single observation may claim more than ``limit`` nats, so a score far outside what the fit saw
cannot decide alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .errors import ModelError


@dataclass(frozen=True)
class Calibration:
    slope: float
    intercept: float
    limit: float = 8.0

    def llr(self, score: float | np.ndarray) -> float | np.ndarray:
        """Log-likelihood ratio in nats: positive for the enrolled person, negative against."""
        value = np.clip(self.slope * np.asarray(score, np.float64) + self.intercept,
                        -self.limit, self.limit)
        return float(value) if value.ndim == 0 else value

    @property
    def neutral(self) -> float:
        """The score whose ratio is 0: it counts neither for nor against."""
        return -self.intercept / self.slope

    def centred(self, neutral: float | None) -> Calibration:
        """The same slope, moved so that ``neutral`` scores 0 (None: unchanged)."""
        if neutral is None:
            return self
        return Calibration(self.slope, -self.slope * neutral, self.limit)

    def to_dict(self) -> dict:
        return {k: round(float(v), 6) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: object) -> Calibration:
        """From a model card's ``calibration``; :class:`ModelError` when absent or malformed."""
        try:
            cal = cls(float(data["slope"]), float(data["intercept"]),  # type: ignore[index]
                      float(data.get("limit", cls.limit)))  # type: ignore[union-attr]
        except (TypeError, KeyError, ValueError) as exc:
            raise ModelError(f"the model's score calibration is missing or malformed ({exc}); "
                             "reinstall fingerprint-live or refit it.") from exc
        if not all(np.isfinite([cal.slope, cal.intercept, cal.limit])) or cal.limit <= 0:
            raise ModelError("the model's score calibration has non-finite values.")
        return cal
