"""The site classifier: numpy trees equal to scikit-learn's, a safe JSON file, and its use by the
live stream."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier

from aemon.detect.site_classifier import SITE_CLASSIFIER_FILE, SiteClassifier, read_site_classifier
from aemon.detect.site_features import FEATURE_NAMES
from aemon.detect.trigger_setting import Triggers
from aemon.errors import FileFormatError


def _fitted(seed: int = 0) -> tuple[GradientBoostingClassifier, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((400, len(FEATURE_NAMES))) * 10
    y = (x[:, 0] + 0.5 * x[:, 3] - 0.2 * x[:, 7] ** 2 / 10 + rng.standard_normal(400) * 3) > 0
    model = GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=seed)
    return model.fit(x, y), rng.standard_normal((300, len(FEATURE_NAMES))) * 10


def test_numpy_trees_give_scikit_learns_probabilities() -> None:
    model, x = _fitted()
    ours = SiteClassifier.from_sklearn(model, 0.5, 0.3).probability(x)
    theirs = model.predict_proba(x)[:, 1]
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
    assert 0.1 < np.mean(ours > 0.5) < 0.9  # not a constant answer
    classifier = SiteClassifier.from_sklearn(model, 0.5, 0.3)  # one tree at a time, too
    one_by_one = classifier.offset + classifier.learning_rate * sum(
        t.predict(x) for t in classifier.trees
    )
    np.testing.assert_allclose(ours, 1 / (1 + np.exp(-one_by_one)), rtol=0, atol=1e-12)


def test_the_json_file_round_trips(tmp_path: Path) -> None:
    model, x = _fitted(1)
    classifier = SiteClassifier.from_sklearn(model, 0.7, 0.25, info={"harvest": {"bursts": 12}})
    classifier.write(tmp_path)
    again = read_site_classifier(tmp_path)
    assert again is not None
    np.testing.assert_array_equal(again.probability(x), classifier.probability(x))
    assert (again.threshold, again.candidate_probability) == (0.7, 0.25)
    assert again.accepts(x[:1]) == bool(classifier.probability(x[:1])[0] >= 0.7)
    assert again.triggers is None  # learnt on the network's candidates alone
    assert read_site_classifier(tmp_path / "none") is None
    with_triggers = SiteClassifier.from_sklearn(model, 0.7, 0.25, triggers=Triggers(3.5))
    with_triggers.write(tmp_path)
    again = read_site_classifier(tmp_path)
    assert again is not None and again.triggers == Triggers(3.5, whitened=True)
    # a file written before whitened triggers keeps the raw ones it was learnt with
    path = tmp_path / SITE_CLASSIFIER_FILE
    raw = json.loads(path.read_text())
    del raw["trigger_whitened"]
    path.write_text(json.dumps(raw))
    again = read_site_classifier(tmp_path)
    assert again is not None and again.triggers == Triggers(3.5, whitened=False)


def test_a_file_that_is_not_a_site_classifier_is_refused(tmp_path: Path) -> None:
    model, _ = _fitted(2)
    raw = SiteClassifier.from_sklearn(model, 0.5, 0.3).to_json()
    raw["feature_names"] = [*raw["feature_names"][:-1], "hits_per_fortnight"]
    (tmp_path / SITE_CLASSIFIER_FILE).write_text(json.dumps(raw))
    with pytest.raises(FileFormatError, match="does not measure its features hits_per_fortnight"):
        read_site_classifier(tmp_path)
    raw["feature_names"] = raw["feature_names"][:5]  # trees split on columns it does not name
    (tmp_path / SITE_CLASSIFIER_FILE).write_text(json.dumps(raw))
    with pytest.raises(FileFormatError, match="splits on feature"):
        read_site_classifier(tmp_path)
    (tmp_path / SITE_CLASSIFIER_FILE).write_text("{not json")
    with pytest.raises(FileFormatError, match="is not a site classifier"):
        read_site_classifier(tmp_path)


def test_a_classifier_of_fewer_features_reads_its_own_columns(tmp_path: Path) -> None:
    """A classifier learnt before later features were added still judges the full rows."""
    rng = np.random.default_rng(4)
    names = FEATURE_NAMES[:20]
    x = rng.standard_normal((400, len(FEATURE_NAMES))) * 10
    y = x[:, 3] + x[:, 7] > 0
    model = GradientBoostingClassifier(n_estimators=20, max_depth=2, random_state=0)
    model.fit(x[:, :20], y)
    raw = SiteClassifier.from_sklearn(model, 0.5, 0.3).to_json()
    raw["feature_names"] = list(names)
    (tmp_path / SITE_CLASSIFIER_FILE).write_text(json.dumps(raw))
    again = read_site_classifier(tmp_path)
    assert again is not None and again.feature_names == names
    shuffled = x.copy()
    shuffled[:, 20:] = rng.standard_normal((400, len(FEATURE_NAMES) - 20)) * 1e3
    np.testing.assert_allclose(again.probability(shuffled), model.predict_proba(x[:, :20])[:, 1],
                               atol=1e-6)  # fmt: skip
