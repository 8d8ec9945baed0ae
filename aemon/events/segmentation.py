"""Probability map → detections: hysteresis, merge gap and minimum duration, streaming.

:class:`MapSegmenter` turns a detector's per-bin probabilities (``(classes, bins)`` per push,
absolute sample indices) into :class:`~aemon.events.hit.Detection` runs:

- **hysteresis**: a run opens where the probability reaches ``on`` and lasts while it stays at
  or above ``off`` (``off <= on``); a region above ``off`` that never reaches ``on`` is no run;
- **merge gap**: runs separated by at most ``merge_gap_us`` become one run;
- **minimum duration**: merged runs shorter than ``min_duration_us`` are dropped.

A run that spans pushes is one run, so the result does not depend on how the map is split.
With ``per_class=True`` every class row has its own runs; otherwise runs are found on the
maximum over classes and typed by the class with the highest probability inside the run.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.errors import ConfigError
from aemon.events.hit import Detection, us_to_samples

logger = logging.getLogger(__name__)


class _Run(NamedTuple):
    start: int
    stop: int
    score: float
    class_max: npt.NDArray[np.float64]


class _Track:
    """Run state of one trigger row (one class, or the max over classes)."""

    def __init__(self) -> None:
        self.open: _Run | None = None
        self.pending: _Run | None = None


class MapSegmenter:
    """Streaming probability map → :class:`Detection` runs for one channel.

    Args:
        classes: Event class per map row.
        bin_samples: Input samples per map bin.
        sample_rate_hz: Sample rate (Hz) of the input.
        channel: Channel index the detections are for.
        on: Probability at which a run opens (0..1).
        off: Probability below which it closes (default ``on``: no hysteresis).
        min_duration_us: Merged runs shorter than this (µs) are dropped.
        merge_gap_us: Runs separated by at most this (µs) are merged.
        per_class: True: each class has its own runs. False: runs of the maximum over
            classes, typed by the class with the highest probability in the run.
    """

    def __init__(
        self,
        classes: Sequence[str],
        bin_samples: int,
        sample_rate_hz: float,
        *,
        channel: int = 0,
        on: float = 0.5,
        off: float | None = None,
        min_duration_us: float = 0.0,
        merge_gap_us: float = 0.0,
        per_class: bool = True,
    ) -> None:
        off = on if off is None else off
        if not (0.0 <= off <= on <= 1.0) or not classes or bin_samples < 1:
            raise ConfigError(
                f"map segmenter needs classes, bin_samples >= 1 and 0 <= off <= on <= 1; got "
                f"{len(classes)} classes, bin_samples {bin_samples}, on {on}, off {off}"
            )
        self.classes = list(classes)
        self.bin_samples = int(bin_samples)
        self.channel = channel
        self.on, self.off = float(on), float(off)
        self.min_samples = us_to_samples(min_duration_us, sample_rate_hz)
        self.gap_samples = us_to_samples(merge_gap_us, sample_rate_hz)
        self.per_class = per_class
        self._tracks = [_Track() for _ in (self.classes if per_class else [0])]
        self._next_sample: int | None = None

    def push(self, first_sample: int, probabilities: npt.ArrayLike) -> list[Detection]:
        """Add map bins starting at ``first_sample``; return the runs now complete.

        Args:
            first_sample: Absolute sample index where bin 0 starts. A jump from the end of
                the previous push ends all runs first (as :meth:`flush`).
            probabilities: ``(classes, bins)`` probabilities 0..1.
        """
        p = np.asarray(probabilities, dtype=np.float64)
        if p.ndim != 2 or p.shape[0] != len(self.classes):
            raise ConfigError(f"map must be ({len(self.classes)}, bins), got shape {p.shape}")
        out = [] if self._next_sample in (None, first_sample) else self.flush()
        end = first_sample + p.shape[1] * self.bin_samples
        for k, track in enumerate(self._tracks):
            rows = p[k : k + 1] if self.per_class else p
            out += self._scan(track, first_sample, rows.max(axis=0), rows, k)
            out += self._release(track, end, k)
        self._next_sample = end
        return sorted(out, key=lambda d: d.start_sample)

    @property
    def settled_sample(self) -> int | None:
        """The earliest start a run not yet returned can have: the open or pending run's
        start, else where the next bins begin; None before the first bins and after a flush.
        """
        starts = [t.open.start for t in self._tracks if t.open is not None]
        starts += [t.pending.start for t in self._tracks if t.pending is not None]
        if self._next_sample is not None:
            starts.append(self._next_sample)
        return min(starts) if starts else None

    def flush(self) -> list[Detection]:
        """End all runs (end of stream or a gap) and return those that qualify."""
        out: list[Detection] = []
        for k, track in enumerate(self._tracks):
            if track.open is not None and track.open.score >= self.on:
                out += self._add(track, track.open, k)
            track.open = None
            out += self._release(track, None, k)
        self._next_sample = None
        return sorted(out, key=lambda d: d.start_sample)

    def _scan(
        self,
        track: _Track,
        first: int,
        trigger: npt.NDArray[np.float64],
        rows: npt.NDArray[np.float64],
        k: int,
    ) -> list[Detection]:
        above = np.concatenate(([track.open is not None], trigger >= self.off, [False]))
        edges = np.diff(above.astype(np.int8))
        starts: list[int | None] = [int(i) for i in np.flatnonzero(edges == 1)]
        stops = [int(i) for i in np.flatnonzero(edges == -1)]
        if track.open is not None:
            starts.insert(0, None)
        out: list[Detection] = []
        for s, e in zip(starts, stops, strict=True):
            lo = 0 if s is None else s
            score, cmax = -math.inf, np.full(rows.shape[0], -math.inf)
            if e > lo:
                score, cmax = float(trigger[lo:e].max()), rows[:, lo:e].max(axis=1)
            start = first + lo * self.bin_samples
            if s is None and track.open is not None:
                start = track.open.start
                score = max(score, track.open.score)
                cmax = np.maximum(cmax, track.open.class_max)
            run = _Run(start, first + e * self.bin_samples, score, cmax)
            if e == trigger.size:
                track.open = run
            else:
                track.open = None
                if score >= self.on:
                    out += self._add(track, run, k)
        return out

    def _add(self, track: _Track, run: _Run, k: int) -> list[Detection]:
        """Merge ``run`` into the pending run or replace it (emitting the old one)."""
        old = track.pending
        if old is not None and run.start - old.stop <= self.gap_samples:
            track.pending = _Run(
                old.start,
                run.stop,
                max(old.score, run.score),
                np.maximum(old.class_max, run.class_max),
            )
            return []
        track.pending = run
        return self._emit(old, k)

    def _release(self, track: _Track, end: int | None, k: int) -> list[Detection]:
        """Emit the pending run once no later run can merge with it (always when end=None)."""
        if track.pending is None:
            return []
        earliest = track.open.start if track.open is not None else end
        if earliest is not None and earliest - track.pending.stop <= self.gap_samples:
            return []
        run, track.pending = track.pending, None
        return self._emit(run, k)

    def _emit(self, run: _Run | None, k: int) -> list[Detection]:
        if run is None or run.stop - run.start < self.min_samples:
            return []
        kind = self.classes[k] if self.per_class else self.classes[int(np.argmax(run.class_max))]
        return [Detection(self.channel, kind, run.start, run.stop, run.score)]


def map_to_detections(
    probabilities: npt.ArrayLike,
    classes: Sequence[str],
    bin_samples: int,
    sample_rate_hz: float,
    *,
    first_sample: int = 0,
    **options: float | bool | int,
) -> list[Detection]:
    """One-shot :class:`MapSegmenter`: all runs of a whole ``(classes, bins)`` map.

    ``options`` are the keyword arguments of :class:`MapSegmenter` (channel, on, off,
    min_duration_us, merge_gap_us, per_class).
    """
    seg = MapSegmenter(classes, bin_samples, sample_rate_hz, **options)  # type: ignore[arg-type]
    return sorted(seg.push(first_sample, probabilities) + seg.flush(), key=lambda d: d.start_sample)
