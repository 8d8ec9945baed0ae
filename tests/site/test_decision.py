"""The site classifier's trees and decision: set by the rows, not by a random draw."""

from __future__ import annotations

import numpy as np
import pytest

from aemon.site.decision import MIN_DECISION, best_f1_decision, fit_site_trees
from aemon.site.training_set import FOLDS, LabelledDetections


def _overlapping_classes(rng: np.random.Generator) -> LabelledDetections:
    """Bursts and background detections whose features overlap, as a machine's loud
    transients overlap quiet bursts; a third of the rows are the background alone."""
    n = 1500
    is_burst = rng.random(n) < 0.4
    features = rng.standard_normal((n, 6))
    features[is_burst, :2] += 1.2
    background_only = ~is_burst & (rng.random(n) < 0.5)
    fold = rng.integers(0, FOLDS, n)
    return LabelledDetections(features, is_burst, background_only, 7.0, int(is_burst.sum()), fold)


def test_the_decision_does_not_depend_on_the_trees_seed() -> None:
    data = _overlapping_classes(np.random.default_rng(3))
    site = np.ones(data.is_burst.size, bool)
    fits = [fit_site_trees(data, site, trees=40, seed=s, fa_per_min=1.0) for s in (0, 1, 2)]
    decisions = [decision for _, decision, _, _ in fits]
    assert decisions[0] == pytest.approx(decisions[1]) == pytest.approx(decisions[2])
    probe = data.features[:200]
    first = fits[0][0].predict_proba(probe)[:, 1]
    for trees, *_ in fits[1:]:
        np.testing.assert_allclose(trees.predict_proba(probe)[:, 1], first, atol=1e-9)
    # the background's own detections cap it: at most one in 7 s reaches it (out of fold)
    assert MIN_DECISION <= decisions[0] < 1.0


def test_the_best_f1_decision_counts_missed_bursts_and_respects_the_floor() -> None:
    probability = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.55])
    is_burst = np.array([True, True, False, True, False, False])
    decision, f1 = best_f1_decision(probability, is_burst, bursts=4)
    assert 0.6 < decision <= 0.7  # 3 of 4 bursts and one false alarm
    assert f1 == pytest.approx(2 * 3 / (4 + 4))
    floored, _ = best_f1_decision(probability, is_burst, bursts=4, floor=0.85)
    assert floored >= 0.85
