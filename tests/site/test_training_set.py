"""Labelled detections: out-of-fold scores hold a background stretch out whole, and a lead-in
only warms the stream up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from aemon.detect.onnx_runtime import OnnxDetector
from aemon.site.training_set import (
    FOLDS,
    LabelledDetections,
    _fold,
    detections,
    labelled_detections,
    out_of_fold_probability,
)


def _copies(rng: np.random.Generator, passes: int) -> LabelledDetections:
    """Random-label detections, each found again in ``passes`` mixtures (same features)."""
    n = 300
    features = rng.standard_normal((n, 4))
    is_burst = rng.random(n) < 0.5
    onsets = np.sort(rng.integers(0, 10_000, n))
    fold = _fold(onsets, 10_000)
    return LabelledDetections(
        np.tile(features, (passes, 1)), np.tile(is_burst, passes), np.zeros(n * passes, bool),
        1.0, int(is_burst.sum()) * passes, np.tile(fold, passes),
    )  # fmt: skip


def test_a_detections_copies_never_score_it() -> None:
    data = _copies(np.random.default_rng(0), passes=4)
    memory = KNeighborsClassifier(n_neighbors=1)
    guessed = out_of_fold_probability(memory, data) >= 0.5
    # labels are coin flips: only a copy on the training side could guess them
    assert 0.35 < np.mean(guessed == data.is_burst) < 0.65


def test_stretches_split_each_background_in_time() -> None:
    onsets = np.array([0, 3332, 3334, 6667, 9999, 12_000])
    assert _fold(onsets, 10_000).tolist() == [0, 0, 1, 2, 2, 2]
    assert set(_fold(np.arange(10_000), 10_000)) == set(range(FOLDS))


def test_the_lead_in_only_warms_the_stream_up(tmp_path: Path) -> None:
    """Nothing in a stretch's lead-in is learnt, and no burst is mixed into it."""
    from tests.detect_models import energy_model
    from tests.site.site_data import RATE, crack_burst, machine

    rng = np.random.default_rng(4)
    energy_model(tmp_path / "energy", window=4096)
    detector = OnnxDetector(tmp_path / "energy")
    x = machine(rng, 0.4)
    bursts = [crack_burst(rng, 1.0) for _ in range(4)]
    lead = int(0.2 * RATE)

    def learnt(lead_in: int) -> LabelledDetections:
        return labelled_detections(detector, [x], bursts, np.random.default_rng(1), RATE,
                                   threshold=0.3, mixtures=1, snr_db_range=(30.0, 30.0),
                                   lead_in=[lead_in])  # fmt: skip

    whole, led = learnt(0), learnt(lead)
    alone = detections(detector, x, RATE, 0.3)
    assert int(np.sum(whole.background_only)) == alone.onsets.size
    assert int(np.sum(led.background_only)) == int(np.sum(alone.onsets >= lead)) > 0
    assert led.seconds == pytest.approx((x.size - lead) / RATE)
    assert 0 < led.bursts_mixed < whole.bursts_mixed  # bursts only after the lead-in
    assert set(led.fold) == set(range(FOLDS))  # folds split what is learnt, not the lead-in
