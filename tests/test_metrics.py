"""The people-resampled intervals that the benchmarks quote."""

from __future__ import annotations

import numpy as np

from fingerprint_live.offline.metrics import bootstrap_auc, bootstrap_auc_gain, summary


def _comparisons(rng: np.random.Generator, people: int = 12):
    """Scores of every ordered pair of ``people``, genuine ones (a person with themself) higher
    on average, with each comparison's people."""
    gi = np.repeat(np.arange(people), 4)  # four genuine comparisons a person
    ii = np.array([(a, b) for a in range(people) for b in range(people) if a != b])
    return rng.normal(1.0, 1.0, len(gi)), rng.normal(0.0, 1.0, len(ii)), gi, ii


def test_the_interval_holds_the_auc_and_narrows_with_separation() -> None:
    g, i, gi, ii = _comparisons(np.random.default_rng(0))
    lo, hi = bootstrap_auc(g, i, gi, ii, draws=300)
    assert lo < summary(g, i)["auc"] < hi
    lo2, hi2 = bootstrap_auc(g + 3.0, i, gi, ii, draws=300)
    assert hi2 - lo2 < hi - lo and lo2 > hi  # far better separated: higher and tighter


def test_a_paired_gain_is_zero_for_the_same_scores_and_sure_for_a_real_gain() -> None:
    rng = np.random.default_rng(1)
    g, i, gi, ii = _comparisons(rng)
    assert bootstrap_auc_gain((g, i), (g, i), gi, ii, draws=200) == (0.0, 0.0)
    better = g + 0.8 + rng.normal(0.0, 0.1, len(g))  # every genuine score raised
    lo, hi = bootstrap_auc_gain((g, i), (better, i), gi, ii, draws=300)
    gain = summary(better, i)["auc"] - summary(g, i)["auc"]
    assert 0 < lo < gain < hi
    # unpaired intervals of the two overlap, the paired one does not reach zero
    assert bootstrap_auc(better, i, gi, ii, draws=300)[0] < bootstrap_auc(g, i, gi, ii,
                                                                          draws=300)[1]
