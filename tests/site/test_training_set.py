"""Out-of-fold scores of labelled detections: a background stretch is held out whole."""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

from aemon.site.training_set import FOLDS, LabelledDetections, _fold, out_of_fold_probability


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
