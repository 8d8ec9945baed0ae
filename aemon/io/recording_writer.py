"""Append raw samples, gaps, events and ground truth to an aemon HDF5 recording.

The writer opens the file in SWMR mode, so :class:`aemon.io.recording.RecordingReader` (or
plain h5py with ``swmr=True``) can read it while it grows. Samples are staged in a buffer of
one chunk per channel and written as whole chunks; :meth:`RecordingWriter.flush` also writes
the staged tail, so everything pushed before a flush survives a crash of the process. While
the file is open the writer holds a :class:`aemon.io.writer_lock.WriterLock` on it, so
``aemon repair`` refuses it and ``aemon info`` says "being written".

A failed write (disk full, I/O error) closes the file early but readable
(:mod:`aemon.io.recording_file`, :mod:`aemon.io.disk_reserve`) and raises
:class:`aemon.errors.RecordingError`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from aemon import __version__
from aemon.errors import RecordingError
from aemon.io import schema
from aemon.io.disk_reserve import RESERVE_SUFFIX, DiskReserve, reserve_bytes
from aemon.io.raw_stage import RawStage, check_block, uncovered
from aemon.io.recording_file import close_early, create_file, failure_message, guarded, locked
from aemon.io.writer_lock import WriterLock
from aemon.types import RESTART, ChannelInfo, Gap, StreamFormat

logger = logging.getLogger(__name__)


class RecordingWriter:
    """Write a recording; a context manager and a :class:`aemon.types.SampleSink`.

    Call from one thread only. Gaps are recorded in ``/gaps`` and their samples zero-filled in
    ``/raw`` when the next block arrives, so raw columns map one-to-one to sample indices. A
    gap longer than ``max_zero_fill_s`` is recorded but not zero-filled: ``/raw`` then jumps,
    and a new row in ``/segments`` keeps the mapping from raw column to sample index exact.

    Attributes:
        path: Path of the file being written.
        format: The stream format of the recording.
        samples_written: Samples per channel of signal received through :meth:`push` (the
            zero fill of recorded gaps not counted, also when the block carries it).
        raw_samples: Columns in ``/raw`` so far, zero-filled gap samples included.
        next_sample: Absolute index the next pushed block is expected to start at.
        gaps_recorded: Rows in ``/gaps``.
        samples_lost: Samples per channel covered by recorded gaps.
        events_written: Rows in ``/events``.
        failure: One line saying why the writer closed the file early, or None.
        first_unrecorded: After a failure, the absolute index of the first sample that is
            not in the file (everything from there on was lost); None otherwise.
        on_flush: Called (on the writing thread, under the writer's lock) after every
            successful flush, e.g. to write what must never be ahead of the recording; they
            must not raise.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fmt: StreamFormat,
        channels: Sequence[ChannelInfo],
        *,
        start_time_utc: datetime | str | None = None,
        first_sample: int = 0,
        config: Mapping[str, Any] | None = None,
        compression: str = "blosc-lz4",
        flush_interval_s: float = 1.0,
        overwrite: bool = False,
        max_zero_fill_s: float = 10.0,
        disk_reserve: bool = True,
    ) -> None:
        """Create the file and all its datasets, then switch to SWMR mode.

        Args:
            path: Output file (``.h5``).
            fmt: Sample rate (Hz), channel count, dtype (``"int16"``/``"float32"``) and the
                stream's volts per count (V).
            channels: One :class:`ChannelInfo` per channel.
            start_time_utc: UTC time of the sample ``first_sample``; now if None, unknown
                (stored as "") if "". A naive datetime is taken as UTC.
            first_sample: Absolute index of the first sample that will be pushed.
            config: Configuration to store as JSON (non-JSON values stored via ``str``).
            compression: ``"blosc-lz4"`` (default), ``"gzip"`` or ``"none"``.
            flush_interval_s: Longest time (s) between flushes while pushing.
            overwrite: Replace an existing file instead of refusing.
            max_zero_fill_s: Longest gap (s) that is zero-filled in ``/raw``.
            disk_reserve: Keep a reserve file (``path + ".reserve"``, a few MiB) that is
                deleted to close the recording cleanly if the disk fills up.

        Raises:
            ConfigError: Inconsistent format/channels, unknown compression, or a file that
                exists (without ``overwrite``) or cannot be created.
        """
        schema.check_format(fmt, channels, compression)
        self.path = os.fspath(path)
        self.format = fmt
        self.samples_written = 0
        self.next_sample = int(first_sample)
        self.gaps_recorded = 0
        self.samples_lost = 0
        self.events_written = 0
        self._flush_interval_s = float(flush_interval_s)
        self._max_zero_fill = int(max_zero_fill_s * fmt.sample_rate_hz)
        self._dtype = np.dtype(fmt.dtype)
        self._pending_gaps: list[tuple[int, int]] = []  # recorded, not yet passed by push
        self._restart_at: int | None = None  # the next segment starts here (a DAQ restart)
        self._closed = False
        self.failure: str | None = None
        self.first_unrecorded: int | None = None
        self._flushed_raw = 0  # columns of /raw durable as of the last successful flush
        self._flushed_next = self.next_sample  # sample index after them
        self._flushed_tail = np.zeros((fmt.channels, 0), self._dtype)  # its partial chunk
        self._reserve: DiskReserve | None = None
        self._file = create_file(self.path, overwrite)
        self._writer_lock = WriterLock(self.path)  # held while writing: see `repair`, `info`
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
            names = schema.REQUIRED_DATASETS + schema.OPTIONAL_DATASETS
            self._ds: dict[str, h5py.Dataset] = {n: self._file[n] for n in names}
            self._stage = RawStage(self._ds[schema.RAW], self._dtype)
            self._file.swmr_mode = True
        except BaseException:
            self._file.close()
            self._writer_lock.release()
            raise
        if disk_reserve:
            chunk_bytes = schema.RAW_CHUNK_SAMPLES * self._dtype.itemsize
            self._reserve = DiskReserve(
                self.path + RESERVE_SUFFIX, reserve_bytes(fmt.channels, chunk_bytes)
            )
        self._last_flush = time.monotonic()
        self.on_flush: list[Callable[[], None]] = []
        # One recorder thread appends samples while a detector thread may add events.
        self._lock = threading.RLock()
        logger.info("recording %s to %s (%s)", fmt, self.path, compression)

    # -- SampleSink ----------------------------------------------------------------------------

    @guarded
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
            RecordingError: The write failed (disk full, I/O error); the file is closed.
        """
        block = check_block(samples, self.format.channels, self._dtype)
        first_sample = int(first_sample)
        if first_sample < self.next_sample:
            raise ValueError(
                f"block starts at sample {first_sample} but the recording is already at "
                f"{self.next_sample}; blocks must arrive in order without overlap"
            )
        if first_sample > self.next_sample:
            self._bridge(first_sample)
        self._stage.append(block)
        stop = first_sample + block.shape[1]
        zeros = sum(max(min(hi, stop) - max(lo, first_sample), 0) for lo, hi in self._pending_gaps)
        self.samples_written += block.shape[1] - zeros  # a ring's zero fill of a gap is no signal
        self.next_sample = stop
        if self._pending_gaps:
            self._pending_gaps = [g for g in self._pending_gaps if g[1] > self.next_sample]
        if time.monotonic() - self._last_flush >= self._flush_interval_s:
            self.flush()

    @guarded
    def gap(self, gap: Gap) -> None:
        """Record ``gap`` in ``/gaps`` now; its samples are zero-filled by the next push.

        A gap with reason :data:`aemon.types.RESTART` is not zero-filled: the next push starts
        a new row of ``/segments``, and the gap's detail goes to ``/incidents``.
        """
        start, stop = int(gap.start_sample), int(gap.stop_sample)
        if stop <= start:
            return
        if start < self.next_sample:
            logger.warning(
                "gap %d..%d overlaps samples recorded up to %d", start, stop, self.next_sample
            )
        self._append_gap(start, stop, gap.reason)
        self._pending_gaps.append((start, stop))
        if gap.reason == RESTART:
            self._restart_at = stop
            self.note(RESTART, start, stop, gap.detail or "the DAQ restarted")

    # -- tables --------------------------------------------------------------------------------

    @guarded
    def note(self, kind: str, start: int, stop: int, detail: str) -> None:
        """Append a row ``(start, stop, now, kind, detail)`` to ``/incidents``: a restart,
        replaced samples, rejected frames...; ``kind`` is short (16 bytes), ``start``/``stop``
        absolute indices (-1: none or open-ended), ``detail`` one line for people."""
        schema.append_rows(
            self._ds[schema.INCIDENTS], schema.incident_row(kind, start, stop, detail)
        )

    @guarded
    def add_events(self, events: npt.NDArray[Any] | Sequence[Mapping[str, Any]]) -> None:
        """Append events (structured array of ``EVENT_DTYPE`` fields, or dicts) to ``/events``.

        Raises:
            ValueError: For an unknown column name.
        """
        rows = schema.to_event_rows(events)
        schema.append_rows(self._ds[schema.EVENTS], rows)
        self.events_written += len(rows)

    @guarded
    def add_truth(self, bursts: Sequence[Any]) -> None:
        """Append ground truth (``aemon.sim.simulator.BurstTruth``-like objects) to ``/truth``."""
        schema.append_rows(self._ds[schema.TRUTH], schema.truth_to_array(bursts))

    # -- flushing ------------------------------------------------------------------------------

    @guarded
    def flush(self) -> None:
        """Write the staged samples and flush the file, so readers and crashes see them."""
        self._flush(schema.STATE_RECORDING)

    def _flush(self, state: int) -> None:
        self._stage.write_tail()
        self._write_status(state)
        self._file.flush()
        self._last_flush = time.monotonic()
        self._flushed_raw, self._flushed_next = self.raw_samples, self.next_sample
        self._flushed_tail = self._stage.tail()
        for after_flush in self.on_flush:
            after_flush()

    @locked
    def close(self) -> None:
        """Flush everything, mark the recording as closed cleanly and close the file.

        Does nothing after :meth:`abort` (the file is already closed, marked closed early).

        Raises:
            RecordingError: The final write failed; the file was closed early instead.
        """
        if self._closed:
            return
        try:
            self._flush(schema.STATE_CLOSED)
        except (OSError, RuntimeError) as exc:
            raise self._fail(exc) from exc
        except BaseException:
            self.abort("writer_error", "the writer was interrupted while closing")
            raise
        self._closed = True
        self._file.close()
        self._writer_lock.release()
        if self._reserve is not None:
            self._reserve.release()
        logger.info(
            "closed %s: %d samples/ch, %d gaps", self.path, self.raw_samples, self.gaps_recorded
        )

    @locked
    def abort(self, kind: str, detail: str) -> int:
        """Close the file early, keeping what the last flush made durable.

        Releases the disk reserve, then :func:`aemon.io.recording_file.close_early` with an
        ``/incidents`` row ``(kind, first unrecorded sample, -1, detail)``. Idempotent.

        Args:
            kind: Why, e.g. ``"disk_full"``, ``"writer_error"``, ``"recorder_error"``.
            detail: One line for people.

        Returns:
            The absolute index of the first sample not in the file.
        """
        if self._closed:
            return self.next_sample if self.first_unrecorded is None else self.first_unrecorded
        self._closed = True
        if self.failure is None:
            self.failure = detail
        if self._reserve is not None:
            self._reserve.release()
        keep = self._flushed_raw
        self.first_unrecorded = self._flushed_next
        incident = schema.incident_row(kind, self.first_unrecorded, -1, detail)
        close_early(self._file, keep, self._flushed_tail, incident)
        self._writer_lock.release()
        self._stage.columns = keep
        logger.error("%s closed early (%s) at sample %d", self.path, kind, self.first_unrecorded)
        return self.first_unrecorded

    def _fail(self, exc: BaseException) -> RecordingError:
        """Close the file early after ``exc`` and build the one-line error to raise."""
        kind, message = failure_message(self.path, exc, self._flushed_next)
        self.abort(kind, message)
        return RecordingError(message)

    def flush_if_due(self) -> None:
        """Flush if ``flush_interval_s`` has passed since the last flush (for idle sources)."""
        if not self._closed and time.monotonic() - self._last_flush >= self._flush_interval_s:
            self.flush()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` or :meth:`abort` has run."""
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

    @property
    def raw_samples(self) -> int:
        """Columns in ``/raw`` so far, zero-filled gap samples included."""
        return self._stage.columns

    # -- internals -----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.failure is not None:
            raise RecordingError(self.failure)
        if self._closed:
            raise ValueError(f"recording {self.path} is closed")

    def _bridge(self, first_sample: int) -> None:
        """Handle the jump from :attr:`next_sample` to ``first_sample``."""
        start = self.next_sample
        for lo, hi in uncovered(start, first_sample, self._pending_gaps):
            self._append_gap(lo, hi, "missing")
        missing = first_sample - start
        restart = self._restart_at is not None and self._restart_at <= first_sample
        if not restart and missing <= self._max_zero_fill:
            self._stage.append_zeros(missing)
        else:
            if not restart:
                logger.warning("gap of %d samples is too long to zero-fill: new segment", missing)
            self._restart_at = None
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

    def _write_status(self, state: int) -> None:
        self._ds[schema.STATUS][0] = np.array(
            (state, self.raw_samples, time.time()), dtype=schema.STATUS_DTYPE
        )
