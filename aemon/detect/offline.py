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
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from tqdm import tqdm

from aemon.detect.backend import Detector
from aemon.detect.factory import make_event_stream, open_model
from aemon.detect.options import DetectOptions
from aemon.events.grouping import EventSink, HitGrouper, LocatingWriter
from aemon.events.location_config import LocationConfig
from aemon.io.event_csv import EventCsvWriter
from aemon.io.file_readers import BlockReader, open_block_reader, timeline
from aemon.io.vallen import iter_tradb_records
from aemon.types import ChannelInfo, Gap, StreamFormat

logger = logging.getLogger(__name__)

BLOCK_SAMPLES = 1 << 18
"""Samples per channel read at a time (bounded memory)."""

Pace = Callable[[float], None]
"""Called with the signal time (s since the file's start) about to be processed; replay
sleeps in it to hold a speed (``None``: as fast as possible)."""


class DetectSummary(NamedTuple):
    """What a detection run did.

    Attributes:
        events: Events written.
        seconds: Signal duration processed per channel (s).
        channels: Channels (1 for a tradb: records are processed one at a time).
        wall_s: Wall-clock time (s).
        detector: ``nn``, ``threshold`` or ``cascade``.
        model: Model name ("" for the threshold detector).
        provider: Device and backend of the model, e.g. ``cpu (onnxruntime)`` ("" without one).
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
        """Stream seconds per wall second: × real time for all channels at once (each
        channel-second counts once per channel, so per channel it is ``channels`` × this)."""
        return self.seconds / max(self.wall_s, 1e-9)

    def line(self) -> str:
        """One summary line for the terminal."""
        using = f"model {self.model} on {self.provider}" if self.model else "threshold detector"
        return (
            f"{self.events} events in {self.seconds:.3f} s of signal ({self.channels} ch) with "
            f"{self.detector} ({using}); {self.realtime_factor:.2f}× real time"
            + (
                f" ({self.channels * self.realtime_factor:.2f}× per channel)"
                if self.channels > 1
                else ""
            )
        )


def detect_file(
    input_path: str | os.PathLike[str],
    out_csv: str | os.PathLike[str],
    *,
    model: str | Path | None = None,
    detector: str = "nn",
    probability: float | None = None,
    threshold_db: float | None = None,
    x_noise: float | None = None,
    fs: float | None = None,
    dtype: str | None = None,
    channels: int | None = None,
    volts_per_count: float | None = None,
    provider: str = "auto",
    threads: int | None = None,
    progress: bool = True,
    backend: str = "auto",
    location: LocationConfig | None = None,
    only_inside: bool = False,
    grouper: HitGrouper | None = None,
) -> DetectSummary:
    """Detect the events in a file and write them to an event CSV.

    Args:
        input_path: aemon ``.h5`` recording, WAV/FLAC, raw binary, or Vallen ``.tradb``.
        out_csv: Event CSV to write (replaced).
        model: Model directory or name; None for
            :func:`~aemon.detect.onnx_runtime.default_model_path`
            of the file's sample rate.
        detector: ``nn`` (neural map), ``threshold`` (conventional hits) or ``cascade``
            (threshold hits confirmed and classified by the network).
        probability: ``nn``: the probability an event must reach; ``cascade``: the
            probability a class must reach to confirm a hit (default: the model card's).
        threshold_db: ``threshold`` and ``cascade``: hit threshold in dBAE at the sensor
            (default 40 dBAE).
        x_noise: ``threshold``/``cascade``: threshold as a multiple of the noise RMS instead.
        fs: Sample rate of a raw file (Hz).
        dtype: Sample type of a raw file (``int16``, ``int32``, ``float32``, ``float64``).
        channels: Channels of a raw file.
        volts_per_count: Volts per sample unit (V) for raw and WAV/FLAC files.
        provider: ``auto``, ``cpu`` or ``cuda``.
        threads: Inference threads (None: one per physical core).
        progress: Show a tqdm progress bar on stderr.
        backend: ``auto``, ``onnxruntime`` or ``torch`` (:mod:`aemon.detect.backend`).
        location: Group the hits of all channels into events and locate them
            (:mod:`aemon.events.grouping`); None writes the hits as they are.
        only_inside: With ``location``: write only hits of events located inside.
        grouper: A grouper to use instead of one made from ``location`` (its ``table`` then
            holds the located events, e.g. for ``aemon locate-calibrate``).

    Returns:
        A summary of the run.

    Raises:
        AemonError: Unreadable input, impossible options, or a model that does not fit.
    """
    options = DetectOptions(
        model=model, detector=detector, probability=probability, threshold_db=threshold_db,
        x_noise=x_noise, provider=provider, threads=threads, backend=backend,
    )  # fmt: skip
    path = os.fspath(input_path)
    started = time.perf_counter()
    with EventCsvWriter(out_csv) as csv_out:
        out: EventSink = csv_out
        if grouper is None and location is not None:
            grouper = HitGrouper(location)
        if grouper is not None:
            out = LocatingWriter(csv_out, grouper, only_inside=only_inside)
        if Path(path).suffix.lower() == ".tradb":
            seconds, n_channels, onnx = detect_tradb(path, options, out, progress=progress)
        else:
            reader = open_block_reader(
                path, fs=fs, dtype=dtype, channels=channels, volts_per_count=volts_per_count
            )
            try:
                seconds, n_channels, onnx = detect_reader(reader, options, out, progress=progress)
            finally:
                reader.close()
        if isinstance(out, LocatingWriter):
            out.flush()
        rows = csv_out.rows
    summary = DetectSummary(
        rows,
        seconds,
        n_channels,
        time.perf_counter() - started,
        detector,
        onnx.card.name if onnx else "",
        f"{onnx.provider} ({onnx.backend})" if onnx else "",
    )
    logger.info("%s: %s", path, summary.line())
    return summary


class _PlainLines:
    """A tqdm output for logs and pipes: each update on a line of its own, no carriage return."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        line = text.replace("\r", "").replace("\x1b[A", "").strip()
        if line:
            self.stream.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def _bar_options() -> dict[str, Any]:
    """On a terminal a live bar; otherwise one plain progress line every 10 s."""
    if sys.stderr.isatty():
        return {}
    return {"file": _PlainLines(sys.stderr), "mininterval": 10.0, "ncols": 80}


def detect_reader(
    reader: BlockReader,
    options: DetectOptions,
    out: EventSink,
    *,
    progress: bool = False,
    pace: Pace | None = None,
    block_samples: int = BLOCK_SAMPLES,
) -> tuple[float, int, Detector | None]:
    """Run the detector over a continuous file's blocks and gaps; events go to ``out``.

    Returns:
        ``(signal seconds, channels, ONNX detector or None)``.
    """
    fmt, first = reader.format, reader.first_sample
    rate = fmt.sample_rate_hz
    onnx = None if options.detector == "threshold" else open_model(options, fmt.sample_rate_hz)
    stream = make_event_stream(
        options,
        fmt,
        reader.channel_info,
        first_sample=first,
        start_time_utc=reader.start_time_utc,
        onnx=onnx,
    )
    total = reader.stop_sample - first
    if isinstance(out, LocatingWriter):
        out.grouper.attach_signal(fmt.sample_rate_hz)
    with tqdm(
        total=total,
        unit="S",
        unit_scale=True,
        disable=not progress,
        desc="detect",
        leave=True,
        **_bar_options(),
    ) as bar:
        for item in timeline(reader, first, block_samples):
            if pace is not None:
                pace(((item.start_sample if isinstance(item, Gap) else item[0]) - first) / rate)
            if isinstance(item, Gap):
                stream.gap(item)
                bar.update(item.samples)
                continue
            start, block = item
            if isinstance(out, LocatingWriter):  # raw signal for cross-correlated arrivals
                out.grouper.add_signal(start, block)
            out.write(stream.push(start, block))
            bar.update(block.shape[1])
        out.write(stream.flush())
    return total / fmt.sample_rate_hz, fmt.channels, onnx


def detect_tradb(
    path: str,
    options: DetectOptions,
    out: EventSink,
    *,
    progress: bool = False,
    pace: Pace | None = None,
) -> tuple[float, int, Detector | None]:
    """Each transient record of a tradb on its own; events at the record's time.

    Returns:
        ``(signal seconds, 1, ONNX detector or None)``.
    """
    onnx: Detector | None = None
    seconds = 0.0
    for rec in tqdm(iter_tradb_records(path), unit="rec", disable=not progress, leave=False):
        if pace is not None:
            pace(rec.time_s)
        rate = rec.sample_rate_hz
        fmt = StreamFormat(rate, 1, "float32", 1.0)
        if onnx is None and options.detector != "threshold":
            onnx = open_model(options, rate)
        stream = make_event_stream(options, fmt, [ChannelInfo(f"ch{rec.channel}")], onnx=onnx)
        events = stream.push(0, rec.volts()[None, :]) + stream.flush()
        offset = rec.time_s - rec.pretrigger / rate
        out.write(
            e._replace(
                time_s=e.time_s + offset,
                onset_s=e.onset_s + offset,
                sample_index=round((e.time_s + offset) * rate),
                channel=rec.channel - 1,
            )
            for e in events
        )
        seconds += rec.counts.size / rate
    return seconds, 1, onnx
