"""Append raw samples, gaps, events and ground truth to an aemon HDF5 recording.

The writer opens the file in SWMR mode, so :class:`aemon.io.recording.RecordingReader` (or
plain h5py with ``swmr=True``) can read it while it grows. Samples are staged in a buffer of
one chunk per channel and written as whole chunks; :meth:`RecordingWriter.flush` also writes
the staged tail, so everything pushed before a flush survives a crash of the process.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar, cast

import h5py
import numpy as np
import numpy.typing as npt

from aemon import __version__
from aemon.errors import ConfigError
from aemon.io import schema
from aemon.types import ChannelInfo, Gap, StreamFormat

logger = logging.getLogger(__name__)


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _locked(method: _Method) -> _Method:
    """Run a writer method under the writer's lock."""

    @functools.wraps(method)
    def wrapper(self: RecordingWriter, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return cast(_Method, wrapper)


class RecordingWriter:
    """Write a recording; a context manager and a :class:`aemon.types.SampleSink`.

    Call from one thread only. Gaps are recorded in ``/gaps`` and their samples zero-filled in
    ``/raw`` when the next block arrives, so raw columns map one-to-one to sample indices. A
    gap longer than ``max_zero_fill_s`` is recorded but not zero-filled: ``/raw`` then jumps,
    and a new row in ``/segments`` keeps the mapping from raw column to sample index exact.

    Attributes:
        path: Path of the file being written.
        format: The stream format of the recording.
        samples_written: Samples per channel received through :meth:`push` (zero fill and
            gaps not counted).
        raw_samples: Columns in ``/raw`` so far, zero-filled gap samples included.
        next_sample: Absolute index the next pushed block is expected to start at.
        gaps_recorded: Rows in ``/gaps``.
        samples_lost: Samples per channel covered by recorded gaps.
        events_written: Rows in ``/events``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fmt: StreamFormat,
        channels: Sequence[ChannelInfo],
        *,
        start_time_utc: datetime | None = None,
        first_sample: int = 0,
        config: Mapping[str, Any] | None = None,
        compression: str = "blosc-lz4",
        flush_interval_s: float = 1.0,
        overwrite: bool = False,
        max_zero_fill_s: float = 10.0,
    ) -> None:
        """Create the file and all its datasets, then switch to SWMR mode.

        Args:
            path: Output file (``.h5``).
            fmt: Sample rate (Hz), channel count, dtype (``"int16"``/``"float32"``) and the
                stream's volts per count (V).
            channels: One :class:`ChannelInfo` per channel.
            start_time_utc: UTC time of the sample ``first_sample``; now if None. A naive
                datetime is taken as UTC.
            first_sample: Absolute index of the first sample that will be pushed.
            config: Configuration to store as JSON (non-JSON values stored via ``str``).
            compression: ``"blosc-lz4"`` (default), ``"gzip"`` or ``"none"``.
            flush_interval_s: Longest time (s) between flushes while pushing.
            overwrite: Replace an existing file instead of refusing.
            max_zero_fill_s: Longest gap (s) that is zero-filled in ``/raw``.

        Raises:
            ConfigError: Inconsistent format/channels, unknown compression, or a file that
                exists (without ``overwrite``) or cannot be created.
        """
        schema.check_format(fmt, channels, compression)
        self.path = os.fspath(path)
        self.format = fmt
        self.samples_written = 0
        self.raw_samples = 0
        self.next_sample = int(first_sample)
        self.gaps_recorded = 0
        self.samples_lost = 0
        self.events_written = 0
        self._flush_interval_s = float(flush_interval_s)
        self._max_zero_fill = int(max_zero_fill_s * fmt.sample_rate_hz)
        self._dtype = np.dtype(fmt.dtype)
        self._stage = np.zeros((fmt.channels, schema.RAW_CHUNK_SAMPLES), dtype=self._dtype)
        self._stage_base = 0  # raw column of self._stage[:, 0], a multiple of the chunk length
        self._stage_fill = 0  # valid columns in the stage
        self._pending_gaps: list[tuple[int, int]] = []  # recorded, not yet passed by push
        self._closed = False
        mode = "w" if overwrite else "x"
        try:
            self._file = h5py.File(self.path, mode, libver="latest")
        except FileExistsError:
            raise ConfigError(
                f"{self.path}: file exists; choose another output path or allow overwriting"
            ) from None
        except OSError as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"{self.path}: cannot create recording ({first_line})") from None
        try:
            schema.create_layout(
                self._file,
                self.format,
                channels,
                first_sample=self.next_sample,
                sample_dtype=self._dtype,
                start_time_utc=start_time_utc,
                config=config,
                compression=compression,
                software_version=__version__,
            )
            self._ds: dict[str, h5py.Dataset] = {n: self._file[n] for n in schema.REQUIRED_DATASETS}
            self._file.swmr_mode = True
        except BaseException:
            self._file.close()
            raise
        self._last_flush = time.monotonic()
        # One recorder thread appends samples while a detector thread may add events.
        self._lock = threading.RLock()
        logger.info("recording %s to %s (%s)", fmt, self.path, compression)

    # -- SampleSink ----------------------------------------------------------------------------

    @_locked
    def push(self, first_sample: int, samples: npt.NDArray[np.generic]) -> None:
        """Append a ``(channels, n)`` block whose first column has index ``first_sample``.

        A block that starts after :attr:`next_sample` zero-fills the missing range; the part of
        it not already reported through :meth:`gap` is recorded as a gap with reason
        ``"missing"``.

        Raises:
            ValueError: Wrong shape, a block that starts before :attr:`next_sample`, or a
                closed writer.
            TypeError: A non-int16 block for an int16 recording, or a non-float block for a
                float32 recording.
        """
        self._check_open()
        block = self._check_block(samples)
        first_sample = int(first_sample)
        if first_sample < self.next_sample:
            raise ValueError(
                f"block starts at sample {first_sample} but the recording is already at "
                f"{self.next_sample}; blocks must arrive in order without overlap"
            )
        if first_sample > self.next_sample:
            self._bridge(first_sample)
        self._append(block)
        self.samples_written += block.shape[1]
        self.next_sample = first_sample + block.shape[1]
        if self._pending_gaps:
            self._pending_gaps = [g for g in self._pending_gaps if g[1] > self.next_sample]
        if time.monotonic() - self._last_flush >= self._flush_interval_s:
            self.flush()

    @_locked
    def gap(self, gap: Gap) -> None:
        """Record ``gap`` in ``/gaps`` now; its samples are zero-filled by the next push."""
        self._check_open()
        start, stop = int(gap.start_sample), int(gap.stop_sample)
        if stop <= start:
            logger.debug("ignoring empty gap %s", gap)
            return
        if start < self.next_sample:
            logger.warning(
                "gap %d..%d overlaps samples already recorded (up to %d)",
                start,
                stop,
                self.next_sample,
            )
        self._append_gap(start, stop, gap.reason)
        self._pending_gaps.append((start, stop))

    # -- tables --------------------------------------------------------------------------------

    @_locked
    def add_events(self, events: npt.NDArray[Any] | Sequence[Mapping[str, Any]]) -> None:
        """Append events (structured array of ``EVENT_DTYPE`` fields, or dicts) to ``/events``.

        Raises:
            ValueError: For an unknown column name.
        """
        self._check_open()
        rows = schema.to_event_rows(events)
        schema.append_rows(self._ds[schema.EVENTS], rows)
        self.events_written += len(rows)

    @_locked
    def add_truth(self, bursts: Sequence[Any]) -> None:
        """Append ground truth (``aemon.sim.simulator.BurstTruth``-like objects) to ``/truth``."""
        self._check_open()
        schema.append_rows(self._ds[schema.TRUTH], schema.truth_to_array(bursts))

    # -- flushing ------------------------------------------------------------------------------

    @_locked
    def flush(self) -> None:
        """Write the staged samples and flush the file, so readers and crashes see them."""
        self._check_open()
        self._write_stage_tail()
        self._write_status(schema.STATE_RECORDING)
        self._file.flush()
        self._last_flush = time.monotonic()

    @_locked
    def close(self) -> None:
        """Flush everything, mark the recording as closed cleanly and close the file."""
        if self._closed:
            return
        self._closed = True
        try:
            self._write_stage_tail()
            self._write_status(schema.STATE_CLOSED)
            self._file.flush()
        finally:
            self._file.close()
        logger.info(
            "closed %s: %d samples/ch, %d gaps", self.path, self.raw_samples, self.gaps_recorded
        )

    def flush_if_due(self) -> None:
        """Flush if ``flush_interval_s`` has passed since the last flush (for idle sources)."""
        if not self._closed and time.monotonic() - self._last_flush >= self._flush_interval_s:
            self.flush()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._closed

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"recording {self.path} is closed")

    def _check_block(self, samples: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
        block = np.asarray(samples)
        if block.ndim != 2 or block.shape[0] != self.format.channels:
            raise ValueError(
                f"expected a ({self.format.channels}, n) block, got shape {block.shape}"
            )
        if self._dtype == np.int16:
            if block.dtype != np.int16:
                raise TypeError(f"int16 recording needs int16 blocks, got {block.dtype}")
        elif block.dtype.kind != "f":
            raise TypeError(f"float32 recording needs float blocks (volts), got {block.dtype}")
        return block

    def _bridge(self, first_sample: int) -> None:
        """Handle the jump from :attr:`next_sample` to ``first_sample``."""
        start = self.next_sample
        for lo, hi in _uncovered(start, first_sample, self._pending_gaps):
            self._append_gap(lo, hi, "missing")
        missing = first_sample - start
        if missing <= self._max_zero_fill:
            self._append_zeros(missing)
        else:
            logger.warning(
                "gap of %d samples is longer than the zero-fill limit; starting a new segment",
                missing,
            )
            schema.append_rows(
                self._ds[schema.SEGMENTS],
                np.array([(self.raw_samples, first_sample)], dtype=schema.SEGMENT_DTYPE),
            )

    def _append_gap(self, start: int, stop: int, reason: str) -> None:
        row = np.array([(start, stop, schema.encode_text(reason))], dtype=schema.GAP_DTYPE)
        schema.append_rows(self._ds[schema.GAPS], row)
        self.gaps_recorded += 1
        self.samples_lost += stop - start
        logger.info("gap %d..%d (%d samples, %s)", start, stop, stop - start, reason)

    def _append(self, block: npt.NDArray[np.generic]) -> None:
        """Copy ``block`` into the stage, writing every chunk that fills up."""
        n, done = block.shape[1], 0
        while done < n:
            k = min(schema.RAW_CHUNK_SAMPLES - self._stage_fill, n - done)
            self._stage[:, self._stage_fill : self._stage_fill + k] = block[:, done : done + k]
            self._advance(k)
            done += k

    def _append_zeros(self, n: int) -> None:
        """Append ``n`` zero columns, one chunk at a time."""
        while n > 0:
            k = min(schema.RAW_CHUNK_SAMPLES - self._stage_fill, n)
            self._stage[:, self._stage_fill : self._stage_fill + k] = 0
            self._advance(k)
            n -= k

    def _advance(self, k: int) -> None:
        self._stage_fill += k
        self.raw_samples += k
        if self._stage_fill == schema.RAW_CHUNK_SAMPLES:
            self._write_stage(schema.RAW_CHUNK_SAMPLES)
            self._stage_base += schema.RAW_CHUNK_SAMPLES
            self._stage_fill = 0

    def _write_stage(self, columns: int) -> None:
        raw = self._ds[schema.RAW]
        end = self._stage_base + columns
        if raw.shape[1] < end:
            raw.resize(end, axis=1)
        raw[:, self._stage_base : end] = self._stage[:, :columns]

    def _write_stage_tail(self) -> None:
        """Write the partly filled chunk (rewritten whole once it fills up)."""
        if self._stage_fill and self._ds[schema.RAW].shape[1] < self.raw_samples:
            self._write_stage(self._stage_fill)

    def _write_status(self, state: int) -> None:
        self._ds[schema.STATUS][0] = np.array(
            (state, self.raw_samples, time.time()), dtype=schema.STATUS_DTYPE
        )


def _uncovered(start: int, stop: int, covered: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Parts of ``[start, stop)`` not inside any ``[lo, hi)`` of ``covered``."""
    parts: list[tuple[int, int]] = []
    pos = start
    for lo, hi in sorted(covered):
        if hi <= pos:
            continue
        if lo >= stop:
            break
        if lo > pos:
            parts.append((pos, lo))
        pos = max(pos, hi)
    if pos < stop:
        parts.append((pos, stop))
    return parts
