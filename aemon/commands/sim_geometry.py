"""``aemon sim`` with sensor geometry: options, and the files written next to the recording.

With ``--sensor-spacing`` (sensors on a line) or ``--plate`` (sensors on a square plate) the
simulator places each burst at a position (:mod:`aemon.sim.geometry`) and ``aemon sim``
also writes, next to ``--out``:

* ``<stem>.location.toml``: the sensor layout and wave speed, ready for ``--location``;
* ``<stem>.sources.csv``: one row per source: ``source_id,kind,time_s,emission_sample,x_m,
  y_m,snr_db,first_channel`` (``kind`` crack or grip, ``time_s`` the emission instant);
* ``<stem>.breaks.csv`` (with ``--break-at``): ``start_s,stop_s,x_m,y_m`` for
  ``aemon locate-calibrate --positions``.
"""

from __future__ import annotations

import argparse
import csv
import logging
import math
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from aemon.errors import ConfigError
from aemon.events.location_config import LocationConfig, Sensor, location_config_toml
from aemon.sim.geometry import SensorGeometry, SourceTruth

logger = logging.getLogger(__name__)

SOURCE_CSV_COLUMNS = (
    "source_id", "kind", "time_s", "emission_sample", "x_m", "y_m", "snr_db", "first_channel",
)  # fmt: skip
"""Columns of ``<stem>.sources.csv``."""


def add_geometry_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the geometry options of ``aemon sim``."""
    group = parser.add_argument_group(
        "sensor geometry (bursts at positions; also writes <stem>.location.toml and "
        "<stem>.sources.csv)"
    )
    where = group.add_mutually_exclusive_group()
    where.add_argument(
        "--sensor-spacing", type=float, metavar="M",
        help="sensors on a line, M metres apart; bursts between the outer two",
    )  # fmt: skip
    where.add_argument(
        "--plate", type=float, metavar="M",
        help="square plate of side M metres, sensors on a circle of radius 0.4 M",
    )  # fmt: skip
    group.add_argument("--wave-speed", type=float, default=5000.0, metavar="M/S",
                       help="wave speed (default 5000 m/s)")  # fmt: skip
    group.add_argument("--attenuation", type=float, default=20.0, metavar="DB/M",
                       help="amplitude loss along the path (default 20 dB/m)")  # fmt: skip
    group.add_argument(
        "--grip-rate", type=float, default=0.0, metavar="HZ",
        help="grip-noise sources per second, 1-10 cm beyond the outer sensors (line only)",
    )  # fmt: skip
    group.add_argument(
        "--break-at", action="append", default=[], metavar="X[,Y]",
        help="pencil-lead breaks at this position instead of random bursts; repeat: the "
        "recording is split into equal stretches, one per position",
    )  # fmt: skip


def geometry_from_args(args: argparse.Namespace, duration_s: float) -> SensorGeometry | None:
    """The geometry the options ask for, or None (the plain simulator)."""
    if args.sensor_spacing is None and args.plate is None:
        if args.break_at or args.grip_rate:
            raise ConfigError("--break-at and --grip-rate need --sensor-spacing or --plate")
        return None
    breaks = []
    for text in args.break_at:
        try:
            coords = tuple(float(v) for v in text.split(","))
        except ValueError:
            coords = ()
        if len(coords) not in (1, 2) or not all(math.isfinite(c) for c in coords):
            raise ConfigError(f"--break-at {text!r} is not X or X,Y in metres")
        breaks.append((coords[0], coords[1] if len(coords) == 2 else 0.0))
    options = {
        "wave_speed_m_s": args.wave_speed,
        "attenuation_db_per_m": args.attenuation,
        "grip_rate_hz": args.grip_rate,
        "breaks_m": tuple(breaks),
        "break_segment_s": duration_s / max(len(breaks), 1),
    }
    if args.sensor_spacing is not None:
        return SensorGeometry.linear(args.channels, args.sensor_spacing, **options)
    return SensorGeometry.plate(args.channels, args.plate, **options)


def location_config_of(geometry: SensorGeometry) -> LocationConfig:
    """The location config matching a simulated geometry."""
    sensors = tuple(Sensor(c, x, y) for c, (x, y) in enumerate(geometry.sensors_m))
    mode = "linear" if geometry.is_linear else "planar"
    return LocationConfig(sensors, geometry.wave_speed_m_s, mode=mode)


def side_files(out: Path, geometry: SensorGeometry | None) -> list[Path]:
    """The files written next to ``out`` for ``geometry`` (none without one)."""
    if geometry is None:
        return []
    stem = out.with_suffix("")
    names = [".location.toml", ".sources.csv"] + ([".breaks.csv"] if geometry.breaks_m else [])
    return [stem.with_name(stem.name + name) for name in names]


class SourceCsv:
    """Writes ``<stem>.sources.csv`` row by row."""

    def __init__(self, path: Path, sample_rate_hz: float) -> None:
        self.rate = sample_rate_hz
        self._file: IO[str] = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._file)
        self._writer.writerow(SOURCE_CSV_COLUMNS)

    def write(self, sources: Iterable[SourceTruth]) -> None:
        """Append ``sources``."""
        self._writer.writerows(
            [s.source_id, s.kind, f"{s.emission_sample / self.rate:.9f}",
             f"{s.emission_sample:.3f}", f"{s.x_m:.6f}", f"{s.y_m:.6f}", f"{s.snr_db:.3f}",
             s.first_channel]
            for s in sources
        )  # fmt: skip

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def write_layout_files(paths: list[Path], geometry: SensorGeometry, duration_s: float) -> None:
    """Write ``<stem>.location.toml`` and, with breaks, ``<stem>.breaks.csv``.

    Args:
        paths: Where to write them: :func:`side_files` of the output, or their partial names.
        geometry: The simulated geometry.
        duration_s: Length of the recording (s).
    """
    paths[0].write_text(location_config_toml(location_config_of(geometry)), encoding="utf-8")
    if geometry.breaks_m:
        with open(paths[2], "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["start_s", "stop_s", "x_m", "y_m"])
            seg = geometry.break_segment_s
            for k, (x, y) in enumerate(geometry.breaks_m):
                writer.writerow([f"{k * seg:.6f}", f"{min((k + 1) * seg, duration_s):.6f}", x, y])
