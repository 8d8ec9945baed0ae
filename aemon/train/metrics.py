"""Detector metrics (numpy only): thesis binary-map metrics and event-level matching.

* Binary-map metrics (thesis Table 4.3): accuracy, precision, recall, F1 at a threshold and the
  ROC AUC, over every (class, bin) cell.
* Events: runs of bins at or above the threshold become events whose onset is the start of the
  first bin. A predicted event matches a true burst of the same class when its onset lies from
  100 µs before to 250 µs after the true onset; matching is one-to-one, closest onset first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy.stats import rankdata

logger = logging.getLogger(__name__)

MATCH_BEFORE_US = 100.0
MATCH_AFTER_US = 250.0


class DetectedEvent(NamedTuple):
    """An event read off a probability map.

    Attributes:
        onset: Onset (samples, same origin as the map): start of the first bin above threshold.
        end: One past the last sample of the last bin above threshold.
        label: Class index.
        score: Highest probability inside the event.
        channel: Input channel.
    """

    onset: int
    end: int
    label: int
    score: float
    channel: int = 0


class TrueEvent(NamedTuple):
    """A true burst: onset/end in samples, class index, channel; ``counted`` False for bursts
    whose onset lies outside the evaluated span (a match to them is neither TP nor FP)."""

    onset: int
    end: int
    label: int
    channel: int = 0
    counted: bool = True


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


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


def f1_score(precision: float, recall: float) -> float:
    """Harmonic mean of precision and recall (NaN if undefined, 0 if both are 0)."""
    if np.isnan(precision) or np.isnan(recall):
        return float("nan")
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


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
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
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


class EventCounts(NamedTuple):
    """Event-level outcome: true/false positives, misses and onset errors (µs) of the matches."""

    tp: int
    fp: int
    fn: int
    onset_errors_us: list[float]


def match_events(
    predicted: Sequence[DetectedEvent],
    truth: Sequence[TrueEvent],
    sample_rate_hz: float,
    typed: bool = True,
    before_us: float = MATCH_BEFORE_US,
    after_us: float = MATCH_AFTER_US,
) -> EventCounts:
    """Match predicted events to true bursts one-to-one (closest onset first).

    A pair matches when both are on the same channel, (if ``typed``) of the same class, and
    ``true_onset - before_us <= predicted_onset <= true_onset + after_us``.
    """
    before = before_us * 1e-6 * sample_rate_hz
    after = after_us * 1e-6 * sample_rate_hz
    pairs: list[tuple[float, int, int]] = []
    pred_onsets = np.array([p.onset for p in predicted], dtype=np.int64)
    order = np.argsort(pred_onsets, kind="stable")
    sorted_onsets = pred_onsets[order]
    for ti, t in enumerate(truth):
        lo = np.searchsorted(sorted_onsets, t.onset - before, side="left")
        hi = np.searchsorted(sorted_onsets, t.onset + after, side="right")
        for k in order[lo:hi]:
            p = predicted[int(k)]
            if p.channel == t.channel and (not typed or p.label == t.label):
                pairs.append((abs(p.onset - t.onset), ti, int(k)))
    pairs.sort()
    used_t: set[int] = set()
    used_p: set[int] = set()
    errors: list[float] = []
    tp = 0
    for _dist, ti, pi in pairs:
        if ti in used_t or pi in used_p:
            continue
        used_t.add(ti)
        used_p.add(pi)
        if truth[ti].counted:
            tp += 1
            errors.append((predicted[pi].onset - truth[ti].onset) / sample_rate_hz * 1e6)
    fp = len(predicted) - len(used_p)
    fn = sum(1 for i, t in enumerate(truth) if t.counted and i not in used_t)
    return EventCounts(tp, fp, fn, errors)


def add_counts(a: EventCounts, b: EventCounts) -> EventCounts:
    """Sum two outcomes."""
    return EventCounts(a.tp + b.tp, a.fp + b.fp, a.fn + b.fn, a.onset_errors_us + b.onset_errors_us)


EMPTY_COUNTS = EventCounts(0, 0, 0, [])


def event_metrics(counts: EventCounts) -> dict[str, float]:
    """Precision, recall, F1 and onset error statistics (µs) of an outcome."""
    precision = _ratio(counts.tp, counts.tp + counts.fp)
    recall = _ratio(counts.tp, counts.tp + counts.fn)
    errors = np.asarray(counts.onset_errors_us, dtype=float)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1_score(precision, recall),
        "true_bursts": float(counts.tp + counts.fn),
        "detected": float(counts.tp + counts.fp),
        "median_onset_error_us": float(np.median(np.abs(errors))) if errors.size else float("nan"),
        "median_onset_bias_us": float(np.median(errors)) if errors.size else float("nan"),
    }
