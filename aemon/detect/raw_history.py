"""The newest raw samples of a stream, kept for event features (shared by every hit stream)."""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from aemon.stream.ring import RingBuffer

logger = logging.getLogger(__name__)

__all__ = ["RawHistory"]


class RawHistory:
    """The newest raw samples in stream units, one ring buffer per contiguous run.

    A gap starts a new run (the two newest are kept). Appending costs one copy of the new
    block, however much history is held, and :meth:`span` returns a view, no copy.
    """

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.runs: list[RingBuffer] = []

    def append(self, first: int, block: npt.NDArray[np.generic]) -> None:
        # The detections a push releases may reach ``keep`` samples before the block, so
        # a ring holds ``keep`` plus the longest block seen (it grows, rarely, for longer ones).
        needed = self.keep + block.shape[1]
        if not self.runs or first != self.runs[-1].write_index:
            self.runs = [*self.runs[-1:], self._ring(first, block, needed)]
        elif needed > self.runs[-1].capacity:
            old = self.runs[-1]
            ring = self._ring(old.oldest_index, block, 2 * needed)
            ring.push(
                old.oldest_index, old.read(old.oldest_index, old.write_index - old.oldest_index)
            )
            self.runs[-1] = ring
        self.runs[-1].push(first, block)

    @staticmethod
    def _ring(first: int, block: npt.NDArray[np.generic], capacity: int) -> RingBuffer:
        return RingBuffer(block.shape[0], capacity, block.dtype, first_sample=first)

    def span(self, start: int, stop: int) -> tuple[int, npt.NDArray[np.generic]] | None:
        """The held samples of ``[start, stop)``, clipped, from the newest run overlapping it."""
        for ring in reversed(self.runs):
            first, end = ring.oldest_index, ring.write_index
            if first < stop and start < end:
                lo = max(start, first)
                return lo, ring.read(lo, min(stop, end) - lo)
        return None

    @property
    def oldest(self) -> int | None:
        """Absolute index of the oldest sample held (None if none); it never decreases."""
        return min((ring.oldest_index for ring in self.runs), default=None)

    @property
    def newest_range(self) -> tuple[int, int]:
        """Absolute ``[first, stop)`` of the newest contiguous run held (``(0, 0)`` if none)."""
        if not self.runs:
            return 0, 0
        return self.runs[-1].oldest_index, self.runs[-1].write_index

    def run_start(self, start: int, stop: int) -> int | None:
        """First held index of the run that holds all of ``[start, stop)``; None if none does."""
        for ring in reversed(self.runs):
            if ring.oldest_index <= start and stop <= ring.write_index:
                return ring.oldest_index
        return None
