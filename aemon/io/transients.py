"""Transient records (Vallen tradb, MISTRAS DTA waveforms) into an aemon HDF5 recording.

A transient recorder stores one short record per hit, not a continuous signal. Each record
is placed on the recording's sample axis at its own time:
``first column = round(time_s × fs) − pretrigger``; records that overlap in time (hits of
several channels on one source) share columns; the time between records is a gap (reason
``no-record``) that is not zero-filled, so ``/raw`` holds only recorded samples and the
``/segments`` table maps them back to their times. ADC values are kept as int16 counts with
the file's volts per count, so nothing is rescaled.

The records also become a named event table (one row per record: ``sample_index`` = the
trigger sample, ``channel`` = Vallen/MISTRAS channel − 1) whose attributes keep each
channel's pretrigger and record length, so ``aemon export --tradb`` writes the same records
back.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.errors import FileFormatError
from aemon.io.recording_writer import RecordingWriter
from aemon.io.schema import EVENT_DTYPE
from aemon.types import Gap

logger = logging.getLogger(__name__)

NO_RECORD = "no-record"
"""Gap reason for the time between transient records."""


class TransientRecord(NamedTuple):
    """One transient record.

    Attributes:
        time_s: Trigger time (s since the start of the acquisition).
        channel: Channel number, 1-based.
        pretrigger: Samples before the trigger.
        sample_rate_hz: Sample rate (Hz).
        counts: ADC values (int16).
        volts_per_count: Scale of ``counts`` (V per count).
        threshold_v: Trigger threshold (V) or None.
        trai: Transient recorder index (Vallen) or None.
    """

    time_s: float
    channel: int
    pretrigger: int
    sample_rate_hz: float
    counts: npt.NDArray[np.int16]
    volts_per_count: float
    threshold_v: float | None
    trai: int | None

    def volts(self) -> npt.NDArray[np.float32]:
        """The record in volts at the sensor, float32 (as ``vallenae``'s ``TraDatabase``
        reads it: counts × volts per count)."""
        return np.multiply(self.counts, self.volts_per_count, dtype=np.float32)


class TransientLayout(NamedTuple):
    """What a recording of the records needs to know before the first record.

    Attributes:
        sample_rate_hz: The one sample rate of all records (Hz).
        channels: Highest channel number (channels 1..N become rows 0..N-1).
        volts_per_count: Scale per channel (V per count).
        first_time_s: Earliest trigger time (s).
        last_time_s: Latest trigger time (s).
        max_pretrigger: Longest pretrigger (samples).
    """

    sample_rate_hz: float
    channels: int
    volts_per_count: tuple[float, ...]
    first_time_s: float
    last_time_s: float
    max_pretrigger: int


def first_sample_of(layout: TransientLayout) -> int:
    """Absolute index of the recording's first column: 0 unless a record starts before 0."""
    earliest = round(layout.first_time_s * layout.sample_rate_hz) - layout.max_pretrigger
    return min(0, earliest)


class RecordPlacer:
    """Write records into a :class:`RecordingWriter`, merging records that overlap in time.

    Records must arrive roughly in time order: a record may start before the previous one as
    long as the columns it needs have not been written yet (they are kept in a pending span
    until a record starts after its end). Parts of a record that fall on columns already
    written are dropped, with a warning.
    """

    def __init__(self, writer: RecordingWriter, layout: TransientLayout) -> None:
        self.writer = writer
        self.layout = layout
        self._span: npt.NDArray[np.int16] | None = None
        self._span_start = 0
        self.records = 0
        self.clipped = 0
        self.pretrigger = np.full(layout.channels, -1, dtype=np.int64)
        self.samples = np.full(layout.channels, -1, dtype=np.int64)
        self.rows: list[tuple[int, int, float | None]] = []  # (trigger, row, threshold)

    def add(self, record: TransientRecord) -> None:
        """Place one record.

        Raises:
            FileFormatError: A record at another rate, or on a channel outside the layout.
        """
        fs, ch = self.layout.sample_rate_hz, record.channel - 1
        if not math.isclose(record.sample_rate_hz, fs):
            raise FileFormatError(
                f"record at {record.time_s:.6f} s is sampled at {record.sample_rate_hz:g} Hz, "
                f"not {fs:g} Hz like the others; split the file by sample rate first"
            )
        if not 0 <= ch < self.layout.channels:
            raise FileFormatError(f"record at {record.time_s:.6f} s has channel {record.channel}")
        trigger = round(record.time_s * fs)
        start = trigger - record.pretrigger
        data = np.asarray(record.counts, dtype=np.int16)
        if start < self.writer.next_sample:
            cut = self.writer.next_sample - start
            logger.warning(
                "record at %.6f s (channel %d) overlaps samples already written; %d of its "
                "samples dropped",
                record.time_s,
                record.channel,
                min(cut, data.size),
            )
            self.clipped += 1
            data, start = data[cut:], start + cut
        self._note_layout(ch, record)
        self.rows.append((trigger, ch, record.threshold_v))
        self.records += 1
        if data.size:
            self._merge(ch, start, data)

    def _note_layout(self, ch: int, record: TransientRecord) -> None:
        n = record.counts.size
        if self.samples[ch] < 0:
            self.pretrigger[ch], self.samples[ch] = record.pretrigger, n
        elif (self.pretrigger[ch], self.samples[ch]) != (record.pretrigger, n):
            logger.warning(
                "channel %d records differ in length/pretrigger (%d/%d vs %d/%d); the event "
                "table keeps the longest",
                record.channel,
                n,
                record.pretrigger,
                self.samples[ch],
                self.pretrigger[ch],
            )
            self.pretrigger[ch] = max(self.pretrigger[ch], record.pretrigger)
            self.samples[ch] = max(self.samples[ch], n)

    def _merge(self, ch: int, start: int, data: npt.NDArray[np.int16]) -> None:
        stop = start + data.size
        span = self._span
        if span is not None and (start >= self._span_start + span.shape[1]):
            self._flush_span()
            span = None
        if span is None:
            self._span = np.zeros((self.layout.channels, data.size), dtype=np.int16)
            self._span_start = start
        else:
            lo = min(start, self._span_start)
            hi = max(stop, self._span_start + span.shape[1])
            if (lo, hi) != (self._span_start, self._span_start + span.shape[1]):
                grown = np.zeros((self.layout.channels, hi - lo), dtype=np.int16)
                offset = self._span_start - lo
                grown[:, offset : offset + span.shape[1]] = span
                self._span, self._span_start = grown, lo
        assert self._span is not None
        self._span[ch, start - self._span_start : stop - self._span_start] = data

    def _flush_span(self) -> None:
        if self._span is None:
            return
        if self._span_start > self.writer.next_sample:
            self.writer.gap(Gap(self.writer.next_sample, self._span_start, NO_RECORD))
        self.writer.push(self._span_start, self._span)
        self._span = None

    def finish(self) -> None:
        """Write the pending span."""
        self._flush_span()

    def event_rows(self, first_sample: int, detector: str) -> npt.NDArray[np.void]:
        """One event row per record (trigger sample, channel, threshold in dBAE)."""
        fs = self.layout.sample_rate_hz
        rows = np.zeros(len(self.rows), dtype=EVENT_DTYPE)
        for name in EVENT_DTYPE.names or ():
            kind = EVENT_DTYPE.fields[name][0].kind  # type: ignore[index]
            rows[name] = math.nan if kind == "f" else (-1 if kind == "i" else b"")
        if not self.rows:
            return rows
        trig = np.array([r[0] for r in self.rows], dtype=np.int64)
        rows["sample_index"] = trig
        rows["time_s"] = (trig - first_sample) / fs
        rows["onset_s"] = rows["time_s"]
        rows["channel"] = [r[1] for r in self.rows]
        rows["type"] = b"record"
        rows["score"] = 1.0
        rows["detector"] = detector.encode()
        return rows


def place_records(
    writer: RecordingWriter, layout: TransientLayout, records: Iterable[TransientRecord]
) -> RecordPlacer:
    """Place every record; returns the placer (its counts, layout and event rows)."""
    placer = RecordPlacer(writer, layout)
    for record in records:
        placer.add(record)
    placer.finish()
    return placer
