"""Similar events and clusters of an events table, and their purity against ground truth.

Glue between :mod:`aemon.similarity.event_table` (events and waveforms),
:mod:`aemon.similarity.spaces` (how events are compared) and
:mod:`aemon.similarity.clustering`; the ``aemon similar`` and ``aemon cluster`` commands call
these functions.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from aemon.errors import ConfigError
from aemon.similarity.clustering import (
    NO_BURST,
    choose_k,
    cluster_labels,
    nearest,
    purity,
    truth_labels,
)
from aemon.similarity.event_table import EventTable
from aemon.similarity.spaces import (
    SPACES,
    correlation_distances,
    feature_vectors,
    l1_distances,
)

logger = logging.getLogger(__name__)


def _check_space(space: str) -> None:
    if space not in SPACES:
        raise ConfigError(f"unknown --space {space!r}; use one of {', '.join(SPACES)}")


def _latent(table: EventTable, embedding: str | os.PathLike[str] | None) -> np.ndarray:
    if embedding is None:
        raise ConfigError("--space latent needs --embedding MODEL (see aemon train-embedding)")
    from aemon.similarity.embedding import EmbeddingModel

    return EmbeddingModel(embedding).latent(table.windows)


def similar_events(
    table: EventTable,
    index: int,
    count: int = 20,
    space: str = "features",
    embedding: str | os.PathLike[str] | None = None,
) -> list[tuple[int, float]]:
    """The ``count`` events nearest to event ``index``: ``(event ID, distance)``, nearest first.

    Distances are L1 between standardised feature vectors (``features``) or latent vectors
    of the ``embedding`` model (``latent``), or ``1 - max |ρ|`` between waveforms
    (``correlation``).

    Raises:
        ConfigError: Unknown event ID or space, or a count below 1.
    """
    _check_space(space)
    n = len(table.events)
    if not 0 <= index < n:
        raise ConfigError(f"--event {index} is not in the table; event IDs are 0..{n - 1}")
    if count < 1:
        raise ConfigError(f"-k {count} must be >= 1")
    if space == "features":
        return nearest_rows(feature_vectors(table.events), index, count)
    if space == "latent":
        return nearest_rows(_latent(table, embedding), index, count)
    distances = correlation_distances(table.windows, table.sample_rate_hz, index)
    return [(j, float(distances[j])) for j in nearest(distances, index, count)]


def nearest_rows(
    vectors: npt.NDArray[np.floating], index: int, count: int
) -> list[tuple[int, float]]:
    """The ``count`` rows of ``vectors`` nearest to row ``index`` by L1 distance:
    ``(row, distance)``, nearest first, row ``index`` itself left out.

    The distance of ``aemon similar`` in the ``features`` and ``latent`` spaces; the GUI's
    "similar events" panel calls it on the latent vectors it has cached.
    """
    distances = l1_distances(vectors, index)
    return [(j, float(distances[j])) for j in nearest(distances, index, count)]


@dataclass(frozen=True)
class Clustering:
    """Result of :func:`cluster_events`.

    Attributes:
        clusters: Cluster label 0..k-1 of each event.
        k: Number of clusters.
        method: ``"kmeans"`` or ``"agglomerative"``.
        space: ``"features"`` or ``"correlation"``.
        map_data: Vectors the 2-D map is projected from (the feature vectors, or each event's
            row of similarities ``1 - distance`` for the correlation space).
        silhouettes: Silhouette score per k tried by ``--auto`` (empty for a given k).
    """

    clusters: npt.NDArray[np.int64]
    k: int
    method: str
    space: str
    map_data: npt.NDArray[np.float64]
    silhouettes: dict[int, float] = field(default_factory=dict)


def cluster_events(
    table: EventTable,
    k: int | None = 2,
    *,
    space: str = "features",
    method: str = "kmeans",
    embedding: str | os.PathLike[str] | None = None,
) -> Clustering:
    """Cluster the events of ``table``; ``k`` None chooses k by silhouette score."""
    _check_space(space)
    if space in ("features", "latent"):
        data = feature_vectors(table.events) if space == "features" else _latent(table, embedding)
        precomputed = False
        map_data = data
    else:
        data = correlation_distances(table.windows, table.sample_rate_hz)
        precomputed = True
        method = "agglomerative"
        map_data = 1.0 - data
    clusters, k, silhouettes = cluster_vectors(data, k, method=method, precomputed=precomputed)
    return Clustering(clusters, k, method, space, map_data, silhouettes)


def cluster_vectors(
    data: npt.NDArray[np.floating],
    k: int | None,
    *,
    method: str = "kmeans",
    precomputed: bool = False,
) -> tuple[npt.NDArray[np.int64], int, dict[int, float]]:
    """Cluster labels of the rows of ``data`` (vectors, or a distance matrix when
    ``precomputed``), as ``aemon cluster`` does: ``k`` None chooses k by silhouette score.

    Returns:
        ``(label 0..k-1 of each row, k, silhouette score per k tried)``.
    """
    silhouettes: dict[int, float] = {}
    if k is None:
        k, silhouettes = choose_k(data, method=method, precomputed=precomputed)
    clusters = cluster_labels(data, k, method=method, precomputed=precomputed)
    return clusters, k, silhouettes


@dataclass(frozen=True)
class Purity:
    """Cluster purity against the simulator's ground truth.

    Attributes:
        burst_type: Purity against the burst type over events that match a true burst.
        burst_vs_other: Purity against "burst" vs :data:`NO_BURST` over all events.
        matched: Events that match a true burst.
        unmatched: Events that match none (disturbances, false alarms).
    """

    burst_type: float
    burst_vs_other: float
    matched: int
    unmatched: int

    def line(self) -> str:
        """One human-readable line."""
        return (
            f"purity vs burst type {self.burst_type:.3f} over {self.matched} matched events; "
            f"vs burst/other {self.burst_vs_other:.3f} over {self.matched + self.unmatched}"
        )


def event_truth(table: EventTable, truth: str | os.PathLike[str]) -> list[str]:
    """True burst type of each event of ``table`` (:data:`NO_BURST` if none) from ``truth``
    (a recording with ``/truth`` or a truth CSV)."""
    from aemon.io.truth import read_truth

    bursts, types, _rate = read_truth(Path(truth))
    return truth_labels(
        table.events,
        [b.onset for b in bursts],
        [b.channel for b in bursts],
        [types[b.label] for b in bursts],
        table.sample_rate_hz,
    )


def truth_purity(clusters: npt.NDArray[np.int64], labels: list[str]) -> Purity:
    """Purity of ``clusters`` against the true labels from :func:`event_truth`."""
    matched = [i for i, label in enumerate(labels) if label != NO_BURST]
    return Purity(
        burst_type=purity([int(clusters[i]) for i in matched], [labels[i] for i in matched]),
        burst_vs_other=purity(
            [int(c) for c in clusters], ["burst" if lb != NO_BURST else NO_BURST for lb in labels]
        ),
        matched=len(matched),
        unmatched=len(labels) - len(matched),
    )
