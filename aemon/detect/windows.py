"""Overlapping analysis windows with absolute sample indices, for the burst detector.

A window of ``length`` samples is cut every ``hop`` samples. Only its *core*, the ``hop``
samples that start ``margin`` samples into the window, is "kept": the detector reports the
events whose onset falls in the core, and the context around it (at least ``margin`` samples
on either side) lets it see a whole burst even when the burst straddles a core edge.
Consecutive cores tile the stream exactly, so every sample belongs to exactly one core::

    length 10, hop 4, margin 2, first_sample 0        (z = zero padding, c = core)

    sample    -2 -1  0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
    window 0   z  z  c  c  c  c  .  .  .  .
    window 1         .  .  c  c  c  c  .  .  .  .
    window 2                     .  .  c  c  c  c  .  .  .  .
    cores      [0, 4)      [4, 8)      [8, 12)     ...

Window ``k`` starts at ``first_sample - margin + k * hop``; its core is
``[first_sample + k * hop, first_sample + (k + 1) * hop)``. The first window's leading margin
(before ``first_sample``) is zeros. A window is emitted as soon as its last sample has arrived.
At the end of the stream :meth:`WindowScheduler.flush` emits the remaining windows padded with
zeros; the last core is cut at the end of the stream.

Missing input: a jump forward of at most ``length`` samples between blocks is filled with
zeros (the ring does the same for source gaps). A longer jump (a lossy reader that was lapped,
a gap longer than the ring) ends the tiling with a flush and starts a new one at the first
sample after the jump, so cores never cover samples that were not seen.

Window samples are read-only views into the scheduler's own buffer; they stay valid for as
long as the caller keeps them (the buffer is replaced, never overwritten, when it fills up).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.errors import ConfigError
from aemon.stream.ring import RingReader

logger = logging.getLogger(__name__)


class Window(NamedTuple):
    """One analysis window.

    Attributes:
        first_sample: Absolute index of ``samples[:, 0]``.
        samples: Read-only ``(channels, length)`` array.
        core_start: Absolute index where the kept core starts.
        core_stop: Absolute index one past the core (exclusive).
    """

    first_sample: int
    samples: npt.NDArray[np.generic]
    core_start: int
    core_stop: int


class WindowScheduler:
    """Cuts a sample stream into overlapping windows whose cores tile the stream.

    Args:
        length: Window length (samples per channel).
        hop: Distance between consecutive windows = core length (samples).
        margin: Context kept on each side of the core (samples); ``hop <= length - 2 * margin``.
        first_sample: Absolute index of the first sample of the stream.

    Raises:
        ConfigError: For a length or hop below 1, a negative margin, or a hop that leaves less
            than ``margin`` samples of context on either side of the core.
    """

    def __init__(self, length: int, hop: int, margin: int, *, first_sample: int = 0) -> None:
        if length < 1 or hop < 1:
            raise ConfigError(
                f"window length and hop must be at least 1 sample (got length {length}, hop {hop})"
            )
        if margin < 0:
            raise ConfigError(f"window margin must be 0 or more samples, not {margin}")
        if hop > length - 2 * margin:
            raise ConfigError(
                f"window hop {hop} is too large for length {length} with margin {margin}: "
                f"use hop <= length - 2*margin = {length - 2 * margin}"
            )
        self.length = int(length)
        self.hop = int(hop)
        self.margin = int(margin)
        self._next_core = int(first_sample)  # core_start of the next window to emit
        self._buffer: npt.NDArray[np.generic] | None = None
        self._view: npt.NDArray[np.generic] | None = None  # read-only alias of _buffer
        self._buffer_first = 0  # absolute index of _buffer[:, 0]
        self._end = int(first_sample)  # absolute index one past the newest sample received

    @property
    def next_sample(self) -> int:
        """Absolute index of the next sample :meth:`push` expects."""
        return self._end

    @property
    def next_core_start(self) -> int:
        """Absolute index where the core of the next window will start."""
        return self._next_core

    def push(self, first_sample: int, samples: npt.NDArray[np.generic]) -> list[Window]:
        """Add a ``(channels, n)`` block; return the windows it completes, oldest first.

        Raises:
            ValueError: Wrong shape, a channel count that changed, or a block that starts
                before :attr:`next_sample` (overlap).
        """
        block = np.asarray(samples)
        if block.ndim != 2 or block.shape[0] < 1:
            raise ValueError(f"expected a (channels, n) sample block, got shape {block.shape}")
        if self._buffer is not None and block.shape[0] != self._buffer.shape[0]:
            raise ValueError(
                f"block has {block.shape[0]} channels but the stream has {self._buffer.shape[0]}"
            )
        first_sample = int(first_sample)
        if first_sample < self._end:
            raise ValueError(
                f"block at sample {first_sample} overlaps samples already pushed "
                f"(next expected: {self._end})"
            )
        windows: list[Window] = []
        missing = first_sample - self._end
        if missing > self.length:
            logger.debug("window tiling restarts at %d after %d missing", first_sample, missing)
            windows += self.flush()
            self._next_core = self._end = first_sample
            missing = 0
        if self._buffer is None:
            self._start_buffer(block.shape[0], block.dtype)
        if missing:
            self._append(None, missing)
        self._append(block, block.shape[1])
        windows += self._complete_windows()
        return windows

    def flush(self) -> list[Window]:
        """End the stream: emit the windows whose cores cover the rest, zero-padded.

        A later :meth:`push` starts a new tiling (with a zero leading margin).
        """
        if self._buffer is None:
            return []
        end = self._end
        windows: list[Window] = []
        if self._next_core < end:
            last_core = self._next_core + (end - 1 - self._next_core) // self.hop * self.hop
            padding = last_core - self.margin + self.length - end
            self._append(None, padding)
            for window in self._complete_windows():
                windows.append(window._replace(core_stop=min(window.core_stop, end)))
        self._buffer = self._view = None
        self._next_core = self._end = end
        return windows

    def windows_from_ring(
        self, reader: RingReader, timeout: float | None = None
    ) -> Iterator[Window]:
        """Pull samples from a ring reader and yield windows as soon as they are complete.

        Use a *blocking* reader: a lossy reader's views can be overwritten while they are
        being copied. When the ring is closed and drained the remaining windows are flushed
        and the iterator ends. When no new sample arrives within ``timeout`` (s) the iterator
        ends without flushing; call again to continue where it stopped.
        """
        capacity = reader.ring.capacity
        while True:
            needed = self._next_core - self.margin + self.length - self._end
            result = reader.read(min_samples=min(max(needed, 1), capacity), timeout=timeout)
            if result is None:
                yield from self.flush()
                return
            if result.samples.shape[1] == 0:
                if result.lost is None:
                    return
                continue
            yield from self.push(result.first_sample, result.samples)

    # -- internals -------------------------------------------------------------------------

    def _start_buffer(self, channels: int, dtype: np.dtype[np.generic]) -> None:
        self._buffer = np.zeros((channels, 4 * self.length), dtype)
        self._view = self._buffer.view()
        self._view.flags.writeable = False
        self._buffer_first = self._next_core - self.margin
        self._end = max(self._end, self._next_core)
        # the leading margin before the first core stays zero

    def _append(self, block: npt.NDArray[np.generic] | None, n: int) -> None:
        """Copy ``n`` samples (zeros when ``block`` is None) after the newest sample."""
        assert self._buffer is not None
        offset = self._end - self._buffer_first
        if offset + n > self._buffer.shape[1]:
            offset = self._replace_buffer(n)
        assert self._buffer is not None
        self._buffer[:, offset : offset + n] = 0 if block is None else block
        self._end += n

    def _replace_buffer(self, incoming: int) -> int:
        """Move the samples still needed into a new buffer; return the write offset."""
        assert self._buffer is not None
        keep_from = self._next_core - self.margin
        kept = self._end - keep_from
        size = max(4 * self.length, kept + incoming + 2 * self.length)
        fresh = np.empty((self._buffer.shape[0], size), self._buffer.dtype)
        start = keep_from - self._buffer_first
        fresh[:, :kept] = self._buffer[:, start : start + kept]
        self._buffer = fresh
        self._view = fresh.view()
        self._view.flags.writeable = False
        self._buffer_first = keep_from
        return kept

    def _complete_windows(self) -> list[Window]:
        assert self._view is not None
        windows: list[Window] = []
        while self._next_core - self.margin + self.length <= self._end:
            start = self._next_core - self.margin
            offset = start - self._buffer_first
            samples = self._view[:, offset : offset + self.length]
            windows.append(Window(start, samples, self._next_core, self._next_core + self.hop))
            self._next_core += self.hop
        return windows
