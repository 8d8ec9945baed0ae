"""The consumer side of :class:`aemon.stream.ring.RingBuffer`: readers and what they read.

See :mod:`aemon.stream.ring` for the double-write layout and the blocking/lossy reader semantics.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from aemon.types import Gap

logger = logging.getLogger(__name__)


class ReadResult(NamedTuple):
    """What one :meth:`RingReader.read` returns.

    Attributes:
        first_sample: Absolute index of ``samples[:, 0]``.
        samples: Read-only ``(channels, n)`` view into the ring (no copy); ``n`` may be 0 after
            a timeout.
        lost: Samples this reader skipped since its previous read, or None. Reason
            ``"overrun"`` when the writer lapped the reader, ``"gap"`` when the skipped samples
            all lie in source gaps larger than the ring (they were never stored).
        gaps: Source gaps overlapping ``[first_sample, first_sample + n)``, oldest first.
    """

    first_sample: int
    samples: npt.NDArray[np.generic]
    lost: Gap | None
    gaps: list[Gap]


class SamplesLost(Exception):  # noqa: N818 (public name fixed by the architecture)
    """Samples were overwritten before they were read.

    Attributes:
        start_sample: Absolute index of the first lost sample.
        stop_sample: Absolute index one past the last lost sample.
    """

    def __init__(self, start_sample: int, stop_sample: int) -> None:
        super().__init__(
            f"samples {start_sample}..{stop_sample} are no longer in the ring buffer; "
            "read sooner or use a larger ring"
        )
        self.start_sample = start_sample
        self.stop_sample = stop_sample


class RingStats(NamedTuple):
    """Writer counters since the ring was created.

    Attributes:
        pushes: Calls to ``push`` that were accepted.
        samples_written: Samples per channel delivered by ``push`` and stored.
        gap_samples: Samples per channel declared missing by ``gap`` (stored as zeros).
        backpressure_waits: Times the writer had to wait for a blocking reader.
        backpressure_wait_s: Total time the writer spent waiting (s).
        samples_discarded: Samples per channel dropped because the ring was closed.
    """

    pushes: int
    samples_written: int
    gap_samples: int
    backpressure_waits: int
    backpressure_wait_s: float
    samples_discarded: int


class RingAccess(Protocol):
    """What a :class:`RingReader` needs from its ring (``RingBuffer`` implements it).

    Methods whose names end in ``_locked`` are called with :attr:`lock` held.
    """

    @property
    def lock(self) -> threading.Lock: ...
    @property
    def capacity(self) -> int: ...
    @property
    def write_index(self) -> int: ...
    @property
    def oldest_index(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    def wait_for_data_locked(self, timeout: float | None) -> None: ...
    def notify_space_locked(self) -> None: ...
    def detach_locked(self, reader: RingReader) -> None: ...
    def view_locked(self, start: int, count: int) -> npt.NDArray[np.generic]: ...
    def inside_gaps_locked(self, start: int, stop: int) -> bool: ...
    def gaps_overlapping_locked(self, start: int, stop: int) -> list[Gap]: ...


class RingReader:
    """One consumer's cursor into a :class:`RingBuffer`; create with :meth:`RingBuffer.reader`.

    Attributes:
        ring: The ring it reads from.
        name: Label for logs and status lines.
        blocking: True for a lossless reader that holds the writer back.
        lost_samples: Samples per channel this reader has skipped so far.
    """

    def __init__(self, ring: RingAccess, name: str, blocking: bool, position: int) -> None:
        self.ring = ring
        self.name = name
        self.blocking = blocking
        self.lost_samples = 0
        self._position = position
        self.hold = position
        """Start of the oldest view the caller may still be using: a blocking reader's ring
        never overwrites samples from here on."""
        self._closed = False

    @property
    def position(self) -> int:
        """Next absolute index this reader will get."""
        return self._position

    @property
    def available(self) -> int:
        """Samples that a read would return right now (ignoring ``max_samples``)."""
        ring = self.ring
        return max(ring.write_index - max(self._position, ring.oldest_index), 0)

    def read(
        self,
        max_samples: int | None = None,
        *,
        min_samples: int = 1,
        timeout: float | None = None,
    ) -> ReadResult | None:
        """Wait for new samples and return a view of them; advances :attr:`position`.

        Args:
            max_samples: Most samples per channel to return (default and upper limit: the
                ring capacity).
            min_samples: Wait until at least this many samples are available (0..capacity).
            timeout: Longest wait (s); None waits for ever.

        Returns:
            A :class:`ReadResult`; its view is empty after a timeout. None once the ring is
            closed and everything has been read. Near the end of the stream fewer than
            ``min_samples`` may be returned.

        Raises:
            ValueError: For impossible sample counts or a closed reader.
        """
        ring = self.ring
        cap = ring.capacity
        limit = cap if max_samples is None else min(int(max_samples), cap)
        if limit < 1:
            raise ValueError(f"max_samples must be at least 1, not {max_samples}")
        if not 0 <= min_samples <= cap:
            raise ValueError(f"min_samples must be 0..{cap} (the ring capacity), not {min_samples}")
        deadline = None if timeout is None else time.monotonic() + timeout
        with ring.lock:
            if self._closed:
                raise ValueError(f"ring reader {self.name!r} is closed")
            entry = self._position
            self._release_locked(entry)
            while True:
                oldest = ring.oldest_index
                if self._position < oldest:
                    self._release_locked(oldest)  # lapped: jump to the oldest sample
                available = ring.write_index - self._position
                if available > 0 and available >= min_samples:
                    break
                if ring.closed:
                    if available <= 0 and self._position == entry:
                        return None
                    break
                if min_samples == 0:
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    available = 0  # timed out: fewer than min_samples; return none
                    break
                ring.wait_for_data_locked(remaining)
            first = self._position
            n = min(max(available, 0), limit)
            lost = None
            if first > entry:
                reason = "gap" if ring.inside_gaps_locked(entry, first) else "overrun"
                lost = Gap(entry, first, reason)
                self.lost_samples += first - entry
                logger.debug("ring reader %r lost samples %d..%d (%s)", self.name, *lost)
            self._position = first + n
            gaps = ring.gaps_overlapping_locked(first, first + n) if n else []
            return ReadResult(first, ring.view_locked(first, n), lost, gaps)

    def close(self) -> None:
        """Detach from the ring, so a blocking reader no longer holds the writer back."""
        ring = self.ring
        with ring.lock:
            self._closed = True
            ring.detach_locked(self)

    def __enter__(self) -> RingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _release_locked(self, position: int) -> None:
        """Move to ``position`` and let the writer overwrite everything before it."""
        self._position = position
        if self.blocking and position > self.hold:
            self.hold = position
            self.ring.notify_space_locked()
