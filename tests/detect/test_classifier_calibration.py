"""A classifier's decision, or its SNR gate, for a false-alarm target on a background."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aemon.detect.classifier_calibration import (
    calibrate_classifier,
    classifier_decision_for_rate,
)
from aemon.detect.site_classifier import SiteClassifier, Tree
from aemon.detect.site_features import FEATURE_NAMES
from tests.detect_models import energy_model


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


def _classifier_of_column(column: int, threshold: float) -> SiteClassifier:
    """One stump: burst probability 0.1 where feature ``column`` is under 0, else 0.99."""
    stump = Tree(np.array([1, -1, -1]), np.array([2, -1, -1]), np.array([column, -2, -2]),
                 np.array([0.0, 0.0, 0.0]), np.array([0.0, -2.2, 4.6]))  # fmt: skip
    return SiteClassifier((stump,), 1.0, 0.0, threshold, 0.1)


def test_where_no_decision_meets_the_target_a_gate_does(tmp_path: Path) -> None:
    # the machine's transients all score 0.99: no decision up to 0.95 meets 1/min, so the
    # classifier keeps its decision and the gate sits above the loud ones it keeps
    rng = np.random.default_rng(0)
    features = np.ones((200, len(FEATURE_NAMES)))
    snr_db = rng.uniform(8.0, 20.0, 200)
    card = energy_model(tmp_path / "energy")
    classifier = _classifier_of_column(0, 0.6)
    assert np.all(classifier.probability(features) > 0.95)
    calibration = calibrate_classifier(
        classifier, features, snr_db, 60.0, fa_per_min=2.0, card=card, sources=("bg",)
    )
    assert calibration is not None and calibration.classifier_decision == 0.6
    assert np.count_nonzero(snr_db >= calibration.min_snr_db) <= 2
    assert "snr-gate" in calibration.method and calibration.threshold == card.threshold
    quiet = calibrate_classifier(
        classifier, -features, snr_db, 60.0, fa_per_min=2.0, card=card, sources=("bg",)
    )  # nothing kept: the decision stays, no gate
    assert quiet is not None and quiet.classifier_decision == 0.6 and quiet.min_snr_db == 0
    assert (
        calibrate_classifier(
            classifier, features[:2], snr_db[:2], 1.0, fa_per_min=0.1, card=card, sources=()
        )
        is None
    )  # two loud ones in 1 s: too few for a gate, the network is calibrated alone


def test_the_weaker_gate_wins() -> None:
    from dataclasses import replace

    from aemon.detect.calibration import SiteCalibration
    from aemon.detect.classifier_calibration import weaker_gate

    network = SiteCalibration(0.65, 1.0, 0.0, 10.0, "tail-fit+snr-gate", (), "m", min_snr_db=31.0)
    mine = replace(network, min_snr_db=37.0, classifier_decision=0.66)
    assert weaker_gate(mine, network) is network  # 31 dB keeps weaker bursts than 37 dB
    assert weaker_gate(replace(mine, min_snr_db=18.6), network).classifier_decision == 0.66
    assert weaker_gate(replace(mine, min_snr_db=31.0), network).classifier_decision == 0.66
    assert weaker_gate(mine, replace(network, min_snr_db=0.0)).min_snr_db == 0.0
