"""Qt-free AE trend accumulators, as in Vallen VisualAE and AEwin: per channel and type,
hit rate, cumulative hits, amplitude (dBAE) and energy (eu) against time (s)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from aemon.events.event import Event

logger = logging.getLogger(__name__)

TrendKey = tuple[int, str]
"""``(group, type)``: one curve per group and event type; the group is the channel, or the
cluster label when the events are added with ``groups``."""

TREND_KINDS = ("hit rate", "cumulative hits", "amplitude", "energy")
"""The four trend plots, in display order."""


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
        bin_s: Width of a hit-rate bin (s).
    """

    def __init__(self, bin_s: float = 1.0) -> None:
        if bin_s <= 0:
            raise ValueError(f"bin_s must be positive, got {bin_s}")
        self.bin_s = float(bin_s)
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

    def add(self, events: Iterable[Event], groups: Sequence[int] | None = None) -> int:
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
        """``(bin start times (s), hits/s)`` from time 0 to the last event (or ``until_s``)."""
        times = self._column(key, 0)
        end = until_s if until_s is not None else (times[-1] if len(times) else 0.0)
        bins = max(int(np.floor(end / self.bin_s)) + 1, 1)
        index = np.clip((times // self.bin_s).astype(np.int64), 0, bins - 1)
        counts = np.bincount(index, minlength=bins).astype(np.float64)
        return np.arange(bins, dtype=np.float64) * self.bin_s, counts / self.bin_s

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
