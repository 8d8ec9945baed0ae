"""The guard: site learning never ships a detector that is worse than the one it replaces.

The old and the new detector are scored through the live stream that ``aemon detect`` runs
(:func:`~aemon.detect.signal_detection.detect_signal`) on:

1. **the site's held-back recordings**: the last part (in time) of the background, alone
   (false alarms per minute) and with the held-back bursts mixed in (event F1, by
   ``aemon score``'s matching rule);
2. **a fixed slice of an independent generator** (:data:`INDEPENDENT_SLICE`, shipped with
   aemon; rendered by ``bench/make_guard_slice.py`` from the benchmark's generator, which no
   model trained on, with seeds the benchmark does not score).

The new detector is kept only when it is better on the site (higher F1, and no more false
alarms than the old one beyond a Poisson count's chance) and no worse than the old one on the
slice (:data:`SLICE_TOLERANCE`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import h5py
import numpy as np
import numpy.typing as npt

from aemon.detect.backend import Detector
from aemon.detect.onnx_runtime import models_dir
from aemon.detect.signal_detection import detect_signal
from aemon.events.scoring import (
    DetectedEvent,
    EventCounts,
    TrueEvent,
    event_metrics,
    match_events,
)

logger = logging.getLogger(__name__)

__all__ = ["INDEPENDENT_SLICE", "Scores", "Verdict", "judge", "score_detector", "slice_scores"]

INDEPENDENT_SLICE = "guard/independent-slice.h5"
"""The fixed independent slice, relative to the models directory."""
SLICE_TOLERANCE = 0.02
"""F1 the new detector may lose on the independent slice (rounding of a few events)."""


class Scores(NamedTuple):
    """One detector on one set of signals.

    Attributes:
        precision: Matched detections / detections.
        recall: Matched bursts / bursts.
        f1: Event F1.
        fa_per_min: Detections per minute on the burst-free part (events/min); NaN if none.
        bursts: True bursts scored.
        alarms: Detections on the burst-free part.
    """

    precision: float
    recall: float
    f1: float
    fa_per_min: float
    bursts: int
    alarms: int = 0

    def text(self) -> str:
        """``F1 0.83 (P 0.90, R 0.77), 2.0 false alarms/min``."""
        fa = "" if np.isnan(self.fa_per_min) else f", {self.fa_per_min:.1f} false alarms/min"
        return f"F1 {self.f1:.2f} (P {self.precision:.2f}, R {self.recall:.2f}){fa}"


class Verdict(NamedTuple):
    """The guard's decision.

    Attributes:
        keep: True when the new detector may be written.
        reason: Why not (one line), "" when kept.
        site_old: Old detector on the held-back site recordings.
        site_new: New detector on them.
        slice_old: Old detector on the independent slice.
        slice_new: New detector on it.
    """

    keep: bool
    reason: str
    site_old: Scores
    site_new: Scores
    slice_old: Scores
    slice_new: Scores

    def as_dict(self) -> dict[str, object]:
        """For the model card."""
        return {
            "kept": self.keep,
            "reason": self.reason,
            **{k: getattr(self, k)._asdict() for k in
               ("site_old", "site_new", "slice_old", "slice_new")},
        }  # fmt: skip


def score_detector(
    detector: Detector,
    mixtures: Sequence[tuple[npt.NDArray[np.floating], Sequence[int]]],
    backgrounds: Sequence[npt.NDArray[np.floating]],
    rate_hz: float,
) -> Scores:
    """Event scores of ``detector`` on one-channel signals with known burst onsets, and its
    false alarms per minute on burst-free ones (all through the live stream)."""
    tp = fp = fn = 0
    for signal, onsets in mixtures:
        found = detect_signal(detector, signal, rate_hz).events
        counts = match_events(
            [DetectedEvent(e.sample_index, e.sample_index + 1, 0, e.score) for e in found],
            [TrueEvent(int(o), int(o) + 1, 0) for o in onsets],
            rate_hz,
            typed=False,
        )
        tp, fp, fn = tp + counts.tp, fp + counts.fp, fn + counts.fn
    metrics = event_metrics(EventCounts(tp, fp, fn, [])) if mixtures else {}
    alarms = sum(len(detect_signal(detector, b, rate_hz).events) for b in backgrounds)
    minutes = sum(b.size for b in backgrounds) / rate_hz / 60.0
    return Scores(
        float(np.nan_to_num(metrics.get("precision", 0.0))),
        float(np.nan_to_num(metrics.get("recall", 0.0))),
        float(np.nan_to_num(metrics.get("f1", 0.0))),
        alarms / minutes if minutes > 0 else float("nan"),
        tp + fn,
        alarms,
    )


def slice_scores(detector: Detector, path: str | Path | None = None) -> Scores:
    """``detector`` on the independent slice (one file of several one-channel parts)."""
    parts = read_slice(path)
    rate = parts[0][2] if parts else detector.card.sample_rate_hz
    return score_detector(detector, [(x, onsets) for x, onsets, _ in parts], [], rate)


def read_slice(
    path: str | Path | None = None,
) -> list[tuple[npt.NDArray[np.float32], list[int], float]]:
    """The slice's parts: ``(signal V, burst onsets, rate Hz)`` each."""
    path = Path(path) if path is not None else models_dir() / INDEPENDENT_SLICE
    parts = []
    with h5py.File(path, "r") as f:
        for name in sorted(f["parts"]):
            group = f["parts"][name]
            x = group["signal"][()].astype(np.float32) * float(group.attrs["volts_per_count"])
            parts.append((x, [int(o) for o in group["onsets"][()]],
                          float(group.attrs["sample_rate_hz"])))  # fmt: skip
    return parts


def _more_alarms(new: Scores, old: Scores) -> bool:
    """Whether ``new`` raises clearly more false alarms than ``old`` on the same background:
    more than about two standard deviations of a Poisson count over the old rate (a held-back
    background of a few seconds shows one false alarm as 20/min)."""
    if np.isnan(new.fa_per_min) or np.isnan(old.fa_per_min) or new.fa_per_min <= old.fa_per_min:
        return False
    minutes = new.alarms / new.fa_per_min if new.fa_per_min > 0 else 0.0
    old_count = old.fa_per_min * minutes
    return new.alarms > old_count + 2.0 * np.sqrt(old_count + 1.0)


def judge(site_old: Scores, site_new: Scores, slice_old: Scores, slice_new: Scores) -> Verdict:
    """Keep the new detector only if it is better on the site and no worse on the slice."""
    reason = ""
    if site_new.f1 <= site_old.f1:
        reason = (
            f"is not better on the held-back site recordings (F1 {site_new.f1:.2f} vs the "
            f"old {site_old.f1:.2f})"
        )
    elif _more_alarms(site_new, site_old):
        reason = (
            f"raises more false alarms on the held-back background ({site_new.fa_per_min:.1f}"
            f"/min vs the old {site_old.fa_per_min:.1f}/min)"
        )
    elif slice_new.f1 < slice_old.f1 - SLICE_TOLERANCE:
        reason = (
            f"is worse on the independent check data (F1 {slice_new.f1:.2f} vs the old "
            f"{slice_old.f1:.2f})"
        )
    return Verdict(not reason, reason, site_old, site_new, slice_old, slice_new)
