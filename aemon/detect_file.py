"""Offline detection: a recording, WAV/FLAC, raw or Vallen tradb file → an event CSV.

Continuous files (aemon HDF5 recordings, WAV/FLAC, raw binary) are read block by block and
pushed through the same streaming detector the live path uses, so memory stays bounded
whatever the file size, recorded gaps are handled as live, and the events match what the
live detector would have found. Event times count from the file's first sample.

A Vallen tradb holds one transient record per hit, not a continuous signal: every record is
run through the detector on its own, and its events are placed at the record's time
(``time_s = record time + (onset - pretrigger) / fs``, ``sample_index = round(time_s × fs)``,
``channel = Vallen channel - 1``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from aemon.detect import StreamingDetector
from aemon.detect_events import CascadeEventStream, NeuralEventStream
from aemon.detect_options import DETECTORS, DetectOptions
from aemon.errors import ConfigError, FileFormatError
from aemon.events import Event, EventBuilder
from aemon.hit_events import HitEventStream
from aemon.hits import HitDetector, HitDetectorConfig
from aemon.inference import OnnxDetector, default_model_path
from aemon.io.event_csv import EventCsvWriter
from aemon.io.file_readers import BlockReader, open_block_reader, timeline
from aemon.types import ChannelInfo, Gap, StreamFormat

logger = logging.getLogger(__name__)

BLOCK_SAMPLES = 1 << 18
"""Samples per channel read at a time (bounded memory)."""
OFFLINE_BATCH_WINDOWS = 16


class DetectSummary(NamedTuple):
    """What a detection run did.

    Attributes:
        events: Events written.
        seconds: Signal duration processed per channel (s).
        channels: Channels (1 for a tradb: records are processed one at a time).
        wall_s: Wall-clock time (s).
        detector: ``nn``, ``threshold`` or ``cascade``.
        model: Model name ("" for the threshold detector).
        provider: Execution provider of the model ("" without one).
    """

    events: int
    seconds: float
    channels: int
    wall_s: float
    detector: str
    model: str
    provider: str

    @property
    def realtime_factor(self) -> float:
        """Signal seconds per wall second (× real time, all channels together)."""
        return self.seconds / max(self.wall_s, 1e-9)

    def line(self) -> str:
        """One summary line for the terminal."""
        using = f"model {self.model} on {self.provider}" if self.model else "threshold detector"
        return (
            f"{self.events} events in {self.seconds:.3f} s of signal ({self.channels} ch) with "
            f"{self.detector} ({using}); {self.realtime_factor:.2f}× real time"
        )


class _Stream(Protocol):
    def push(self, first_sample: int, block: npt.NDArray[np.generic]) -> list[Event]: ...
    def gap(self, gap: Gap) -> None: ...
    def flush(self) -> list[Event]: ...


class _ThresholdStream:
    """The hit stream with the gap call the other streams have (the jump ends hits)."""

    def __init__(self, hits: HitEventStream) -> None:
        self.hits = hits

    def push(self, first_sample: int, block: npt.NDArray[np.generic]) -> list[Event]:
        """Scan a block; return the events of the hits that ended."""
        return self.hits.push(first_sample, block)

    def flush(self) -> list[Event]:
        """End of stream: the events of the hits still open."""
        return self.hits.flush()

    def gap(self, gap: Gap) -> None:
        """The hit detector sees the jump in sample indices itself."""


def _open_model(options: DetectOptions, rate_hz: float) -> OnnxDetector:
    model = options.model if options.model is not None else default_model_path(rate_hz)
    return OnnxDetector(model, provider=options.provider, threads=options.threads)


def make_event_stream(
    options: DetectOptions,
    fmt: StreamFormat,
    channel_info: list[ChannelInfo],
    *,
    first_sample: int = 0,
    start_time_utc: str = "",
    onnx: OnnxDetector | None = None,
    live: bool = False,
) -> _Stream:
    """The event stream for ``options.detector`` on a stream of format ``fmt``.

    Args:
        options: Detector settings.
        fmt: Stream format.
        channel_info: Per-channel metadata (gain for dBAE).
        first_sample: Absolute index of the stream's first sample.
        start_time_utc: ISO 8601 time of the first sample, for event UTC stamps.
        onnx: An ONNX session to reuse, or None to open the model.
        live: Batch for latency (about 50 ms of signal per inference) instead of throughput.

    Raises:
        ConfigError: Unknown detector, bad thresholds, or a model that cannot take the rate.
    """
    if options.detector not in DETECTORS:
        raise ConfigError(f"detector {options.detector!r} unknown; use {', '.join(DETECTORS)}")
    aic_us: dict[str, float] = {}
    if options.detector == "nn":
        if options.threshold is not None and not 0 < options.threshold < 1:
            raise ConfigError(
                f"--threshold for the nn detector is a probability between 0 and 1, "
                f"not {options.threshold:g}"
            )
        onnx = onnx or _open_model(options, fmt.sample_rate_hz)
        # The map's onset is only good to a bin (10 µs at 1.5625 MHz, 83 µs at 192 kHz): the
        # AIC picker must see a few bins of noise before it and of burst after it.
        bin_us = onnx.card.bin_samples / onnx.card.sample_rate_hz * 1e6
        aic_us = {"aic_pre_us": max(100.0, 4 * bin_us), "aic_post_us": max(50.0, 2 * bin_us)}
    builder = EventBuilder.for_stream(
        fmt,
        channel_info,
        first_sample=first_sample,
        start_time_utc=start_time_utc or None,
        **aic_us,
    )
    if options.detector == "nn":
        assert onnx is not None
        streaming = StreamingDetector(
            onnx,
            fmt,
            first_sample=first_sample,
            # live: the detector's latency-bounded default; offline: bigger batches
            batch_windows=None if live else OFFLINE_BATCH_WINDOWS,
        )
        return NeuralEventStream(streaming, builder, threshold=options.threshold)
    config = HitDetectorConfig(
        threshold_dbae=40.0 if options.threshold is None else options.threshold,
        threshold_x_noise=options.x_noise,
    )
    hits = HitDetector.for_stream(config, fmt, channel_info)
    if options.detector == "threshold":
        return _ThresholdStream(HitEventStream(hits, builder))
    onnx = onnx or _open_model(options, fmt.sample_rate_hz)
    return CascadeEventStream(hits, builder, onnx, fmt, probability=options.probability)


def detect_file(
    input_path: str | os.PathLike[str],
    out_csv: str | os.PathLike[str],
    *,
    model: str | Path | None = None,
    detector: str = "nn",
    threshold: float | None = None,
    probability: float | None = None,
    x_noise: float | None = None,
    fs: float | None = None,
    dtype: str | None = None,
    channels: int | None = None,
    volts_per_count: float | None = None,
    provider: str = "auto",
    threads: int | None = None,
    progress: bool = True,
) -> DetectSummary:
    """Detect the events in a file and write them to an event CSV.

    Args:
        input_path: aemon ``.h5`` recording, WAV/FLAC, raw binary, or Vallen ``.tradb``.
        out_csv: Event CSV to write (replaced).
        model: Model directory or name; None for :func:`~aemon.inference.default_model_path`
            of the file's sample rate.
        detector: ``nn`` (neural map), ``threshold`` (conventional hits) or ``cascade``
            (threshold hits confirmed and classified by the network).
        threshold: ``nn``: probability 0..1 (default: the model card's). ``threshold`` and
            ``cascade``: hit threshold in dBAE at the sensor (default 40 dBAE).
        probability: ``cascade``: probability a class must reach (default: the card's).
        x_noise: ``threshold``/``cascade``: threshold as a multiple of the noise RMS instead.
        fs: Sample rate of a raw file (Hz).
        dtype: Sample type of a raw file (``int16``, ``int32``, ``float32``, ``float64``).
        channels: Channels of a raw file.
        volts_per_count: Volts per sample unit (V) for raw and WAV/FLAC files.
        provider: ``auto``, ``cpu`` or ``cuda``.
        threads: Inference threads (None: one per physical core).
        progress: Show a tqdm progress bar on stderr.

    Returns:
        A summary of the run.

    Raises:
        AemonError: Unreadable input, impossible options, or a model that does not fit.
    """
    options = DetectOptions(model, detector, threshold, probability, x_noise, provider, threads)
    path = os.fspath(input_path)
    started = time.perf_counter()
    with EventCsvWriter(out_csv) as out:
        if Path(path).suffix.lower() == ".tradb":
            seconds, n_channels, onnx = _detect_tradb(path, options, out, progress)
        else:
            reader = open_block_reader(
                path, fs=fs, dtype=dtype, channels=channels, volts_per_count=volts_per_count
            )
            try:
                seconds, n_channels, onnx = _detect_stream(reader, options, out, progress)
            finally:
                reader.close()
        rows = out.rows
    summary = DetectSummary(
        rows,
        seconds,
        n_channels,
        time.perf_counter() - started,
        detector,
        onnx.card.name if onnx else "",
        onnx.provider if onnx else "",
    )
    logger.info("%s: %s", path, summary.line())
    return summary


def _detect_stream(
    reader: BlockReader, options: DetectOptions, out: EventCsvWriter, progress: bool
) -> tuple[float, int, OnnxDetector | None]:
    fmt, first = reader.format, reader.first_sample
    onnx = None if options.detector == "threshold" else _open_model(options, fmt.sample_rate_hz)
    stream = make_event_stream(
        options,
        fmt,
        reader.channel_info,
        first_sample=first,
        start_time_utc=reader.start_time_utc,
        onnx=onnx,
    )
    total = reader.stop_sample - first
    with tqdm(
        total=total, unit="S", unit_scale=True, disable=not progress, desc="detect", leave=False
    ) as bar:
        for item in timeline(reader, first, BLOCK_SAMPLES):
            if isinstance(item, Gap):
                stream.gap(item)
                bar.update(item.samples)
                continue
            start, block = item
            out.write(stream.push(start, block))
            bar.update(block.shape[1])
        out.write(stream.flush())
    return total / fmt.sample_rate_hz, fmt.channels, onnx


class _Record(NamedTuple):
    time_s: float
    channel: int
    pretrigger: int
    samplerate: float
    data: npt.NDArray[np.float32]


def _tradb_records(path: str) -> Iterator[_Record]:
    import vallenae.io

    try:
        with vallenae.io.TraDatabase(path) as tradb:
            for rec in tradb.iread():
                data = np.asarray(rec.data, dtype=np.float32)
                yield _Record(rec.time, rec.channel, rec.pretrigger, float(rec.samplerate), data)
    except (OSError, ValueError, RuntimeError) as exc:
        raise FileFormatError(f"{path}: cannot read as a Vallen tradb ({exc})") from None
    except Exception as exc:  # sqlite3.DatabaseError for files that are not SQLite
        if type(exc).__module__ == "sqlite3":
            raise FileFormatError(f"{path}: not a Vallen tradb ({exc})") from None
        raise


def _detect_tradb(
    path: str, options: DetectOptions, out: EventCsvWriter, progress: bool
) -> tuple[float, int, OnnxDetector | None]:
    """Each transient record on its own; events at the record's time."""
    if not os.path.isfile(path):
        raise FileFormatError(f"{path}: no such file; check the path")
    onnx: OnnxDetector | None = None
    seconds = 0.0
    for rec in tqdm(_tradb_records(path), unit="rec", disable=not progress, leave=False):
        fmt = StreamFormat(rec.samplerate, 1, "float32", 1.0)
        if onnx is None and options.detector != "threshold":
            onnx = _open_model(options, rec.samplerate)
        stream = make_event_stream(options, fmt, [ChannelInfo(f"ch{rec.channel}")], onnx=onnx)
        events = stream.push(0, rec.data[None, :]) + stream.flush()
        offset = rec.time_s - rec.pretrigger / rec.samplerate
        out.write(
            e._replace(
                time_s=e.time_s + offset,
                onset_s=e.onset_s + offset,
                sample_index=round((e.time_s + offset) * rec.samplerate),
                channel=rec.channel - 1,
            )
            for e in events
        )
        seconds += rec.data.size / rec.samplerate
    return seconds, 1, onnx
