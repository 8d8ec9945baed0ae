"""Clustering, nearest neighbours and cluster purity against ground truth.

Vectors (the ``features`` space) are clustered with k-means or agglomerative clustering (Ward
linkage); a precomputed distance matrix (the ``correlation`` space) with agglomerative
clustering, complete linkage (average
linkage splits off single outliers). ``--auto`` picks k from 2 to :data:`MAX_AUTO_K` by the best
silhouette score. Purity is ``Σ_clusters max_class count / events``: 1 when every cluster holds
a single true class.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from aemon.errors import ConfigError
from aemon.events.hit import Hit
from aemon.events.scoring import MATCH_AFTER_US, MATCH_BEFORE_US

logger = logging.getLogger(__name__)

METHODS = ("kmeans", "agglomerative")
"""Clustering methods (``--method``)."""

MAX_AUTO_K = 8
"""Largest k tried by ``--auto``."""

NO_BURST = "none"
"""Truth label of an event that matches no true burst (a disturbance or a false alarm)."""


def cluster_labels(
    data: npt.NDArray[np.floating],
    k: int,
    *,
    method: str = "kmeans",
    precomputed: bool = False,
    seed: int = 0,
) -> npt.NDArray[np.int64]:
    """Cluster label 0..k-1 of each event.

    Args:
        data: ``(n, d)`` vectors, or an ``(n, n)`` distance matrix when ``precomputed``.
        k: Number of clusters, 2 <= k <= n.
        method: ``"kmeans"`` or ``"agglomerative"`` (forced for a precomputed matrix).
        precomputed: ``data`` is a distance matrix.
        seed: k-means random state.

    Raises:
        ConfigError: Bad k or method.
    """
    from sklearn.cluster import AgglomerativeClustering, KMeans

    n = data.shape[0]
    if not 2 <= k <= n:
        raise ConfigError(f"--k {k} must be between 2 and the number of events ({n})")
    if method not in METHODS:
        raise ConfigError(f"unknown --method {method!r}; use one of {', '.join(METHODS)}")
    if precomputed:
        model = AgglomerativeClustering(n_clusters=k, metric="precomputed", linkage="complete")
    elif method == "agglomerative":
        model = AgglomerativeClustering(n_clusters=k, linkage="ward")
    else:
        model = KMeans(n_clusters=k, n_init=10, random_state=seed)
    return np.asarray(model.fit_predict(data), dtype=np.int64)


def choose_k(
    data: npt.NDArray[np.floating],
    *,
    method: str = "kmeans",
    precomputed: bool = False,
    max_k: int = MAX_AUTO_K,
) -> tuple[int, dict[int, float]]:
    """The k in 2..max_k with the best silhouette score, and the score of each k tried."""
    from sklearn.metrics import silhouette_score

    n = data.shape[0]
    if n < 3:
        raise ConfigError(f"--auto needs at least 3 events, got {n}; give --k")
    scores: dict[int, float] = {}
    for k in range(2, min(max_k, n - 1) + 1):
        labels = cluster_labels(data, k, method=method, precomputed=precomputed)
        if len(set(labels.tolist())) < 2:
            continue
        metric = "precomputed" if precomputed else "euclidean"
        scores[k] = float(silhouette_score(data, labels, metric=metric))
    if not scores:
        return 2, scores
    return max(scores, key=lambda k: scores[k]), scores


def nearest(distances: npt.NDArray[np.floating], index: int, count: int) -> list[int]:
    """Indices of the ``count`` events closest to event ``index`` (itself excluded)."""
    order = np.argsort(distances, kind="stable")
    return [int(i) for i in order if i != index][:count]


def truth_labels(
    events: Sequence[Hit],
    onsets: Sequence[int],
    channels: Sequence[int],
    types: Sequence[str],
    sample_rate_hz: float,
) -> list[str]:
    """The true burst type of each event, :data:`NO_BURST` where it matches none.

    An event matches the true burst on its channel whose onset is closest to the event's
    ``sample_index``, within the scoring window (100 µs before to 250 µs after the true onset,
    as :mod:`aemon.events.scoring`); a true burst is matched at most once, closest first.
    """
    before = MATCH_BEFORE_US * 1e-6 * sample_rate_hz
    after = MATCH_AFTER_US * 1e-6 * sample_rate_hz
    pairs = []
    for i, e in enumerate(events):
        for t, (onset, channel) in enumerate(zip(onsets, channels, strict=True)):
            if channel == e.channel and onset - before <= e.sample_index <= onset + after:
                pairs.append((abs(e.sample_index - onset), i, t))
    labels = [NO_BURST] * len(events)
    used: set[int] = set()
    for _, i, t in sorted(pairs):
        if labels[i] == NO_BURST and t not in used:
            labels[i] = types[t]
            used.add(t)
    return labels


def purity(clusters: Sequence[int], classes: Sequence[str]) -> float:
    """Cluster purity ``Σ_c max_class |c ∩ class| / n`` (NaN for no events)."""
    if len(clusters) != len(classes):
        raise ValueError("clusters and classes differ in length")
    if not clusters:
        return float("nan")
    members: dict[int, Counter[str]] = {}
    for c, label in zip(clusters, classes, strict=True):
        members.setdefault(int(c), Counter())[label] += 1
    return sum(max(counter.values()) for counter in members.values()) / len(clusters)
