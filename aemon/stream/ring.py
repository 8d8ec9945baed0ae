"""Multi-channel ring buffer with absolute sample indices and zero-copy contiguous views.

One source thread writes with :meth:`RingBuffer.push` / :meth:`RingBuffer.gap`; any number of
consumer threads read through their own :class:`RingReader`. Every sample is addressed by its
absolute index (counted from the first sample the source produced).

Double write: the storage holds ``2 * capacity`` columns and sample ``i`` is written twice, at
column ``i % capacity`` and at ``i % capacity + capacity``. Any span of at most ``capacity``
samples is then the plain slice ``storage[:, s:s + count]`` with ``s = start % capacity``:
no wrap-around, no copy. Each channel row of a view is contiguous; rows are ``2 * capacity``
columns apart::

    capacity 8, samples 0..10 written         columns  0 1 2 3 4 5 6 7 | 8 9 ...
    sample index held in each column           8 9 10 3 4 5 6 7 | 8 9 10 3 4 5 6 7
    read(5, 6) -> storage[:, 5:11]             ............5 6 7 | 8 9 10 ........

Readers come in two kinds:

* **blocking** (lossless, e.g. the recorder): the writer waits in ``push`` until every blocking
  reader has released the samples it would overwrite. The view a blocking reader got from its
  last ``read`` stays valid until its next ``read`` (or ``close``).
* **lossy** (detector, GUI): never hold the writer back. When the writer laps one, its next
  ``read`` jumps to the oldest sample still held and reports exactly which samples it lost.
  Its views may be overwritten at any time after ``read`` returns; check
  :meth:`RingBuffer.is_valid` after using one.

Samples the writer is copying right now already count as overwritten (``oldest_index`` moves
before the copy starts), so a view is either valid or reported as such. The copies themselves
run outside the lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

import numpy as np
import numpy.typing as npt

from aemon.errors import ConfigError
from aemon.stream.ring_reader import ReadResult, RingReader, RingStats, SamplesLost
from aemon.types import Gap

__all__ = ["ReadResult", "RingBuffer", "RingReader", "RingStats", "SamplesLost"]

logger = logging.getLogger(__name__)

MAX_RECORDED_GAPS = 4096
"""Source gaps the ring remembers for :attr:`ReadResult.gaps` (the most recent ones)."""


class RingBuffer:
    """Single-writer, multi-reader ring of ``(channels, n)`` sample blocks.

    Implements the :class:`aemon.types.SampleSink` protocol.

    Args:
        channels: Number of channels.
        capacity_samples: Samples per channel the ring holds (the longest possible view).
        dtype: Sample dtype, e.g. ``"int16"`` (ADC counts) or ``"float32"`` (V).
        first_sample: Absolute index of the first sample that will be pushed.

    Raises:
        ConfigError: For a channel count or capacity below 1.
    """

    def __init__(
        self,
        channels: int,
        capacity_samples: int,
        dtype: npt.DTypeLike,
        *,
        first_sample: int = 0,
    ) -> None:
        if channels < 1:
            raise ConfigError(f"a ring buffer needs at least 1 channel, not {channels}")
        if capacity_samples < 1:
            raise ConfigError(
                f"ring buffer capacity must be at least 1 sample, not {capacity_samples}"
            )
        self.channels = int(channels)
        self.capacity = int(capacity_samples)
        self.dtype = np.dtype(dtype)
        self._storage = np.empty((self.channels, 2 * self.capacity), self.dtype)
        self._storage.fill(0)  # touch every page now, not in the writer's first lap
        self._readonly = self._storage.view()
        self._readonly.flags.writeable = False
        self._first = int(first_sample)
        self._write_index = self._first
        self._reserved_to = self._first  # a copy in progress overwrites up to here - capacity
        lock = threading.Lock()
        self._lock = lock
        self._has_data = threading.Condition(lock)
        self._has_space = threading.Condition(lock)
        self._blocking: list[RingReader] = []
        self._gaps: deque[Gap] = deque(maxlen=MAX_RECORDED_GAPS)
        self._closed = False
        self._pushes = 0
        self._samples_written = 0
        self._gap_samples = 0
        self._waits = 0
        self._wait_s = 0.0
        self._discarded = 0

    # -- state -----------------------------------------------------------------------------

    @property
    def write_index(self) -> int:
        """Absolute index one past the newest sample."""
        return self._write_index

    @property
    def oldest_index(self) -> int:
        """Oldest absolute index still held (samples being overwritten right now excluded)."""
        return max(self._first, self._reserved_to - self.capacity)

    @property
    def closed(self) -> bool:
        """True after :meth:`close`: the stream has ended."""
        return self._closed

    @property
    def stats(self) -> RingStats:
        """A snapshot of the writer counters."""
        with self._lock:
            return RingStats(
                self._pushes,
                self._samples_written,
                self._gap_samples,
                self._waits,
                self._wait_s,
                self._discarded,
            )

    @property
    def gaps(self) -> list[Gap]:
        """The most recent source gaps (up to :data:`MAX_RECORDED_GAPS`), oldest first."""
        with self._lock:
            return list(self._gaps)

    def is_valid(self, start: int) -> bool:
        """True while the samples from ``start`` on have not been overwritten."""
        return start >= self._first and start >= self._reserved_to - self.capacity

    # -- writer ----------------------------------------------------------------------------

    def push(self, first_sample: int, samples: npt.NDArray[np.generic]) -> None:
        """Append a ``(channels, n)`` block whose first column has index ``first_sample``.

        Waits while a blocking reader still needs the samples this write would overwrite; a
        block longer than the ring is then written in pieces as the readers catch up. With no
        blocking reader only the last ``capacity`` samples of such a block are kept. After
        :meth:`close` the block is discarded (counted in :attr:`stats`).

        Raises:
            ValueError: Wrong shape or channel count, a dtype that cannot be cast to the ring's
                dtype of the same kind, or ``first_sample != write_index`` (declare missing
                samples with :meth:`gap` first).
        """
        block = self._check_block(samples)
        n = block.shape[1]
        with self._lock:
            if self._closed:
                self._discarded += n
                return
            if first_sample != self._write_index:
                raise ValueError(self._order_message("block", first_sample))
            self._pushes += 1
        if n:
            self._write(block, n, skip_ok=False)

    def gap(self, gap: Gap) -> None:
        """Declare ``[gap.start_sample, gap.stop_sample)`` missing for good.

        The samples read as zeros and the gap is listed in :attr:`ReadResult.gaps`. A gap
        longer than the ring is not written sample by sample: once every blocking reader has
        caught up, the storage is zeroed and the write index jumps to the end of the gap.

        Raises:
            ValueError: For a gap that ends before it starts or does not start at
                :attr:`write_index`.
        """
        start, stop = int(gap.start_sample), int(gap.stop_sample)
        if stop < start:
            raise ValueError(f"gap {start}..{stop} ends before it starts")
        with self._lock:
            if self._closed:
                self._discarded += stop - start
                return
            if start != self._write_index:
                raise ValueError(self._order_message("gap", start))
            if stop == start:
                return
            self._gaps.append(gap)
        self._write(None, stop - start, skip_ok=stop - start > self.capacity)

    def close(self) -> None:
        """End the stream: wake every reader and a waiting writer; later pushes are discarded."""
        with self._lock:
            self._closed = True
            self._has_data.notify_all()
            self._has_space.notify_all()

    def __enter__(self) -> RingBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- random access ---------------------------------------------------------------------

    def read(self, start: int, count: int) -> npt.NDArray[np.generic]:
        """Read-only ``(channels, count)`` view of the samples ``[start, start + count)``.

        The view is not protected against the writer; check :meth:`is_valid` after use.

        Raises:
            SamplesLost: If ``start`` is older than :attr:`oldest_index`.
            ValueError: If ``count`` is negative or above the capacity, or the span reaches
                past :attr:`write_index`.
        """
        if not 0 <= count <= self.capacity:
            raise ValueError(f"count must be 0..{self.capacity} (the ring capacity), not {count}")
        oldest = self.oldest_index
        if start < oldest:
            raise SamplesLost(start, oldest)
        if start + count > self._write_index:
            raise ValueError(
                f"samples {start}..{start + count} reach past the newest sample "
                f"({self._write_index - 1})"
            )
        return self._view(start, count)

    def reader(
        self, name: str = "", *, blocking: bool = False, start: int | None = None
    ) -> RingReader:
        """Attach a reader that starts at ``start`` (default: the current write index).

        Args:
            name: Label for logs and status lines.
            blocking: True for a lossless reader that holds the writer back.
            start: Absolute index of the first sample it reads.
        """
        with self._lock:
            position = self._write_index if start is None else int(start)
            reader = RingReader(self, name, blocking, position)
            reader.hold = max(position, self.oldest_index)
            if blocking:
                self._blocking.append(reader)
            return reader

    # -- the reader interface (aemon.stream.ring_reader.RingAccess) ------------------------

    @property
    def lock(self) -> threading.Lock:
        """The lock that guards indices, gaps and readers."""
        return self._lock

    def wait_for_data_locked(self, timeout: float | None) -> None:
        """Wait (lock held) until samples arrive, the ring closes or ``timeout`` s pass."""
        self._has_data.wait(timeout)

    def notify_space_locked(self) -> None:
        """Wake a writer waiting for a blocking reader to move on."""
        self._has_space.notify_all()

    def detach_locked(self, reader: RingReader) -> None:
        """Stop ``reader`` from holding the writer back."""
        if reader in self._blocking:
            self._blocking.remove(reader)
            self._has_space.notify_all()

    def view_locked(self, start: int, count: int) -> npt.NDArray[np.generic]:
        """Read-only view of ``count`` samples from absolute index ``start``."""
        return self._view(start, count)

    # -- internals (the caller holds the lock where the name ends in _locked) --------------

    def _view(self, start: int, count: int) -> npt.NDArray[np.generic]:
        column = start % self.capacity
        return self._readonly[:, column : column + count]

    def _check_block(self, samples: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
        block = np.asarray(samples)
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ValueError(
                f"expected a ({self.channels}, n) sample block, got shape {block.shape}"
            )
        if block.dtype != self.dtype and not np.can_cast(block.dtype, self.dtype, "same_kind"):
            raise ValueError(
                f"cannot store {block.dtype} samples in a {self.dtype} ring buffer; "
                f"convert them to {self.dtype} first"
            )
        return block

    def _order_message(self, what: str, first_sample: int) -> str:
        if first_sample < self._write_index:
            return (
                f"{what} at sample {first_sample} overlaps samples already in the ring "
                f"(next expected: {self._write_index})"
            )
        return (
            f"{what} at sample {first_sample} skips samples {self._write_index}..{first_sample}; "
            "declare them with gap() first"
        )

    def _space_locked(self) -> int | None:
        """Samples the writer may add without overwriting a blocking reader's data."""
        if not self._blocking:
            return None
        return min(r.hold for r in self._blocking) + self.capacity - self._write_index

    def _wait_for_space_locked(self, needed: int) -> int | None:
        space = self._space_locked()
        if space is None or space >= needed or self._closed:
            return space
        self._waits += 1
        started = time.monotonic()
        while not self._closed:
            self._has_space.wait()
            space = self._space_locked()
            if space is None or space >= needed:
                break
        self._wait_s += time.monotonic() - started
        return space

    def _write(self, block: npt.NDArray[np.generic] | None, n: int, *, skip_ok: bool) -> None:
        """Store ``n`` samples of ``block`` (zeros when None), honouring back-pressure.

        With ``skip_ok`` (a gap longer than the ring) the writer waits until every blocking
        reader has caught up and then keeps only the last ``capacity`` samples.
        """
        cap = self.capacity
        done = 0
        while done < n:
            with self._lock:
                space = self._wait_for_space_locked(cap if skip_ok else 1)
                if self._closed:
                    self._discarded += n - done
                    return
                chunk = n - done if space is None or skip_ok else min(n - done, space)
                end = self._write_index + chunk
                self._reserved_to = end
            keep = min(chunk, cap)
            piece = None if block is None else block[:, done + chunk - keep : done + chunk]
            self._store(end - keep, piece, keep)
            with self._lock:
                self._write_index = end
                if chunk > cap:  # skipped samples: nobody can still hold a view of them
                    for reader in self._blocking:
                        reader.hold = max(reader.hold, end - cap)
                if block is None:
                    self._gap_samples += chunk
                else:
                    self._samples_written += chunk
                self._has_data.notify_all()
            done += chunk

    def _store(self, first: int, piece: npt.NDArray[np.generic] | None, n: int) -> None:
        """Write ``n`` (<= capacity) samples at both of their columns: two or three memcpys."""
        cap = self.capacity
        storage = self._storage
        if piece is None and n == cap:
            storage.fill(0)
            return
        value: npt.NDArray[np.generic] | int = 0 if piece is None else piece
        column = first % cap
        end = column + n
        storage[:, column:end] = value
        if end <= cap:
            storage[:, column + cap : end + cap] = value
        else:
            split = cap - column
            storage[:, column + cap :] = 0 if piece is None else piece[:, :split]
            storage[:, : end - cap] = 0 if piece is None else piece[:, split:]

    def gaps_overlapping_locked(self, start: int, stop: int) -> list[Gap]:
        found: list[Gap] = []
        for gap in reversed(self._gaps):
            if gap.stop_sample <= start:
                break
            if gap.start_sample < stop:
                found.append(gap)
        found.reverse()
        return found

    def inside_gaps_locked(self, start: int, stop: int) -> bool:
        covered = start
        for gap in self.gaps_overlapping_locked(start, stop):
            if gap.start_sample > covered:
                return False
            covered = max(covered, gap.stop_sample)
        return covered >= stop
