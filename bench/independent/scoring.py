"""Event-level scoring: precision, recall, F1, false alarms per minute, onset error.

A detection matches a true burst when ``detected onset - true onset`` lies in
[-100 µs, +250 µs] (both edges included, converted to whole samples). Matching is one-to-one
and greedy by time: true bursts are taken in onset order, and each takes the still unmatched
detection in its window that is closest to its onset (the earlier one on a tie).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

logger = logging.getLogger(__name__)

BEFORE_US = 100.0
"""A detection may precede the true onset by up to this much (µs)."""
AFTER_US = 250.0
"""A detection may follow the true onset by up to this much (µs)."""


class Score(NamedTuple):
    """Outcome of scoring one file.

    Attributes:
        true_bursts: True bursts.
        detected: Detections.
        tp: Matched pairs.
        fp: Unmatched detections.
        fn: Unmatched true bursts.
        precision: ``tp / detected``; 0 when nothing is detected.
        recall: ``tp / true_bursts``; 0 when there is no true burst.
        f1: Harmonic mean of precision and recall; 0 (never NaN) when either is 0.
        false_alarms_per_min: ``fp`` per minute of signal.
        median_onset_error_us: Median |detected - true onset| of the matches (µs); NaN when
            nothing matched.
    """

    true_bursts: int
    detected: int
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    false_alarms_per_min: float
    median_onset_error_us: float


def window_samples(
    fs: float, before_us: float = BEFORE_US, after_us: float = AFTER_US
) -> tuple[int, int]:
    """The match window in whole samples: ``(lo, hi)`` with ``lo <= det - true <= hi``."""
    lo = -math.floor(before_us * 1e-6 * fs + 1e-9)
    hi = math.floor(after_us * 1e-6 * fs + 1e-9)
    return lo, hi


def match(
    detected: Sequence[int] | np.ndarray,
    true_onsets: Sequence[int] | np.ndarray,
    fs: float,
    before_us: float = BEFORE_US,
    after_us: float = AFTER_US,
) -> list[tuple[int, int]]:
    """Match detections to true onsets; returns ``(true index, detection index)`` pairs.

    Indices refer to the inputs as given (they need not be sorted).
    """
    lo, hi = window_samples(fs, before_us, after_us)
    det = np.asarray(detected, dtype=np.int64).reshape(-1)
    true = np.asarray(true_onsets, dtype=np.int64).reshape(-1)
    det_order = np.argsort(det, kind="stable")
    det_sorted = det[det_order]
    used = np.zeros(det.size, dtype=bool)
    pairs: list[tuple[int, int]] = []
    for ti in np.argsort(true, kind="stable"):
        t = int(true[ti])
        a = int(np.searchsorted(det_sorted, t + lo, side="left"))
        b = int(np.searchsorted(det_sorted, t + hi, side="right"))
        best, best_dist = -1, None
        for j in range(a, b):
            k = int(det_order[j])
            if used[k]:
                continue
            dist = abs(int(det[k]) - t)
            if best_dist is None or dist < best_dist:
                best, best_dist = k, dist
        if best >= 0:
            used[best] = True
            pairs.append((int(ti), best))
    return pairs


def score(
    detected: Sequence[int] | np.ndarray,
    true_onsets: Sequence[int] | np.ndarray,
    fs: float,
    duration_s: float,
    before_us: float = BEFORE_US,
    after_us: float = AFTER_US,
) -> Score:
    """Score detected onsets against true onsets (both in samples).

    Args:
        detected: Detected onset samples.
        true_onsets: True onset samples.
        fs: Sample rate (Hz).
        duration_s: Length of the scored signal (s), for false alarms per minute.
        before_us: Allowed earliness (µs).
        after_us: Allowed lateness (µs).
    """
    det = np.asarray(detected, dtype=np.int64).reshape(-1)
    true = np.asarray(true_onsets, dtype=np.int64).reshape(-1)
    pairs = match(det, true, fs, before_us, after_us)
    tp = len(pairs)
    fp, fn = det.size - tp, true.size - tp
    precision = tp / det.size if det.size else 0.0
    recall = tp / true.size if true.size else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    errors = [abs(int(det[d]) - int(true[t])) / fs * 1e6 for t, d in pairs]
    return Score(
        true_bursts=int(true.size),
        detected=int(det.size),
        tp=tp,
        fp=fp,
        fn=fn,
        precision=precision,
        recall=recall,
        f1=f1,
        false_alarms_per_min=fp / (duration_s / 60.0) if duration_s > 0 else math.nan,
        median_onset_error_us=float(np.median(errors)) if errors else math.nan,
    )
