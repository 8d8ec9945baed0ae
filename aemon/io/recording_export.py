"""Export the events of a recording: event CSV, Vallen pridb/tradb, one WAV per event.

Events come from one event table (the live ``events`` table or a named one, see
:mod:`aemon.io.event_tables`), optionally restricted to a time range (s since the start of
the recording), a channel and an event type. Tables are read in chunks, in time order, and
each waveform is read on its own, so memory stays bounded whatever the recording's length.
Every output is written under a temporary name and renamed when complete.

Waveform windows start ``pretrigger`` before the event's ``sample_index`` and are
``samples`` long. A table made by ``aemon import`` of transient records keeps each channel's
pretrigger and record length; others use the defaults (:data:`DEFAULT_PRETRIGGER_US`,
:data:`DEFAULT_RECORD_US`) unless given. Parts of a window that were not recorded are zeros.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import h5py
import numpy as np
import numpy.typing as npt

from aemon.errors import ConfigError
from aemon.events.features import dbae_to_volts
from aemon.io.atomic_output import atomic_output
from aemon.io.event_csv import EventCsvWriter, array_to_events
from aemon.io.event_tables import CHUNK_ROWS, open_tables, table_dataset
from aemon.io.recording_reader import RecordingReader
from aemon.io.schema import decode_text, to_event_rows
from aemon.io.vallen import VallenHit, VallenWriter
from aemon.utc import parse_utc

logger = logging.getLogger(__name__)

DEFAULT_PRETRIGGER_US = 200.0
"""Waveform before the event onset (µs)."""
DEFAULT_RECORD_US = 2000.0
"""Waveform length (µs)."""


class EventFilter(NamedTuple):
    """Which events to export.

    Attributes:
        start_s: Earliest ``time_s`` (s since the recording's start), inclusive; None: all.
        stop_s: Latest ``time_s``, exclusive; None: all.
        channel: Channel index (the CSV's ``channel`` column) or None.
        type: Event type (e.g. ``burst``) or None.
    """

    start_s: float | None = None
    stop_s: float | None = None
    channel: int | None = None
    type: str | None = None

    def mask(self, rows: npt.NDArray[np.void]) -> npt.NDArray[np.bool_]:
        """True for the rows that pass."""
        keep = np.ones(len(rows), dtype=bool)
        if self.start_s is not None:
            keep &= rows["time_s"] >= self.start_s
        if self.stop_s is not None:
            keep &= rows["time_s"] < self.stop_s
        if self.channel is not None:
            keep &= rows["channel"] == self.channel
        if self.type is not None:
            keep &= rows["type"] == self.type.encode()
        return keep


class ExportSummary(NamedTuple):
    """What an export wrote: ``events`` rows to ``outputs``."""

    events: int
    outputs: list[str]

    def line(self) -> str:
        """One summary line."""
        return f"exported {self.events} events -> {', '.join(self.outputs)}"


def check_range(event_filter: EventFilter, duration_s: float, path: str | os.PathLike[str]) -> None:
    """Raise ConfigError when the filter's time range misses ``[0, duration_s]``."""
    lo, hi = event_filter.start_s, event_filter.stop_s
    if lo is not None and hi is not None and hi <= lo:
        raise ConfigError(f"--to {hi:g} s is not after --from {lo:g} s; give a later --to")
    if lo is not None and lo >= duration_s:
        raise ConfigError(
            f"--from {lo:g} s is past the end of {path} ({duration_s:.6g} s long); "
            "choose a time inside the recording"
        )
    if hi is not None and hi <= 0:
        raise ConfigError(
            f"--to {hi:g} s is before the start of {path} (0..{duration_s:.6g} s); "
            "choose a time inside the recording"
        )


def selected_rows(
    dataset: h5py.Dataset, event_filter: EventFilter, chunk_rows: int = CHUNK_ROWS
) -> Iterator[npt.NDArray[np.void]]:
    """Rows that pass ``event_filter``, in chunks, in time order (stable)."""
    total = int(dataset.shape[0])
    if total == 0:
        return
    times = dataset.fields("time_s")[:]
    ordered = bool(np.all(np.diff(times) >= 0))
    if ordered:
        for start in range(0, total, chunk_rows):
            rows = to_event_rows(dataset[start : start + chunk_rows])
            yield rows[event_filter.mask(rows)]
        return
    order = np.argsort(times, kind="stable")
    del times
    for start in range(0, total, chunk_rows):
        index = order[start : start + chunk_rows]
        ascending = np.sort(index)
        rows = to_event_rows(dataset[ascending])
        rows = rows[np.searchsorted(ascending, index)]
        yield rows[event_filter.mask(rows)]


def export_csv(
    recording: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    table: str | None = None,
    event_filter: EventFilter = EventFilter(),  # noqa: B008 (an immutable tuple)
    overwrite: bool = False,
) -> ExportSummary:
    """Write the selected events of ``table`` to an event CSV."""
    with RecordingReader(recording) as reader:
        info = reader.info
    check_range(event_filter, info.duration_s, recording)
    with open_tables(recording) as f, atomic_output(out, overwrite=overwrite, what="CSV") as tmp:
        dataset = table_dataset(f, table)
        with EventCsvWriter(tmp) as csv_out:
            for rows in selected_rows(dataset, event_filter):
                csv_out.write(array_to_events(rows, info.start_time_utc or None))
            count = csv_out.rows
    return ExportSummary(count, [str(out)])


class _Windows:
    """Reads waveform windows of one channel from a recording (zeros where not recorded)."""

    def __init__(self, reader: RecordingReader) -> None:
        self.reader = reader
        segments = reader.segments()
        total = reader.samples
        ends = [raw for raw, _ in segments[1:]] + [total]
        self.runs = [
            (first, first + end - raw, raw)
            for (raw, first), end in zip(segments, ends, strict=True)
        ]

    def read(self, channel: int, start: int, count: int) -> npt.NDArray[np.float64]:
        """Volts at the ADC of absolute samples ``start .. start + count`` on ``channel``."""
        out = np.zeros(count, dtype=np.float64)
        stop = start + count
        scale = self.reader.channel_info[channel].volts_per_count
        for first, last, raw in self.runs:
            lo, hi = max(start, first), min(stop, last)
            if lo < hi:
                data = self.reader.read(raw + lo - first, hi - lo)[channel]
                out[lo - start : hi - start] = data.astype(np.float64) * scale
        return out


def _layout(
    dataset: h5py.Dataset, channels: int, rate: float, pre_us: float | None, rec_us: float | None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Pretrigger and record length (samples) per channel."""
    pre = np.full(
        channels, round((DEFAULT_PRETRIGGER_US if pre_us is None else pre_us) * 1e-6 * rate)
    )
    rec = np.full(channels, round((DEFAULT_RECORD_US if rec_us is None else rec_us) * 1e-6 * rate))
    stored_pre, stored_rec = (
        dataset.attrs.get("pretrigger_samples"),
        dataset.attrs.get("record_samples"),
    )
    if pre_us is None and stored_pre is not None and len(stored_pre) == channels:
        pre = np.where(np.asarray(stored_pre) >= 0, stored_pre, pre)
    if rec_us is None and stored_rec is not None and len(stored_rec) == channels:
        rec = np.where(np.asarray(stored_rec) > 0, stored_rec, rec)
    if np.any(pre < 0) or np.any(rec < 1) or np.any(pre >= rec):
        raise ConfigError("the waveform needs --pretrigger-us >= 0 shorter than --record-us")
    return pre.astype(np.int64), rec.astype(np.int64)


def export_wav(
    recording: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    table: str | None = None,
    event_filter: EventFilter = EventFilter(),  # noqa: B008
    pretrigger_us: float | None = None,
    record_us: float | None = None,
    overwrite: bool = False,
) -> ExportSummary:
    """Write one float32 WAV (V at the ADC) per selected event into ``out_dir``.

    File names: ``NNNNNN_chC_T.TTTTTTs.wav`` (running number, 0-based channel as in the event
    CSV, time in s).
    """
    import soundfile

    count = 0
    with RecordingReader(recording) as reader, open_tables(recording) as f:
        info = reader.info
        check_range(event_filter, info.duration_s, recording)
        dataset = table_dataset(f, table)
        pre, rec = _layout(dataset, info.channels, info.sample_rate_hz, pretrigger_us, record_us)
        windows = _Windows(reader)
        with atomic_output(out_dir, overwrite=overwrite, what="WAV directory") as tmp:
            tmp.mkdir()
            for rows in selected_rows(dataset, event_filter):
                for row in rows:
                    ch = int(row["channel"])
                    data = windows.read(ch, int(row["sample_index"]) - pre[ch], int(rec[ch]))
                    count += 1
                    name = f"{count:06d}_ch{ch}_{float(row['time_s']):.6f}s.wav"
                    soundfile.write(
                        tmp / name, data.astype(np.float32), round(info.sample_rate_hz),
                        subtype="FLOAT",
                    )  # fmt: skip
    return ExportSummary(count, [str(out_dir)])


def export_vallen(
    recording: str | os.PathLike[str],
    pridb: str | os.PathLike[str],
    tradb: str | os.PathLike[str] | None = None,
    *,
    table: str | None = None,
    event_filter: EventFilter = EventFilter(),  # noqa: B008
    pretrigger_us: float | None = None,
    record_us: float | None = None,
    overwrite: bool = False,
) -> ExportSummary:
    """Write the selected events as pridb hits and (with ``tradb``) their waveforms.

    Hit times are ``time_s`` (s since the recording's start); channels are 1-based;
    amplitudes, RMS and waveforms refer to the sensor (gain removed).
    """
    with RecordingReader(recording) as reader, open_tables(recording) as f:
        info = reader.info
        check_range(event_filter, info.duration_s, recording)
        dataset = table_dataset(f, table)
        rate = info.sample_rate_hz
        gains = np.array([10 ** (c.gain_db / 20) for c in reader.channel_info])
        pre, rec = _layout(dataset, info.channels, rate, pretrigger_us, record_us)
        step = np.array([c.volts_per_count for c in reader.channel_info]) / gains
        if info.dtype != "int16":
            step = _float_steps(reader, dataset, event_filter, pre, rec) / gains
        threshold_v = _threshold_v(dataset)
        windows = _Windows(reader)
        label = f"aemon export of {Path(recording).name} table {table or 'events'}"
        start = parse_utc(info.start_time_utc or None)
        with VallenWriter(
            pridb, tradb, channels=info.channels, tr_mv=list(step * 1e3),
            start_time_utc=start, label=label, overwrite=overwrite,
        ) as out:  # fmt: skip
            for rows in selected_rows(dataset, event_filter):
                for row in rows:
                    ch = int(row["channel"])
                    wave = None
                    if tradb is not None:
                        start_sample = int(row["sample_index"]) - pre[ch]
                        wave = windows.read(ch, start_sample, int(rec[ch])) / gains[ch]
                    out.add(
                        _hit(row, threshold_v), wave, pretrigger=int(pre[ch]), sample_rate_hz=rate
                    )
            count = out.hits
    return ExportSummary(count, [str(pridb)] + ([str(tradb)] if tradb is not None else []))


def _hit(row: Any, threshold_v: float | None) -> VallenHit:
    return VallenHit(
        time_s=float(row["time_s"]),
        channel=int(row["channel"]) + 1,
        amplitude_v=float(row["amplitude_V"]),
        rise_time_s=float(row["rise_time_us"]) * 1e-6,
        duration_s=float(row["duration_us"]) * 1e-6,
        energy_eu=float(row["energy_eu"]),
        rms_v=float(row["rms_V"]),
        signal_strength_nvs=float(row["signal_strength_nVs"]),
        counts=int(row["counts"]),
        threshold_v=threshold_v,
    )


def _threshold_v(dataset: h5py.Dataset) -> float | None:
    """A dBAE threshold of a threshold/cascade table in volts; None otherwise."""
    detector = decode_text(dataset.attrs.get("detector", ""))
    threshold = float(dataset.attrs.get("threshold", math.nan))
    if detector in ("threshold", "cascade") and math.isfinite(threshold):
        return dbae_to_volts(threshold)
    return None


def _float_steps(
    reader: RecordingReader,
    dataset: h5py.Dataset,
    event_filter: EventFilter,
    pre: npt.NDArray[np.int64],
    rec: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """Volts per ADC value per channel for float recordings: the largest exported peak
    (first pass over the windows) maps to full scale."""
    peaks = np.zeros(len(pre))
    windows = _Windows(reader)
    for rows in selected_rows(dataset, event_filter):
        for row in rows:
            ch = int(row["channel"])
            data = windows.read(ch, int(row["sample_index"]) - pre[ch], int(rec[ch]))
            peaks[ch] = max(peaks[ch], float(np.max(np.abs(data), initial=0.0)))
    return np.where(peaks > 0, peaks / 32767.0, 1e-6 / 32767.0)
