"""Similarity figures: ``python bench/bench_similarity.py REC.h5 [--embedding DIR ...]``.

For the events of a simulator recording (``REC.h5.events.csv`` as ``aemon detect REC.h5``
writes it, else ``/events``) and each space (standardised AE features, waveform correlation,
the latent vectors of each ``--embedding`` model), prints:

* the k = 2 cluster purity against the true burst type (events matching a true burst) and
  against burst vs other (all events), as ``aemon cluster REC.h5 --k 2`` reports it;
* for every event matching a true burst, how many of its 20 nearest events (as
  ``aemon similar``) share its true type: the median, the minimum, and the share of bursts
  with at least 18 of 20.

Make the recording with ``aemon sim --duration 8 --seed 21 -o REC.h5 && aemon detect REC.h5``.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np

from aemon.similarity.analysis import cluster_events, event_truth, truth_purity
from aemon.similarity.clustering import NO_BURST
from aemon.similarity.embedding import EmbeddingModel
from aemon.similarity.event_table import DEFAULT_WINDOW_US, load_event_table
from aemon.similarity.spaces import correlation_distances, feature_vectors, l1_distances

logger = logging.getLogger(__name__)

NEIGHBOURS = 20


def neighbour_counts(distances: np.ndarray, labels: list[str]) -> list[int]:
    """Same-type neighbours among the :data:`NEIGHBOURS` nearest of each true burst."""
    counts = []
    for i, label in enumerate(labels):
        if label == NO_BURST:
            continue
        order = [j for j in np.argsort(distances[i], kind="stable") if j != i][:NEIGHBOURS]
        counts.append(sum(labels[j] == label for j in order))
    return counts


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording", type=Path)
    parser.add_argument("--embedding", type=Path, nargs="*", default=[], metavar="DIR")
    args = parser.parse_args()
    print(f"{'space':<28}{'events':>7}{'purity type':>12}{'burst/other':>12}"
          f"{'nn median':>10}{'nn min':>7}{'>=18/20':>9}{'s':>6}")  # fmt: skip
    spaces: list[tuple[str, Path | None]] = [("features", None), ("correlation", None)]
    spaces += [("latent", e) for e in args.embedding]
    for space, model in spaces:
        started = time.perf_counter()
        window_us = DEFAULT_WINDOW_US
        if model is not None:
            window_us = EmbeddingModel(model).window_samples / 1.5625e6 * 1e6
        table = load_event_table(args.recording, window_us=window_us)
        labels = event_truth(table, args.recording)
        result = cluster_events(table, 2, space=space, embedding=model)
        purity = truth_purity(result.clusters, labels)
        if space == "features":
            distances = l1_distances(feature_vectors(table.events))
        elif space == "correlation":
            distances = correlation_distances(table.windows, table.sample_rate_hz)
        else:
            distances = l1_distances(EmbeddingModel(model).latent(table.windows))  # type: ignore[arg-type]
        counts = neighbour_counts(distances, labels)
        name = space if model is None else f"latent {model.name}"
        share = np.mean([c >= 18 for c in counts])
        print(
            f"{name:<28}{len(table.events):>7}{purity.burst_type:>12.3f}"
            f"{purity.burst_vs_other:>12.3f}{np.median(counts):>10.0f}{min(counts):>7}"
            f"{share:>9.3f}{time.perf_counter() - started:>6.0f}"
        )


if __name__ == "__main__":
    main()
