"""Convert other files into an aemon HDF5 recording, keeping the time base and the scale.

========================= ===============================================================
input                     what the recording gets
========================= ===============================================================
WAV/FLAC                  16-bit PCM stays int16 counts (V/count = full scale V / 32768);
                          other sample types become float32 volts. Index 0 = first frame.
raw binary                int16 stays counts (``--volts-per-count``); others float32 V.
Vallen tradb (+ pridb)    each transient record at its own time (int16 counts, V/count =
                          ``TR_mV``/1000); table ``tradb`` (one row per record), and with
                          the pridb, table ``pridb`` (its hits and features).
MISTRAS DTA               waveforms as for a tradb; table ``dta`` (the hit features).
========================= ===============================================================

Continuous inputs are copied block by block (bounded memory). The output is written under a
temporary name and renamed when complete.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.errors import ConfigError, FileFormatError
from aemon.io.atomic_output import atomic_output
from aemon.io.audio_truncation import audio_truncation
from aemon.io.event_tables import EventTableWriter
from aemon.io.file_readers import BlockReader, file_kind, open_block_reader
from aemon.io.recording_writer import RecordingWriter
from aemon.io.schema import EVENT_DTYPE
from aemon.io.transients import TransientLayout, first_sample_of, place_records
from aemon.types import ChannelInfo, StreamFormat
from aemon.utc import parse_utc

logger = logging.getLogger(__name__)

BLOCK_SAMPLES = 1 << 18
"""Samples per channel copied at a time."""
_PCM16 = ("PCM_16",)
HIT_BATCH = 65536
"""pridb hits converted and staged at a time."""


class ImportSummary(NamedTuple):
    """What an import wrote.

    Attributes:
        output: The recording written.
        kind: ``audio``, ``raw``, ``tradb`` or ``dta``.
        samples: Samples per channel in ``/raw``.
        channels: Channels.
        sample_rate_hz: Rate (Hz).
        dtype: ``int16`` or ``float32``.
        tables: Event tables written, name → rows.
    """

    output: Path
    kind: str
    samples: int
    channels: int
    sample_rate_hz: float
    dtype: str
    tables: dict[str, int]

    def line(self) -> str:
        """One summary line."""
        tables = ", ".join(f"{n} ({r} rows)" for n, r in self.tables.items()) or "none"
        return (
            f"imported {self.kind}: {self.samples:,} samples × {self.channels} ch at "
            f"{self.sample_rate_hz:g} Hz ({self.dtype}); event tables: {tables} -> {self.output}"
        )


def import_file(
    input_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    sample_rate_hz: float | None = None,
    dtype: str | None = None,
    channels: int | None = None,
    volts_per_count: float | None = None,
    pridb: str | os.PathLike[str] | None = None,
    start_time_utc: str | None = None,
    compression: str = "blosc-lz4",
) -> ImportSummary:
    """Import ``input_path`` into a new recording ``out``.

    Args:
        input_path: WAV/FLAC, raw, ``.tradb``, ``.pridb`` (its ``.tradb`` beside it) or
            ``.DTA``.
        out: The ``.h5`` to write.
        overwrite: Replace an existing ``out``.
        sample_rate_hz: Raw: sample rate (Hz).
        dtype: Raw: sample type.
        channels: Raw: channels.
        volts_per_count: Raw: V per count; WAV/FLAC: V at full scale (default 1).
        pridb: Vallen: the pridb with the hits (default: the tradb's name with ``.pridb``,
            if present).
        start_time_utc: UTC time of the first sample (ISO 8601), for inputs that lack it;
            without it such a recording's start is unknown (stored as ""), not the import time.
        compression: ``/raw`` compression preset.

    Raises:
        AemonError: Unreadable input, bad options, existing output.
    """
    source = Path(input_path)
    target = Path(out)
    if not source.is_file():
        raise FileFormatError(f"{source}: no such file; check the path")
    if target.suffix.lower() not in (".h5", ".hdf5"):
        raise ConfigError(f"--out {target}: an aemon recording needs the suffix .h5")
    if target.exists() and target.resolve() == source.resolve():
        raise ConfigError(f"--out {target} is the input; choose another file")
    suffix = source.suffix.lower()
    start = parse_utc(start_time_utc)
    with atomic_output(target, overwrite=overwrite, what="recording") as tmp:
        if suffix in (".tradb", ".pridb"):
            summary = _import_vallen(source, tmp, pridb, start, compression)
        elif suffix == ".dta":
            summary = _import_dta(source, tmp, start, compression)
        else:
            kind = file_kind(str(source), raw_hint=dtype is not None)
            if kind == "recording":
                raise ConfigError(f"{source} is already an aemon recording; nothing to import")
            raw = {"sample_rate_hz": sample_rate_hz, "dtype": dtype, "channels": channels}
            summary = _import_continuous(
                source, tmp, kind, raw, volts_per_count, start, compression
            )
    return summary._replace(output=target)


# -- continuous -------------------------------------------------------------------------------


def _import_continuous(
    source: Path,
    tmp: Path,
    kind: str,
    raw: dict[str, Any],
    volts_per_count: float | None,
    start: datetime | None,
    compression: str,
) -> ImportSummary:
    if volts_per_count is not None and not (math.isfinite(volts_per_count) and volts_per_count > 0):
        raise ConfigError(f"--volts-per-count must be positive, not {volts_per_count}")
    if kind == "audio":
        blocks, fmt, count = _pcm16_audio(source, volts_per_count)
    else:
        reader = open_block_reader(source, volts_per_count=volts_per_count, **raw)
        fmt, count = reader.format, reader.stop_sample - reader.first_sample
        blocks = _blocks(reader)
    channel_info = [
        ChannelInfo(f"ch{i + 1}", volts_per_count=fmt.volts_per_count) for i in range(fmt.channels)
    ]
    config = {
        "imported_from": str(source),
        "import_kind": kind,
        "volts_known": volts_per_count is not None,
    }
    if volts_per_count is None:
        logger.warning(
            "%s: no --volts-per-count given; stored with %g V per %s (dBAE values of this "
            "recording are only as right as that guess)",
            source,
            fmt.volts_per_count if fmt.dtype == "int16" else 1.0,
            "count" if fmt.dtype == "int16" else "unit",
        )
    truncated = _audio_truncation(source) if kind == "audio" else None
    with RecordingWriter(
        tmp, fmt, channel_info, start_time_utc=start or "", config=config, compression=compression
    ) as writer:
        for first, block in blocks:
            writer.push(first, block)
        samples = writer.raw_samples
        if truncated is not None:
            writer.note("truncated", samples, -1, truncated)
    if samples != count:
        raise FileFormatError(f"{source}: read {samples} of {count} frames; the file is truncated")
    return ImportSummary(tmp, kind, samples, fmt.channels, fmt.sample_rate_hz, fmt.dtype, {})


def _blocks(reader: BlockReader) -> Iterator[tuple[int, npt.NDArray[Any]]]:
    try:
        yield from reader.blocks(reader.first_sample, BLOCK_SAMPLES)
    finally:
        reader.close()


def _audio_truncation(source: Path) -> str | None:
    """The warning for a WAV whose data chunk runs past its end (logged here), or None."""
    import soundfile

    info = soundfile.info(str(source))
    truncated = audio_truncation(source, info.extra_info, info.frames, info.samplerate)
    if truncated is not None:
        logger.warning("%s", truncated)
    return truncated


def _pcm16_audio(
    source: Path, volts_full_scale: float | None
) -> tuple[Iterator[tuple[int, npt.NDArray[Any]]], StreamFormat, int]:
    """16-bit PCM as int16 counts; anything else as float32 volts (via the block reader)."""
    import soundfile

    scale = volts_full_scale or 1.0
    try:
        info = soundfile.info(str(source))
    except (soundfile.LibsndfileError, RuntimeError) as exc:
        raise FileFormatError(
            f"{source}: cannot be read as audio ({str(exc).strip().splitlines()[0]}); the file "
            "is corrupt or not in the format its name says"
        ) from None
    if info.subtype not in _PCM16:
        reader = open_block_reader(source, volts_per_count=scale)
        return _blocks(reader), reader.format, reader.stop_sample - reader.first_sample
    fmt = StreamFormat(float(info.samplerate), int(info.channels), "int16", scale / 32768.0)

    def blocks() -> Iterator[tuple[int, npt.NDArray[Any]]]:
        pos = 0
        try:
            with soundfile.SoundFile(str(source)) as f:
                while True:
                    data = f.read(BLOCK_SAMPLES, dtype="int16", always_2d=True)
                    if not len(data):
                        return
                    yield pos, np.ascontiguousarray(data.T)
                    pos += len(data)
        except RuntimeError as exc:
            raise FileFormatError(
                f"{source}: cannot decode audio near frame {pos} ({exc}); the file is corrupt "
                "or truncated"
            ) from None

    return blocks(), fmt, int(info.frames)


# -- transient records ------------------------------------------------------------------------


def _transient_recording(
    tmp: Path,
    layout: TransientLayout,
    records: Any,
    start: datetime | None,
    compression: str,
    config: dict[str, Any],
    detector: str,
) -> tuple[ImportSummary, Any, int]:
    scales = layout.volts_per_count
    fmt = StreamFormat(layout.sample_rate_hz, layout.channels, "int16", scales[0])
    if any(not math.isclose(s, scales[0]) for s in scales):
        logger.warning("channels have different V/count; each channel keeps its own")
    info = [ChannelInfo(f"ch{i + 1}", volts_per_count=s) for i, s in enumerate(scales)]
    first = first_sample_of(layout)
    quiet = _SegmentNotes()
    logging.getLogger("aemon.io.recording_writer").addFilter(quiet)
    with RecordingWriter(
        tmp,
        fmt,
        info,
        start_time_utc=start or "",  # unknown: not the time of the import
        first_sample=first,
        config=config,
        compression=compression,
        max_zero_fill_s=0.0,
    ) as writer:
        try:
            placer = place_records(writer, layout, records)
        finally:
            logging.getLogger("aemon.io.recording_writer").removeFilter(quiet)
        samples = writer.raw_samples
    attrs = {
        "detector": detector,
        "model": "",
        "threshold": math.nan,
        "source": f"aemon import {config['imported_from']}",
        "pretrigger_samples": placer.pretrigger,
        "record_samples": placer.samples,
    }
    with EventTableWriter(tmp, "records", attrs) as table:
        table.write_rows(placer.event_rows(first, detector))
    summary = ImportSummary(
        tmp, config["import_kind"], samples, layout.channels, layout.sample_rate_hz, "int16",
        {"records": placer.records},
    )  # fmt: skip
    return summary, placer, first


class _SegmentNotes(logging.Filter):
    """Every pause between transient records starts a new segment: not worth a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "zero-fill limit" not in record.getMessage()


def _import_vallen(
    source: Path, tmp: Path, pridb: str | os.PathLike[str] | None, start: datetime | None,
    compression: str,
) -> ImportSummary:  # fmt: skip
    from aemon.io.vallen import (
        iter_pridb_hits,
        iter_tradb_records,
        pridb_start_time,
        tradb_layout,
    )

    tradb = source if source.suffix.lower() == ".tradb" else source.with_suffix(".tradb")
    if not tradb.is_file():
        raise FileFormatError(
            f"{source}: a pridb holds hit features only; the recording needs the waveforms "
            f"of its tradb ({tradb} not found)"
        )
    hits_path = Path(pridb) if pridb is not None else tradb.with_suffix(".pridb")
    if pridb is not None and not hits_path.is_file():
        raise FileFormatError(f"{hits_path}: no such pridb; check the path")
    if start is None and hits_path.is_file():
        start = pridb_start_time(hits_path)
    layout = tradb_layout(tradb)
    config = {"imported_from": str(tradb), "import_kind": "tradb"}
    summary, _, first = _transient_recording(
        tmp, layout, iter_tradb_records(tradb), start, compression, config, "vallen-tradb"
    )
    if hits_path.is_file():
        attrs = {"detector": "vallen-pridb", "model": "", "threshold": math.nan,
                 "source": f"aemon import {hits_path}"}  # fmt: skip
        with EventTableWriter(tmp, "pridb", attrs) as table:
            batch: list[Any] = []
            for hit, _trai in iter_pridb_hits(hits_path):
                batch.append(hit)
                if len(batch) == HIT_BATCH:
                    table.write_rows(_vallen_hit_rows(batch, layout.sample_rate_hz, first))
                    batch.clear()
            table.write_rows(_vallen_hit_rows(batch, layout.sample_rate_hz, first))
        summary.tables["pridb"] = table.rows
    return summary


def _vallen_hit_rows(hits: list[Any], rate: float, first: int) -> npt.NDArray[np.void]:
    rows = np.zeros(len(hits), dtype=EVENT_DTYPE)
    for i, hit in enumerate(hits):
        sample = round(hit.time_s * rate)
        amp = hit.amplitude_v
        rows[i] = (
            (sample - first) / rate, sample, hit.channel - 1, b"hit", 1.0, b"vallen-pridb",
            (sample - first) / rate, hit.duration_s * 1e6, amp,
            20 * math.log10(amp / 1e-6) if amp > 0 else math.nan,
            hit.rise_time_s * 1e6, hit.counts, hit.energy_eu, hit.rms_v,
            hit.signal_strength_nvs, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan,
            -1, math.nan, math.nan, math.nan, math.nan, b"",  # not grouped, not located
        )  # fmt: skip
    return rows


def _import_dta(source: Path, tmp: Path, start: datetime | None, compression: str) -> ImportSummary:
    from aemon.io.mistras import iter_records, read_dta

    contents = read_dta(source)
    config = {"imported_from": str(source), "import_kind": "dta"}
    summary, _, first = _transient_recording(
        tmp, contents.layout, iter_records(contents), start or contents.start_time_utc,
        compression, config, "mistras-dta",
    )  # fmt: skip
    hits = contents.hits.copy()
    hits["time_s"] = (hits["sample_index"] - first) / contents.layout.sample_rate_hz
    attrs = {"detector": "mistras-dta", "model": "", "threshold": math.nan,
             "source": f"aemon import {source}"}  # fmt: skip
    with EventTableWriter(tmp, "dta", attrs) as table:
        table.write_rows(hits)
    summary.tables["dta"] = len(hits)
    return summary
