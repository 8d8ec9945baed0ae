"""Clustering, auto-k, nearest neighbours, purity and truth matching on synthetic tables."""

from __future__ import annotations

import numpy as np
import pytest

from aemon.errors import ConfigError
from aemon.events.hit import Hit
from aemon.similarity.clustering import (
    NO_BURST,
    choose_k,
    cluster_labels,
    nearest,
    purity,
    truth_labels,
)


def _blobs(centres: list[float], per: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    data = np.concatenate([rng.normal(c, 0.3, size=(per, 4)) for c in centres])
    classes = [f"c{i}" for i in range(len(centres)) for _ in range(per)]
    return data, classes


@pytest.mark.parametrize("method", ["kmeans", "agglomerative"])
def test_separated_blobs_cluster_purely(method: str) -> None:
    data, classes = _blobs([0.0, 5.0], 30)
    labels = cluster_labels(data, 2, method=method)
    assert purity(labels.tolist(), classes) == 1.0
    assert sorted(np.bincount(labels).tolist()) == [30, 30]


def test_precomputed_distances_cluster_with_complete_linkage() -> None:
    data, classes = _blobs([0.0, 5.0], 20, seed=1)
    distances = np.abs(data[:, None, :] - data[None, :, :]).sum(axis=2)
    labels = cluster_labels(distances, 2, precomputed=True)
    assert purity(labels.tolist(), classes) == 1.0


def test_auto_k_finds_three_blobs() -> None:
    data, _ = _blobs([0.0, 5.0, 10.0], 25, seed=2)
    k, scores = choose_k(data, method="agglomerative")
    assert k == 3
    assert set(scores) == set(range(2, 9))


def test_bad_k_is_a_config_error() -> None:
    data, _ = _blobs([0.0], 5)
    with pytest.raises(ConfigError, match="--k 9"):
        cluster_labels(data, 9)


def test_purity_counts_the_majority_class_per_cluster() -> None:
    assert purity([0, 0, 0, 1, 1], ["a", "a", "b", "b", "b"]) == pytest.approx(4 / 5)
    assert purity([0, 0, 1, 1], ["a", "b", "a", "b"]) == 0.5
    assert np.isnan(purity([], []))


def test_nearest_excludes_the_event_itself() -> None:
    distances = np.array([0.0, 3.0, 1.0, 2.0])
    assert nearest(distances, 0, 2) == [2, 3]


def _event(sample_index: int, channel: int = 0) -> Hit:
    values = dict.fromkeys(Hit._fields, float("nan"))
    values.update(utc="", type="burst", detector="t", sample_index=sample_index,
                  channel=channel, counts=0)  # fmt: skip
    return Hit(**values)  # type: ignore[arg-type]


def test_truth_labels_match_by_onset_and_channel_once() -> None:
    rate = 1e6  # 1 sample = 1 µs: window is 100 samples before to 250 after the true onset
    events = [_event(1000), _event(1010), _event(5000), _event(1000, channel=1), _event(9000)]
    labels = truth_labels(events, [1005, 5200, 1000], [0, 0, 1], ["low", "high", "high"], rate)
    # 1010 is closer to 1005 than 1000 is (5 vs 5: tie keeps table order), the second is a
    # duplicate; 5000 lies more than 100 µs before 5200; channel 1 has its own burst.
    assert labels.count("low") == 1
    assert labels[2] == NO_BURST
    assert labels[3] == "high"
    assert labels[4] == NO_BURST
