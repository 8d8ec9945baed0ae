"""Detector metrics (numpy only): thesis binary-map metrics and event-level matching.

* Binary-map metrics (thesis Table 4.3): accuracy, precision, recall, F1 at a threshold and the
  ROC AUC, over every (class, bin) cell.
* Events: the live segmenter's runs (:func:`extract_events`) become events whose onset is the
  start of the first bin. A predicted event matches a true burst of the same class when its
  onset lies from 100 µs before to 250 µs after the true onset; matching is one-to-one,
  closest onset first.
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
from aemon.events.segmentation import map_to_detections

logger = logging.getLogger(__name__)

MERGE_GAP_US = 100.0
"""Default longest gap (µs) inside one detected event; bursts closer than this merge."""


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


def extract_events(
    probabilities: np.ndarray,
    bin_samples: int,
    sample_rate_hz: float,
    threshold: float = 0.5,
    *,
    offset: int = 0,
    channel: int = 0,
    merge_gap_us: float = MERGE_GAP_US,
    per_class: bool = False,
) -> list[DetectedEvent]:
    """Turn a ``(classes, bins)`` probability map into events by the live rule.

    The runs are those of :class:`~aemon.events.segmentation.MapSegmenter`, set up as the
    live neural stream sets it up (:class:`~aemon.detect.hit_streams.NeuralHitStream`):
    a run is where any class reaches ``threshold``, runs at most ``merge_gap_us`` apart merge,
    and the run takes the class with the highest probability inside it, whose peak is its
    score. With ``per_class`` every class row gives its own events (for overlapping types).

    Args:
        probabilities: Map of one window or a stitched stream.
        bin_samples: Samples per bin.
        sample_rate_hz: Sample rate of the map's samples (Hz).
        threshold: Decision threshold.
        offset: Sample position of bin 0 (added to onsets and ends).
        channel: Channel recorded in the events.
        merge_gap_us: Longest gap (µs) inside one event (the model card's ``merge_gap_us``).
        per_class: Extract each class row separately.
    """
    probs = np.asarray(probabilities)
    labels = [str(k) for k in range(probs.shape[0])]
    runs = map_to_detections(
        probs, labels, bin_samples, sample_rate_hz, first_sample=offset, channel=channel,
        on=threshold, merge_gap_us=merge_gap_us, per_class=per_class,
    )  # fmt: skip
    return sorted(
        DetectedEvent(d.start_sample, d.stop_sample, int(d.type), d.score, d.channel) for d in runs
    )
