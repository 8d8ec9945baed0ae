"""The newest raw samples of a stream, per contiguous run: the one history every user cuts
its windows from (hit streams' event features, the hit grouper's cross-correlated arrivals,
the GUI's live event detail and embeddings).

Samples stay in stream units (e.g. ADC counts); :meth:`RawHistory.volts` scales on read.
Plain numpy, no locks: one thread appends and reads.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

__all__ = ["RawHistory"]

RUNS = 2
"""Contiguous runs held: a gap starts a new run, and the one before it stays for the hits
the gap closed."""


class _Run:
    """One contiguous run: the newest ``capacity`` samples, double-written so that any held
    span is one slice (sample ``i`` at columns ``i % size`` and ``i % size + size``). The
    storage grows by doubling up to ``capacity`` as samples arrive."""

    def __init__(self, first: int, block: npt.NDArray[np.generic], capacity: int) -> None:
        self.first = first  # oldest absolute index held
        self.end = first  # one past the newest
        self.capacity = capacity
        self.size = max(1, min(capacity, 2 * block.shape[1]))  # columns allocated, halved
        self.storage: npt.NDArray[np.generic] = np.empty(
            (block.shape[0], 2 * self.size), block.dtype
        )

    def read(self, start: int, count: int) -> npt.NDArray[np.generic]:
        """Read-only view of ``count`` held samples from ``start``."""
        s = start % self.size
        view = self.storage[:, s : s + count]
        view.flags.writeable = False
        return view

    def push(self, block: npt.NDArray[np.generic]) -> None:
        n = block.shape[1]
        end = self.end + n
        first = max(self.first, end - self.capacity)
        if end - first > self.size:
            self._grow(min(self.capacity, max(2 * self.size, end - first)))
        self._write(self.end, block)  # fits: end - first >= n
        self.first, self.end = first, end

    def _grow(self, size: int) -> None:
        held = self.read(self.first, self.end - self.first)
        self.size = size
        self.storage = np.empty((self.storage.shape[0], 2 * size), self.storage.dtype)
        self._write(self.first, held)

    def _write(self, start: int, data: npt.NDArray[np.generic]) -> None:
        m, pos = data.shape[1], start % self.size
        self.storage[:, pos : pos + m] = data
        head = min(m, self.size - pos)
        self.storage[:, pos + self.size : pos + self.size + head] = data[:, :head]
        self.storage[:, : m - head] = data[:, head:]


class RawHistory:
    """The newest raw ``(channels, n)`` samples of a stream, addressed by absolute index.

    Each contiguous run (a gap or jump starts a new one; the :data:`RUNS` newest are held)
    keeps at least its newest ``keep`` samples plus the longest block appended to it:
    the samples a block's detections may reach back to. Appending copies the new block
    (twice, into a double-written ring), however much is held; reads return read-only views,
    valid until the next :meth:`append`.

    Args:
        keep: Samples per channel kept behind the newest block.
    """

    def __init__(self, keep: int) -> None:
        self.keep = max(int(keep), 0)
        self._runs: list[_Run] = []

    def append(self, first: int, block: npt.NDArray[np.generic]) -> None:
        """Add ``(channels, n)`` samples starting at absolute index ``first`` (copied)."""
        block = np.asarray(block)
        if block.shape[1] == 0:
            return
        needed = self.keep + block.shape[1]
        if not self._runs or first != self._runs[-1].end:
            self._runs = [*self._runs[1 - RUNS :], _Run(first, block, needed)]
        elif needed > self._runs[-1].capacity:  # a longer block: room for twice it (rarely)
            self._runs[-1].capacity = 2 * needed
        self._runs[-1].push(block)

    def drop_before(self, sample: int) -> None:
        """Forget every sample before absolute index ``sample``."""
        self._runs = [run for run in self._runs if run.end > sample]
        for run in self._runs:
            run.first = max(run.first, sample)

    def span(self, start: int, stop: int) -> tuple[int, npt.NDArray[np.generic]] | None:
        """``(first, samples)`` of ``[start, stop)`` clipped to the newest run overlapping it;
        None if no run does."""
        for run in reversed(self._runs):
            if run.first < stop and start < run.end:
                lo = max(start, run.first)
                return lo, run.read(lo, min(stop, run.end) - lo)
        return None

    def window(self, start: int, stop: int) -> npt.NDArray[np.generic] | None:
        """All samples of ``[start, stop)`` (``(channels, stop - start)``), or None unless
        one run holds every one of them."""
        run = self._holding(start, stop) if start < stop else None
        return None if run is None else run.read(start, stop - start)

    def volts(
        self, start: int, stop: int, volts_per_count: Sequence[float]
    ) -> npt.NDArray[np.float32] | None:
        """:meth:`window` scaled to volts (V, float32, a copy), or None.

        Args:
            start: First absolute index.
            stop: One past the last.
            volts_per_count: Per channel, sample value → volts at the sensor (V).
        """
        held = self.window(start, stop)
        if held is None:
            return None
        scale = np.asarray(volts_per_count, dtype=np.float32)[:, None]
        return np.asarray(held, dtype=np.float32) * scale

    def run_start(self, start: int, stop: int) -> int | None:
        """Oldest held index of the newest run that holds all of ``[start, stop)``; None if
        none does."""
        run = self._holding(start, stop)
        return None if run is None else run.first

    def _holding(self, start: int, stop: int) -> _Run | None:
        for run in reversed(self._runs):
            if run.first <= start and stop <= run.end:
                return run
        return None

    @property
    def oldest(self) -> int | None:
        """Absolute index of the oldest sample held (None if none)."""
        return min((run.first for run in self._runs), default=None)

    @property
    def newest_range(self) -> tuple[int, int]:
        """Absolute ``[first, stop)`` of the newest run (``(0, 0)`` if none)."""
        if not self._runs:
            return 0, 0
        return self._runs[-1].first, self._runs[-1].end

    @property
    def end(self) -> int:
        """Absolute index one past the newest sample (0 before the first block)."""
        return self._runs[-1].end if self._runs else 0
