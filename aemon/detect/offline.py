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
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from tqdm import tqdm

from aemon.detect.backend import Detector
from aemon.detect.factory import HitStream, make_hit_stream, open_model
from aemon.detect.options import DetectOptions
from aemon.detect.runner import DetectionRunner, Fanout, HitList, Item, Pace, paced
from aemon.events.grouping import HitGrouper, HitSink, LocatingWriter
from aemon.events.location_config import LocationConfig
from aemon.io.event_csv import EventCsvWriter
from aemon.io.file_readers import BlockReader, open_block_reader, timeline
from aemon.io.vallen import iter_tradb_records
from aemon.types import ChannelInfo, Gap, StreamFormat

logger = logging.getLogger(__name__)

BLOCK_SAMPLES = 1 << 18
"""Samples per channel read at a time (bounded memory)."""


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
    sample_rate_hz: float | None = None,
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
        probability: ``nn``: the probability a hit must reach; ``cascade``: the
            probability a class must reach to confirm a hit (default: the model card's).
        threshold_db: ``threshold`` and ``cascade``: hit threshold in dBAE at the sensor
            (default 40 dBAE).
        x_noise: ``threshold``/``cascade``: threshold as a multiple of the noise RMS instead.
        sample_rate_hz: Sample rate of a raw file (Hz).
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
    if grouper is None and location is not None:
        grouper = HitGrouper(location)
    with EventCsvWriter(out_csv) as csv_out:
        raw = {
            "sample_rate_hz": sample_rate_hz,
            "dtype": dtype,
            "channels": channels,
            "volts_per_count": volts_per_count,
        }
        run = detect_path(
            path, options, [csv_out], grouper=grouper, only_inside=only_inside,
            progress=progress, raw=raw,
        )  # fmt: skip
        seconds, n_channels, onnx = run.seconds, run.channels, run.detector
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


class DetectRun(NamedTuple):
    """What :func:`detect_reader`, :func:`detect_tradb` and :func:`detect_path` did.

    Attributes:
        seconds: Signal processed per channel (s).
        channels: Channels (1 for a tradb: records are processed one at a time).
        detector: The opened model, or None for the threshold detector.
        rows: Hits passed on to the sinks.
    """

    seconds: float
    channels: int
    detector: Detector | None
    rows: int


def detect_path(
    path: str | os.PathLike[str],
    options: DetectOptions,
    sinks: Sequence[HitSink],
    *,
    grouper: HitGrouper | None = None,
    only_inside: bool = False,
    progress: bool = False,
    pace: Pace | None = None,
    block_s: float | None = None,
    raw: Mapping[str, Any] | None = None,
) -> DetectRun:
    """Detect in any file (continuous, or a Vallen tradb); hits go to ``sinks``.

    Args:
        path: aemon ``.h5`` recording, WAV/FLAC, raw binary, or Vallen ``.tradb``.
        options: Detector settings.
        sinks: Where the hits go.
        grouper: Group and locate the hits first (see :class:`DetectionRunner`).
        only_inside: With ``grouper``: pass on only hits of events located inside.
        progress: Show a progress bar on stderr.
        pace: Called before each block (replay holds its speed in it).
        block_s: Signal read at a time (s); None for :data:`BLOCK_SAMPLES` samples.
        raw: ``sample_rate_hz``, ``dtype``, ``channels``, ``volts_per_count`` of a raw or
            WAV/FLAC file.
    """
    name = os.fspath(path)
    if Path(name).suffix.lower() == ".tradb":
        return detect_tradb(
            name, options, sinks, grouper=grouper, only_inside=only_inside,
            progress=progress, pace=pace,
        )  # fmt: skip
    reader = open_block_reader(name, **dict(raw or {}))
    try:
        return detect_reader(
            reader, options, sinks, grouper=grouper, only_inside=only_inside,
            progress=progress, pace=pace, block_s=block_s,
        )  # fmt: skip
    finally:
        reader.close()


def detect_reader(
    reader: BlockReader,
    options: DetectOptions,
    sinks: Sequence[HitSink],
    *,
    grouper: HitGrouper | None = None,
    only_inside: bool = False,
    progress: bool = False,
    pace: Pace | None = None,
    block_s: float | None = None,
    on_stream: Callable[[HitStream], None] | None = None,
    time_origin: int | None = None,
) -> DetectRun:
    """Run the detector over a continuous file's blocks and gaps (:class:`DetectionRunner`);
    arguments as :func:`detect_path`.

    ``aemon reanalyse`` runs a time chunk of a recording through a reader that shows only the
    chunk: ``on_stream`` is called with the hit stream before the first block (the chunk
    continues the sequential pass's preprocessing state and event times), and
    ``time_origin`` is the absolute sample of ``time_s = 0`` for the grouping's clock
    (default: the reader's first sample).
    """
    fmt, first = reader.format, reader.first_sample
    rate = fmt.sample_rate_hz
    block_samples = BLOCK_SAMPLES if block_s is None else max(1, round(block_s * rate))
    onnx = None if options.detector == "threshold" else open_model(options, fmt.sample_rate_hz)
    stream = make_hit_stream(
        options,
        fmt,
        reader.channel_info,
        first_sample=first,
        start_time_utc=reader.start_time_utc,
        onnx=onnx,
    )
    if on_stream is not None:
        on_stream(stream)
    runner = DetectionRunner(
        stream, sinks, first_sample=first if time_origin is None else time_origin,
        sample_rate_hz=rate, grouper=grouper, only_inside=only_inside,
    )  # fmt: skip
    total = reader.stop_sample - first
    with tqdm(
        total=total,
        unit="S",
        unit_scale=True,
        disable=not progress,
        desc="detect",
        leave=True,
        **_bar_options(),
    ) as bar:
        items: Iterable[Item] = timeline(reader, first, block_samples)
        if pace is not None:
            items = paced(items, pace, first, rate)
        for item in items:
            runner.feed(item)
            bar.update(item.samples if isinstance(item, Gap) else item[1].shape[1])
        runner.flush()
    return DetectRun(total / rate, fmt.channels, onnx, runner.rows)


def detect_tradb(
    path: str,
    options: DetectOptions,
    sinks: Sequence[HitSink],
    *,
    grouper: HitGrouper | None = None,
    only_inside: bool = False,
    progress: bool = False,
    pace: Pace | None = None,
) -> DetectRun:
    """Each transient record of a tradb on its own; hits at the record's time.

    The records' hits are grouped (``grouper``) across records, by their times.
    """
    onnx: Detector | None = None
    seconds = 0.0
    out = Fanout(sinks)
    locating = None if grouper is None else LocatingWriter(out, grouper, only_inside=only_inside)
    for rec in tqdm(iter_tradb_records(path), unit="rec", disable=not progress, leave=False):
        if pace is not None:
            pace(rec.time_s)
        rate = rec.sample_rate_hz
        fmt = StreamFormat(rate, 1, "float32", 1.0)
        if onnx is None and options.detector != "threshold":
            onnx = open_model(options, rate)
        stream = make_hit_stream(options, fmt, [ChannelInfo(f"ch{rec.channel}")], onnx=onnx)
        hits = HitList()
        DetectionRunner(stream, [hits], first_sample=0, sample_rate_hz=rec.sample_rate_hz).run(
            [(0, rec.volts()[None, :])]
        )
        offset = rec.time_s - rec.pretrigger / rec.sample_rate_hz
        placed = [
            e._replace(
                time_s=e.time_s + offset,
                onset_s=e.onset_s + offset,
                sample_index=round((e.time_s + offset) * rate),
                channel=rec.channel - 1,
            )
            for e in hits
        ]
        (out if locating is None else locating).write(placed)
        seconds += rec.counts.size / rate
    if locating is not None:
        locating.flush()
    return DetectRun(seconds, 1, onnx, out.rows)
