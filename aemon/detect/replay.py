"""Replay: run a stored recording through the live detector at 1×, 4× or full speed.

A replay reads the file block by block through the runner the live monitor and ``aemon detect``
use (:class:`aemon.detect.runner.DetectionRunner`, through
:func:`aemon.detect.offline.detect_path`), paced by the clock at ``speed`` × real time: at
``max`` it reads the same blocks as ``aemon detect`` and finds the same events; at any speed
it groups and locates them alike.

Events of an aemon HDF5 recording go into a new named table in that recording
(:class:`aemon.io.event_tables.EventTableWriter`; earlier tables and the raw samples stay);
events of any other file (WAV/FLAC, raw, Vallen tradb) go to an event CSV, written under a
temporary name and renamed when the replay finished.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import NamedTuple

from aemon.detect.backend import Detector
from aemon.detect.model_card import ModelCard
from aemon.detect.offline import detect_path
from aemon.detect.options import DetectOptions
from aemon.detect.runner import Pace
from aemon.errors import ConfigError, FileFormatError
from aemon.events.grouping import HitGrouper, HitSink
from aemon.events.location_config import LocationConfig
from aemon.io.atomic_output import atomic_output
from aemon.io.event_csv import EventCsvWriter
from aemon.io.event_tables import EventTableWriter, check_table_name
from aemon.io.file_readers import file_kind

logger = logging.getLogger(__name__)

PACED_BLOCK_S = 0.02
"""Signal per block at a paced speed (s of wall time), as smooth as a soundcard's."""


class ReplaySummary(NamedTuple):
    """What a replay did.

    Attributes:
        events: Events written.
        seconds: Signal replayed per channel (s).
        wall_s: Wall-clock time (s): of the paced replay from its first block at a set
            speed (what that speed achieved), of the whole run at max.
        speed: Speed asked for (``inf`` for max).
        output: Where the events went: ``FILE.h5:/event_tables/NAME`` or a CSV path.
        detector: ``nn``, ``threshold`` or ``cascade``.
        model: Model name ("" for the threshold detector).
    """

    events: int
    seconds: float
    wall_s: float
    speed: float
    output: str
    detector: str
    model: str

    def line(self) -> str:
        """One summary line for the terminal."""
        pace = "max" if math.isinf(self.speed) else f"{self.speed:g}×"
        achieved = self.seconds / max(self.wall_s, 1e-9)
        return (
            f"replayed {self.seconds:.3f} s at {pace} ({achieved:.2f}× real time): "
            f"{self.events} events ({self.detector}{', ' + self.model if self.model else ''})"
            f" -> {self.output}"
        )


def parse_speed(text: str) -> float:
    """``"max"`` → ``inf``; otherwise a positive number (``"4"``, ``"4x"``).

    Raises:
        ConfigError: Anything else.
    """
    value = text.strip().lower()
    if value == "max":
        return math.inf
    value = value.removesuffix("x").removesuffix("×")
    try:
        speed = float(value)
    except ValueError:
        speed = math.nan
    if not (math.isfinite(speed) and speed > 0):
        raise ConfigError(f"--speed {text!r} is not a speed; use 1, 4 or max")
    return speed


class _Clock:
    """Sleeps so that signal time ``t`` is reached at wall time ``t / speed``, counted from
    the second block: start-up (opening the file, loading the model, compiling on the first
    block) would otherwise be caught up at full speed, and reported as a slow pace."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.start: float | None = None
        self._calls = 0

    def __call__(self, signal_s: float) -> None:
        now = time.monotonic()
        self._calls += 1
        if self._calls <= 2 or self.start is None:  # the first block: one-off start-up costs
            self.start = now - signal_s / self.speed
        wait = self.start + signal_s / self.speed - now
        if wait > 0:
            time.sleep(wait)

    def elapsed_s(self) -> float | None:
        """Wall time (s) since the paced replay's (extrapolated) signal time 0; None before
        the first block."""
        return None if self.start is None else time.monotonic() - self.start


def replay_file(
    input_path: str | os.PathLike[str],
    *,
    options: DetectOptions,
    speed: float = math.inf,
    table: str | None = None,
    out_csv: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    sample_rate_hz: float | None = None,
    dtype: str | None = None,
    channels: int | None = None,
    volts_per_count: float | None = None,
    progress: bool = False,
    location: LocationConfig | None = None,
    only_inside: bool = False,
) -> ReplaySummary:
    """Replay a file through the detector.

    Args:
        input_path: aemon ``.h5`` recording, WAV/FLAC, raw binary or Vallen ``.tradb``.
        options: Detector settings (as for ``aemon detect``).
        speed: Times real time; ``math.inf`` for as fast as possible.
        table: Name of the new event table (HDF5 input). Default ``replay-<UTC time>``.
        out_csv: Event CSV for other inputs (default ``INPUT.replay.csv``); for an HDF5
            input, a CSV instead of a table.
        overwrite: Replace an existing table or CSV of that name.
        sample_rate_hz: Sample rate of a raw file (Hz).
        dtype: Sample type of a raw file.
        channels: Channels of a raw file.
        volts_per_count: Volts per sample unit (V) of raw and WAV/FLAC files.
        progress: Show a progress bar.
        location: Group the hits of all channels into events and locate them
            (:mod:`aemon.events.grouping`); None keeps the hits as they are.
        only_inside: With ``location``: keep only hits of events located inside.

    Raises:
        AemonError: Unreadable input, impossible options, an existing output.
    """
    path = Path(input_path)
    if not path.is_file():
        raise FileFormatError(f"{path}: no such file; check the path")
    is_tradb = path.suffix.lower() == ".tradb"
    is_recording = not is_tradb and file_kind(str(path), raw_hint=dtype is not None) == "recording"
    clock = None if math.isinf(speed) else _Clock(speed)
    pace: Pace | None = clock
    started = time.perf_counter()
    if is_recording and out_csv is None:
        name = check_table_name(table or time.strftime("replay-%Y%m%dT%H%M%SZ", time.gmtime()))
        with EventTableWriter(path, name, {}, overwrite=overwrite) as writer:
            seconds, onnx = _run(
                path, options, writer, pace, speed, progress, {}, location, only_inside
            )
            writer.attrs.update(_table_attrs(options, onnx, speed, path))
            rows = writer.rows
        output = f"{path}:/event_tables/{name}"
    else:
        if table is not None and not is_recording:
            raise ConfigError(
                f"{path}: --table is for aemon .h5 recordings; other files replay into a CSV "
                "(--out)"
            )
        csv_path = (
            Path(out_csv) if out_csv is not None else path.with_name(path.name + ".replay.csv")
        )
        if csv_path.resolve() == path.resolve():
            raise ConfigError(f"--out {csv_path} would overwrite the input; choose another file")
        raw = {
            "sample_rate_hz": sample_rate_hz,
            "dtype": dtype,
            "channels": channels,
            "volts_per_count": volts_per_count,
        }
        with (
            atomic_output(csv_path, overwrite=overwrite, what="event CSV") as tmp,
            EventCsvWriter(tmp) as csv_out,
        ):
            seconds, onnx = _run(
                path, options, csv_out, pace, speed, progress, raw, location, only_inside
            )
            rows = csv_out.rows
        output = str(csv_path)
    if clock is not None:
        clock(seconds)  # the last block is over at its end time, as from a live source
    summary = ReplaySummary(
        rows,
        seconds,
        (clock and clock.elapsed_s()) or time.perf_counter() - started,
        speed,
        output,
        options.detector,
        onnx.card.name if onnx else "",
    )
    logger.info("%s", summary.line())
    return summary


def _run(
    path: Path,
    options: DetectOptions,
    sink: HitSink,
    pace: Pace | None,
    speed: float,
    progress: bool,
    raw: dict[str, float | str | int | None],
    location: LocationConfig | None,
    only_inside: bool,
) -> tuple[float, Detector | None]:
    run = detect_path(
        path, options, [sink], grouper=None if location is None else HitGrouper(location),
        only_inside=only_inside, progress=progress, pace=pace, raw=raw,
        block_s=None if math.isinf(speed) else PACED_BLOCK_S * speed,
    )  # fmt: skip
    return run.seconds, run.detector


def _table_attrs(
    options: DetectOptions, onnx: Detector | None, speed: float, path: Path
) -> dict[str, object]:
    pace = "max" if math.isinf(speed) else f"{speed:g}"
    return table_attrs(
        options, onnx.card if onnx else None, f"aemon replay --speed {pace} {path.name}"
    )


def table_attrs(options: DetectOptions, card: ModelCard | None, source: str) -> dict[str, object]:
    """The attributes of a new event table: how its events were detected (``replay`` and
    ``reanalyse``; ``card``: the model's, None for the threshold detector)."""
    threshold = options.probability if options.detector == "nn" else options.threshold_db
    if threshold is None and options.detector == "nn" and card is not None:
        threshold = float(card.threshold)
    if threshold is None and options.detector != "nn":
        threshold = 40.0 if options.x_noise is None else math.nan
    return {
        "detector": options.detector,
        "model": card.name if card else "",
        "threshold": math.nan if threshold is None else float(threshold),
        "x_noise": math.nan if options.x_noise is None else float(options.x_noise),
        "probability": math.nan
        if options.probability is None or options.detector != "cascade"
        else float(options.probability),
        "source": source,
    }
