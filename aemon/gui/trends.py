"""Qt-free AE trend accumulators, as in Vallen VisualAE and AEwin: per channel and type,
hit rate, cumulative hits, amplitude (dBAE) and energy (eu) against time (s)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from aemon.events.hit import Hit

logger = logging.getLogger(__name__)

TrendKey = tuple[int, str]
"""``(group, type)``: one curve per group and event type; the group is the channel, or the
cluster label when the events are added with ``groups``."""

TREND_KINDS = ("hit rate", "cumulative hits", "amplitude", "energy")
"""The four trend plots, in display order."""

RATE_BIN_STEPS_S = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0)
"""Hit-rate bin widths (s) that the automatic choice picks from; beyond them, whole minutes."""

RATE_BINS_TARGET = 60
"""The automatic bin width is the smallest step giving at most this many bins."""


def auto_rate_bin_s(span_s: float) -> float:
    """Hit-rate bin width (s) for events spread over ``span_s`` seconds from time 0.

    The smallest of :data:`RATE_BIN_STEPS_S` (then whole minutes) that gives at most
    :data:`RATE_BINS_TARGET` bins: 0.02 s bins for a 1 s recording, 1 s for a minute,
    1 min for an hour.
    """
    need = max(span_s, 0.0) / RATE_BINS_TARGET
    for step in RATE_BIN_STEPS_S:
        if step >= need:
            return step
    return 60.0 * float(np.ceil(need / 60.0))


class _Series:
    """Growing arrays of one curve's event times, amplitudes and energies."""

    def __init__(self) -> None:
        self.data = np.zeros((3, 256), dtype=np.float64)  # time_s, dBAE, eu
        self.n = 0
        self.sorted = True

    def add(self, time_s: float, dbae: float, energy: float) -> None:
        if self.n == self.data.shape[1]:
            self.data = np.concatenate([self.data, np.zeros_like(self.data)], axis=1)
        if self.n and time_s < self.data[0, self.n - 1]:
            self.sorted = False
        self.data[:, self.n] = (time_s, dbae, energy)
        self.n += 1

    def extend(self, times: np.ndarray, dbae: np.ndarray, energy: np.ndarray) -> None:
        k = len(times)
        if self.n + k > self.data.shape[1]:
            grown = np.zeros((3, max(2 * self.data.shape[1], self.n + k)), dtype=np.float64)
            grown[:, : self.n] = self.data[:, : self.n]
            self.data = grown
        self.data[:, self.n : self.n + k] = (times, dbae, energy)
        self.n += k
        self.sorted = False

    def view(self) -> npt.NDArray[np.float64]:
        if not self.sorted:  # events of one channel may arrive slightly out of order
            order = np.argsort(self.data[0, : self.n], kind="stable")
            self.data[:, : self.n] = self.data[:, : self.n][:, order]
            self.sorted = True
        return self.data[:, : self.n]


class TrendAccumulator:
    """Collects events into per ``(channel, type)`` trend curves.

    Args:
        bin_s: Width of a hit-rate bin (s); None picks it from the time span of all events
            (:func:`auto_rate_bin_s`), so a 1 s recording still shows a rate curve.
    """

    def __init__(self, bin_s: float | None = None) -> None:
        if bin_s is not None and not bin_s > 0:
            raise ValueError(f"bin_s must be positive, got {bin_s}")
        self.bin_s = None if bin_s is None else float(bin_s)
        self._series: dict[TrendKey, _Series] = {}
        self.version = 0
        """Incremented on every change, so a view redraws only when needed."""

    def add_rows(self, rows: npt.NDArray[np.void], groups: Sequence[int]) -> int:
        """Add events given as rows of :data:`aemon.io.schema.EVENT_DTYPE` (the hit table's
        store), grouped by ``groups`` (one per row, e.g. cluster labels); returns how many.
        Vectorised: 100 000 rows take milliseconds, not the seconds of :meth:`add`."""
        group = np.asarray(groups, dtype=np.int64)
        types = rows["type"]
        for g in np.unique(group):
            for t in np.unique(types[group == g]):
                chosen = rows[(group == g) & (types == t)]
                key = (int(g), t.decode() if isinstance(t, bytes) else str(t))
                series = self._series.setdefault(key, _Series())
                series.extend(chosen["time_s"], chosen["amplitude_dBAE"], chosen["energy_eu"])
        if len(rows):
            self.version += 1
        return len(rows)

    def add(self, events: Iterable[Hit], groups: Sequence[int] | None = None) -> int:
        """Add events; returns how many. ``groups`` (one per event, e.g. cluster labels)
        replaces the channel as the curve's group."""
        n = 0
        for i, e in enumerate(events):
            group = int(e.channel) if groups is None else int(groups[i])
            series = self._series.setdefault((group, str(e.type)), _Series())
            series.add(float(e.time_s), float(e.amplitude_dBAE), float(e.energy_eu))
            n += 1
        if n:
            self.version += 1
        return n

    def clear(self) -> None:
        """Forget every event."""
        self._series.clear()
        self.version += 1

    def keys(self) -> list[TrendKey]:
        """The ``(channel, type)`` curves, sorted."""
        return sorted(self._series)

    def count(self, key: TrendKey) -> int:
        """Events of one curve."""
        series = self._series.get(key)
        return 0 if series is None else series.n

    def hit_rate(
        self, key: TrendKey, until_s: float | None = None
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """``(bin start times (s), hits/s)`` from time 0 to the latest event of any curve (or
        ``until_s``), so a channel that went quiet shows a rate of 0 up to now."""
        times = self._column(key, 0)
        end = until_s if until_s is not None else self._latest_s()
        width = self.rate_bin_s()
        bins = max(int(end // width) + 1, 1)  # // as for the events' bins below
        index = np.clip((times // width).astype(np.int64), 0, bins - 1)
        counts = np.bincount(index, minlength=bins).astype(np.float64)
        return np.arange(bins, dtype=np.float64) * width, counts / width

    def rate_bin_s(self) -> float:
        """The hit-rate bin width (s) now: fixed, or chosen from the latest event time over
        every curve (the same for all curves, so they can be compared)."""
        if self.bin_s is not None:
            return self.bin_s
        return auto_rate_bin_s(self._latest_s())

    def _latest_s(self) -> float:
        """Time (s) of the latest event over every curve; 0 without events."""
        ends = [float(series.view()[0, -1]) for series in self._series.values() if series.n]
        return max(ends, default=0.0)

    def cumulative(self, key: TrendKey) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """``(event times (s), 1..n)``."""
        times = self._column(key, 0)
        return times, np.arange(1, len(times) + 1, dtype=np.float64)

    def amplitude(self, key: TrendKey) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """``(event times (s), amplitude (dBAE))``."""
        return self._column(key, 0), self._column(key, 1)

    def energy(self, key: TrendKey) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """``(event times (s), energy (eu))``."""
        return self._column(key, 0), self._column(key, 2)

    def curve(
        self, kind: str, key: TrendKey
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The curve of one of :data:`TREND_KINDS`."""
        if kind == "hit rate":
            return self.hit_rate(key)
        if kind == "cumulative hits":
            return self.cumulative(key)
        if kind == "amplitude":
            return self.amplitude(key)
        if kind == "energy":
            return self.energy(key)
        raise ValueError(f"unknown trend {kind!r}; one of {', '.join(TREND_KINDS)}")

    def _column(self, key: TrendKey, row: int) -> npt.NDArray[np.float64]:
        series = self._series.get(key)
        if series is None:
            return np.zeros(0)
        return series.view()[row]
