"""The day-one classifier's decision for a false-alarm target (``classifier_decision_for_rate``)."""

from __future__ import annotations

import numpy as np
import pytest

from aemon.detect.calibration import classifier_decision_for_rate


def _background(count: int, seed: int = 0) -> np.ndarray:
    """Burst probabilities of a machine's detections: most low, an exponential tail in logit."""
    z = np.random.default_rng(seed).exponential(1.0, count) - 1.0
    return np.asarray(1 / (1 + np.exp(-z)))


@pytest.mark.parametrize("fa_per_min", [2.0, 10.0, 60.0])
def test_read_off_the_data_it_keeps_at_most_the_target(fa_per_min: float) -> None:
    p = _background(2000)
    kept = p >= 0.5
    decision, method, measured = classifier_decision_for_rate(p, kept, 60.0, fa_per_min, 0.5)
    assert method == "empirical"
    assert np.count_nonzero(p[kept] >= decision) <= fa_per_min
    assert np.count_nonzero(p[kept] >= decision - 1e-3) > fa_per_min - 1  # the lowest such
    assert measured == np.count_nonzero(p[kept] >= decision)


def test_a_short_background_extrapolates_to_about_the_target() -> None:
    # 10 s cannot show 1 per minute: the tail is fitted; over many 10 s backgrounds of one
    # machine, the decisions give about the target on 100 min of it
    longer = _background(1800 * 100, seed=99)
    rates = []
    for seed in range(9):
        p = _background(300, seed=seed)
        decision, method, _ = classifier_decision_for_rate(p, p >= 0.5, 10.0, 1.0, 0.5)
        assert method == "tail-fit"
        rates.append(np.count_nonzero(longer >= decision) / 100.0)
    assert 0.3 <= float(np.median(rates)) <= 3.0


def test_never_lowered_and_only_what_it_keeps_counts() -> None:
    p = _background(500)
    decision, method, measured = classifier_decision_for_rate(p, p >= 0.99, 60.0, 600.0, 0.8)
    assert decision == 0.8 and method == "empirical"  # the target allows every kept one
    none_kept = np.zeros(p.size, bool)
    assert classifier_decision_for_rate(p, none_kept, 60.0, 1.0, 0.6)[0] == 0.6
    two = np.array([0.7, 0.9])
    decision, method, measured = classifier_decision_for_rate(two, two > 0.5, 60.0, 0.5, 0.6)
    assert method == "above-all" and decision > 0.9 and measured == 0.0
