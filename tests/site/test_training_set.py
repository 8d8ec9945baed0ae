"""Out-of-fold scores of labelled detections: a background stretch is held out whole."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.model_selection import PredefinedSplit, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier

from aemon.site.training_set import FOLDS, LabelledDetections, _fold, fit_out_of_fold


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
    guessed = fit_out_of_fold(memory, data.features, data.is_burst, PredefinedSplit(data.fold))[1]
    guessed = guessed >= 0.5
    # labels are coin flips: only a copy on the training side could guess them
    assert 0.35 < np.mean(guessed == data.is_burst) < 0.65


def test_stretches_split_each_background_in_time() -> None:
    onsets = np.array([0, 3332, 3334, 6667, 9999, 12_000])
    assert _fold(onsets, 10_000).tolist() == [0, 0, 1, 2, 2, 2]
    assert set(_fold(np.arange(10_000), 10_000)) == set(range(FOLDS))


@pytest.mark.parametrize("cv", ["folds", 3])
def test_parallel_fits_are_the_sequential_ones(cv: object) -> None:
    rng = np.random.default_rng(1)
    features = rng.standard_normal((600, 5))
    labels = features[:, 0] + 0.5 * rng.standard_normal(600) > 0.3
    split = PredefinedSplit(np.arange(600) * 3 // 600) if cv == "folds" else cv
    trees = GradientBoostingClassifier(n_estimators=20, max_depth=3, subsample=0.5,
                                       random_state=4)  # fmt: skip
    fitted, probability = fit_out_of_fold(trees, features, labels, split)
    expected = cross_val_predict(trees, features, labels, cv=split, method="predict_proba")[:, 1]
    np.testing.assert_array_equal(probability, expected)
    whole = clone(trees).fit(features, labels)
    np.testing.assert_array_equal(fitted.predict_proba(features), whole.predict_proba(features))
    assert not np.array_equal(probability, whole.predict_proba(features)[:, 1])
