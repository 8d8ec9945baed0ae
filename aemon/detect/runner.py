"""The one stream walk: blocks and gaps in, hits out to sinks, for every way aemon detects.

::

    items ──► HitStream ──hits──► [HitGrouper: group + locate] ──► sinks
    (blocks,     │                        ▲                          (CSV, HDF5 table or /events,
     gaps)       └── settled_sample ──────┘ the grouper's clock        PUB, GUI, a list, …)

:class:`DetectionRunner` owns the walk. ``aemon monitor`` (:mod:`aemon.monitor`: items from the
ring), ``aemon detect`` and ``aemon replay`` (:mod:`aemon.detect.offline`: items from a file),
the GUI's re-detection and the in-memory evaluation (:mod:`aemon.detect.signal_detection`:
training's cards, calibration, adapt) all call it; a live source and a file differ only in
where the items come from.

The grouper's clock is the stream's :attr:`~aemon.detect.factory.HitStream.settled_sample`
(no hit still to come has an earlier onset), the same live and offline, so an event is final
only when all its hits are in: the events and their locations do not depend on block sizes,
batching or detector latency.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import numpy.typing as npt

from aemon.detect.factory import HitStream
from aemon.events.grouping import HitGrouper, HitSink, LocatingWriter
from aemon.events.hit import Hit
from aemon.stream.ring_reader import RingReader
from aemon.types import Gap

logger = logging.getLogger(__name__)

__all__ = ["DetectionRunner", "Fanout", "HitList", "Item", "Pace", "paced", "ring_items"]

Item = tuple[int, npt.NDArray[np.generic]] | Gap
"""What a source of the walk yields: ``(first_sample, (channels, n) block)`` or a :class:`Gap`
declared before the block that follows it."""

Pace = Callable[[float], None]
"""Called with the signal time (s since the first sample) about to be processed; replay
sleeps in it to hold a speed."""


class HitList(list[Hit]):
    """A sink that keeps the hits in memory (evaluation, the GUI's re-detection)."""

    def write(self, events: Iterable[Hit]) -> int:
        """Append ``events``; return how many."""
        before = len(self)
        self.extend(events)
        return len(self) - before


class Fanout:
    """A sink that writes every batch of hits to each of ``sinks`` in turn.

    Attributes:
        rows: Hits passed on.
    """

    def __init__(self, sinks: Sequence[HitSink]) -> None:
        self.sinks = list(sinks)
        self.rows = 0

    def write(self, events: Iterable[Hit]) -> int:
        """Write ``events`` to every sink; return how many there were."""
        batch = list(events)
        if batch:
            for sink in self.sinks:
                sink.write(batch)
            self.rows += len(batch)
        return len(batch)


class DetectionRunner:
    """Runs a hit stream over items and passes the hits on, grouped when asked.

    Args:
        stream: The hit stream (:func:`~aemon.detect.factory.make_hit_stream`).
        sinks: Where the hits go, in this order.
        first_sample: Absolute index of the stream's first sample (``time_s = 0``).
        sample_rate_hz: Sample rate (Hz).
        grouper: Group the hits of all channels into located events first (raw blocks go to
            it for cross-correlated arrivals); None passes the hits on as they are.
        only_inside: With ``grouper``: pass on only hits of events located inside.
        keep_event_table: With ``grouper``: keep its :attr:`~HitGrouper.table` of events
            (False clears it after each push, so a live run keeps bounded memory).

    Attributes:
        detected_until: Absolute index one past the last sample pushed.
        rows: Hits passed on to the sinks.
    """

    def __init__(
        self,
        stream: HitStream,
        sinks: Sequence[HitSink],
        *,
        first_sample: int,
        sample_rate_hz: float,
        grouper: HitGrouper | None = None,
        only_inside: bool = False,
        keep_event_table: bool = True,
    ) -> None:
        self.stream = stream
        self.first_sample = first_sample
        self.sample_rate_hz = float(sample_rate_hz)
        self.detected_until = first_sample
        self._fanout = Fanout(sinks)
        self.grouper = grouper
        self._locating: LocatingWriter | None = None
        self._keep_table = keep_event_table
        self._settled = first_sample
        if grouper is not None:
            grouper.attach_signal(sample_rate_hz, first_sample)
            self._locating = LocatingWriter(self._fanout, grouper, only_inside=only_inside)

    @property
    def rows(self) -> int:
        """Hits passed on to the sinks so far."""
        return self._fanout.rows

    def run(self, items: Iterable[Item]) -> int:
        """Push every item, then :meth:`flush`; returns the hits passed on."""
        for item in items:
            self.feed(item)
        self.flush()
        return self.rows

    def feed(self, item: Item) -> int:
        """One block or gap; returns the hits passed on."""
        if isinstance(item, Gap):
            self.gap(item)
            return 0
        return self.push(*item)

    def push(self, first_sample: int, block: npt.NDArray[np.generic]) -> int:
        """Push a ``(channels, n)`` block; returns the hits passed on."""
        if self.grouper is not None:  # raw signal for cross-correlated arrivals
            self.grouper.add_signal(first_sample, block)
        hits = self.stream.push(first_sample, np.ascontiguousarray(block))
        self.detected_until = first_sample + block.shape[1]
        return self._pass(hits)

    def gap(self, gap: Gap) -> None:
        """Samples ``gap.start_sample``..``gap.stop_sample`` are missing."""
        self.stream.gap(gap)
        self.detected_until = max(self.detected_until, gap.stop_sample)

    def flush(self) -> int:
        """End of stream: the hits still open, and every event still held."""
        return self._pass(self.stream.flush(), final=True)

    def _pass(self, hits: list[Hit], *, final: bool = False) -> int:
        if self._locating is None:
            return self._fanout.write(hits)
        self._settled = max(self._settled, self.stream.settled_sample)
        settled_s = (self._settled - self.first_sample) / self.sample_rate_hz
        written = self._locating.write(hits, settled_s)
        if final:
            written += self._locating.flush()
        if not self._keep_table:
            assert self.grouper is not None
            self.grouper.table.clear()  # the hits carry the location
        return written


def ring_items(reader: RingReader, *, timeout_s: float = 0.1) -> Iterator[Item]:
    """The items of a lossless ring reader (the live monitor's source), until the ring closes.

    Each read is cut at the source gaps it overlaps; each gap is declared once, before the
    samples that follow it (their zeros are never pushed).
    """
    seen: set[tuple[int, int]] = set()
    while (result := reader.read(timeout=timeout_s)) is not None:
        base, samples = result.first_sample, result.samples
        pos, stop = base, base + samples.shape[1]
        for gap in sorted(result.gaps, key=lambda g: g.start_sample):
            lo, hi = max(gap.start_sample, pos), min(gap.stop_sample, stop)
            if hi <= lo:
                continue
            if lo > pos:
                yield pos, samples[:, pos - base : lo - base]
            if (gap.start_sample, gap.stop_sample) not in seen:
                seen.add((gap.start_sample, gap.stop_sample))
                yield Gap(lo, gap.stop_sample, gap.reason)
            pos = hi
        if pos < stop:
            yield pos, samples[:, pos - base :]


def paced(items: Iterable[Item], pace: Pace, first_sample: int, rate_hz: float) -> Iterator[Item]:
    """``items``, calling ``pace(signal seconds since first_sample)`` before each one."""
    for item in items:
        start = item.start_sample if isinstance(item, Gap) else item[0]
        pace((start - first_sample) / rate_hz)
        yield item
