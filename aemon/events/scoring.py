"""Event-level scoring: match detected events to true bursts and count the outcome.

A detected event matches a true burst on the same channel when its onset lies from 100 µs
before to 250 µs after the true onset; matching is one-to-one, closest onset first. The same
rule serves ``aemon score``, model evaluation and the generalisation benchmark.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

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


def ratio(a: float, b: float) -> float:
    """``a / b``, NaN when ``b`` is 0."""
    return float(a / b) if b else float("nan")


def f1_score(precision: float, recall: float) -> float:
    """Harmonic mean of precision and recall (NaN if undefined, 0 if both are 0)."""
    if np.isnan(precision) or np.isnan(recall):
        return float("nan")
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


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
    matched = matched_pairs(predicted, truth, sample_rate_hz, typed, before_us, after_us)
    counted = [(ti, pi) for ti, pi in matched if truth[ti].counted]
    errors = [(predicted[pi].onset - truth[ti].onset) / sample_rate_hz * 1e6 for ti, pi in counted]
    used_t = {ti for ti, _ in matched}
    fp = len(predicted) - len(matched)
    fn = sum(1 for i, t in enumerate(truth) if t.counted and i not in used_t)
    return EventCounts(len(counted), fp, fn, errors)


def matched_pairs(
    predicted: Sequence[DetectedEvent],
    truth: Sequence[TrueEvent],
    sample_rate_hz: float,
    typed: bool = True,
    before_us: float = MATCH_BEFORE_US,
    after_us: float = MATCH_AFTER_US,
) -> list[tuple[int, int]]:
    """``(truth index, predicted index)`` of every match under :func:`match_events`' rule."""
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
    matched: list[tuple[int, int]] = []
    for _dist, ti, pi in pairs:
        if ti in used_t or pi in used_p:
            continue
        used_t.add(ti)
        used_p.add(pi)
        matched.append((ti, pi))
    return matched


def add_counts(a: EventCounts, b: EventCounts) -> EventCounts:
    """Sum two outcomes."""
    return EventCounts(a.tp + b.tp, a.fp + b.fp, a.fn + b.fn, a.onset_errors_us + b.onset_errors_us)


EMPTY_COUNTS = EventCounts(0, 0, 0, [])


def event_metrics(counts: EventCounts) -> dict[str, float]:
    """Precision, recall, F1 and onset error statistics (µs) of an outcome."""
    precision = ratio(counts.tp, counts.tp + counts.fp)
    recall = ratio(counts.tp, counts.tp + counts.fn)
    errors = np.asarray(counts.onset_errors_us, dtype=float)
    return {
        "precision": precision,
        "recall": recall,
        "f1": ratio(2 * counts.tp, 2 * counts.tp + counts.fp + counts.fn),
        "true_bursts": float(counts.tp + counts.fn),
        "detected": float(counts.tp + counts.fp),
        "median_onset_error_us": float(np.median(np.abs(errors))) if errors.size else float("nan"),
        "median_onset_bias_us": float(np.median(errors)) if errors.size else float("nan"),
    }


class Score(NamedTuple):
    """Event-level result.

    Attributes:
        true_bursts: Bursts in the truth (within the scored span).
        detected: Events scored.
        precision: Matched events / detected.
        recall: Matched bursts / true bursts.
        f1: Harmonic mean of precision and recall.
        typed_f1: F1 when the event type must equal the burst type too.
        median_onset_error_us: Median |event onset − true onset| of matches (µs).
    """

    true_bursts: int
    detected: int
    precision: float
    recall: float
    f1: float
    typed_f1: float
    median_onset_error_us: float

    def line(self) -> str:
        """One line for terminals."""
        return (
            f"vs ground truth: {self.detected} events, {self.true_bursts} true bursts: "
            f"precision {self.precision:.4f} recall {self.recall:.4f} F1 {self.f1:.4f} "
            f"(typed F1 {self.typed_f1:.4f}), median onset error "
            f"{self.median_onset_error_us:.1f} µs"
        )
