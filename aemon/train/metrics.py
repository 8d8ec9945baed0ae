"""Detector metrics (numpy only): thesis binary-map metrics and event-level matching.

* Binary-map metrics (thesis Table 4.3): accuracy, precision, recall, F1 at a threshold and the
  ROC AUC, over every (class, bin) cell.
* Events: runs of bins at or above the threshold become events whose onset is the start of the
  first bin. A predicted event matches a true burst of the same class when its onset lies from
  100 µs before to 250 µs after the true onset; matching is one-to-one, closest onset first.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.stats import rankdata

from aemon.events.scoring import (
    DetectedEvent,
    f1_score,
    ratio,
)

logger = logging.getLogger(__name__)


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann–Whitney rank statistic, ties averaged); NaN if one class."""
    labels = np.asarray(labels).ravel() > 0.5
    scores = np.asarray(scores, dtype=np.float64).ravel()
    pos = int(labels.sum())
    neg = labels.size - pos
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def roc_curve(
    labels: np.ndarray, scores: np.ndarray, points: int = 400
) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates at ``points`` thresholds (dense at high scores, so a
    log false-positive axis down to 1e-6 is resolved)."""
    labels = np.asarray(labels).ravel() > 0.5
    scores = np.asarray(scores, dtype=np.float64).ravel()
    levels = np.concatenate((np.linspace(0, 1, points // 2), 1 - np.logspace(-7, 0, points // 2)))
    thresholds = np.unique(np.quantile(scores, np.clip(levels, 0, 1)))[::-1]
    pos, neg = max(int(labels.sum()), 1), max(int((~labels).sum()), 1)
    order = np.argsort(-scores)
    sorted_scores, sorted_labels = scores[order], labels[order]
    cum_tp = np.cumsum(sorted_labels)
    idx = np.searchsorted(-sorted_scores, -thresholds, side="right")
    tp = np.where(idx > 0, cum_tp[np.maximum(idx - 1, 0)], 0)
    fp = idx - tp
    fpr = np.concatenate(([0.0], fp / neg, [1.0]))
    tpr = np.concatenate(([0.0], tp / pos, [1.0]))
    return fpr, tpr


def map_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Thesis Table 4.3 metrics over all cells of the binary maps.

    Args:
        labels: 0/1 maps of any shape.
        scores: Probabilities of the same shape.
        threshold: Decision threshold.

    Returns:
        ``accuracy``, ``precision``, ``recall``, ``f1``, ``roc_auc``.
    """
    truth = np.asarray(labels).ravel() > 0.5
    pred = np.asarray(scores).ravel() >= threshold
    tp = int(np.sum(truth & pred))
    fp = int(np.sum(~truth & pred))
    fn = int(np.sum(truth & ~pred))
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    return {
        "accuracy": float(np.mean(truth == pred)),
        "precision": precision,
        "recall": recall,
        "f1": f1_score(precision, recall),
        "roc_auc": roc_auc(truth, scores),
    }


def _runs(mask: np.ndarray, merge_gap_bins: int) -> list[tuple[int, int]]:
    """``[start, stop)`` bin runs where ``mask`` is true, joining runs split by short gaps."""
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    runs: list[tuple[int, int]] = []
    for start, stop in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        if runs and start - runs[-1][1] <= merge_gap_bins:
            runs[-1] = (runs[-1][0], stop)
        else:
            runs.append((start, stop))
    return runs


def extract_events(
    probabilities: np.ndarray,
    decimation: int,
    threshold: float = 0.5,
    offset: int = 0,
    channel: int = 0,
    merge_gap_bins: int = 0,
    per_class: bool = False,
) -> list[DetectedEvent]:
    """Turn a ``(classes, bins)`` probability map into events.

    By default events are exclusive, as AE bursts are: an event is a run of bins where any
    class reaches ``threshold``; runs closer than ``merge_gap_bins`` empty bins are joined
    (like the hit definition time of a threshold detector), and the event takes the class with
    the largest probability mass inside it. With ``per_class`` every class row gives its own
    events (for overlapping event types).

    Args:
        probabilities: Map of one window or a stitched stream.
        decimation: Samples per bin.
        threshold: Decision threshold.
        offset: Sample position of bin 0 (added to onsets and ends).
        channel: Channel recorded in the events.
        merge_gap_bins: Longest gap (bins) inside one event.
        per_class: Extract each class row separately.
    """
    probs = np.asarray(probabilities)
    events: list[DetectedEvent] = []
    rows = (
        [(label, probs[label : label + 1]) for label in range(len(probs))]
        if per_class
        else [(-1, probs)]
    )
    for fixed_label, block in rows:
        for start, stop in _runs(np.any(block >= threshold, axis=0), merge_gap_bins):
            span = block[:, start:stop]
            label = fixed_label if fixed_label >= 0 else int(np.argmax(span.sum(axis=1)))
            score = float(span.max()) if fixed_label >= 0 else float(probs[label, start:stop].max())
            events.append(
                DetectedEvent(
                    offset + start * decimation, offset + stop * decimation, label, score, channel
                )
            )
    events.sort()
    return events


MERGE_GAP_US = 100.0
"""Default longest gap (µs) inside one detected event; bursts closer than this merge."""
