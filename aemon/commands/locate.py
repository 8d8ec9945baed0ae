"""``--location FILE`` / ``--only-located-inside`` for detect, replay and monitor, and
``aemon locate-calibrate``: fit the wave speed from pencil-lead breaks at known positions."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import logging
import math
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from aemon.commands._checks import add_threshold_arguments, check_detector_flags
from aemon.commands._outputs import AtomicOutput, check_output
from aemon.detect.options import DETECTORS
from aemon.errors import ConfigError, FileFormatError
from aemon.events.location_config import (
    LocationConfig,
    load_location_config,
    location_config_toml,
)

if TYPE_CHECKING:
    from aemon.events.wave_speed import KnownPosition

logger = logging.getLogger(__name__)


def add_location_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--location FILE`` and ``--only-located-inside`` to a command."""
    group = parser.add_argument_group("source location (docs/events.md)")
    group.add_argument(
        "--location", type=Path, metavar="FILE",
        help="location TOML (sensor positions, wave speed, mode): group the hits of all "
        "channels into events and locate them (columns event_id, x_m, y_m, location_*)",
    )  # fmt: skip
    group.add_argument(
        "--only-located-inside", action="store_true",
        help="with --location: keep only hits of events located inside the gauge region",
    )  # fmt: skip


def location_from_args(args: argparse.Namespace) -> LocationConfig | None:
    """The location config named by ``--location`` (None without it).

    Raises:
        ConfigError: ``--only-located-inside`` without ``--location``, or a bad file.
    """
    if args.location is None:
        if args.only_located_inside:
            raise ConfigError("--only-located-inside needs --location FILE")
        return None
    return load_location_config(args.location)


def parse_at(text: str) -> KnownPosition:
    """``X[,Y]@START:STOP`` (m, s) → :class:`KnownPosition`."""
    from aemon.events.wave_speed import KnownPosition

    try:
        where, when = text.split("@")
        start, stop = (float(v) for v in when.split(":"))
        coords = [float(v) for v in where.split(",")]
        if len(coords) not in (1, 2) or not start < stop:
            raise ValueError
    except ValueError:
        raise ConfigError(
            f"--at {text!r} is not X[,Y]@START:STOP, e.g. 0.05@0:10 (m, seconds)"
        ) from None
    return KnownPosition(start, stop, *coords)


def read_positions(path: Path) -> list[KnownPosition]:
    """A CSV with columns ``start_s,stop_s,x_m[,y_m]`` → known positions."""
    from aemon.events.wave_speed import KnownPosition

    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        return [
            KnownPosition(float(r["start_s"]), float(r["stop_s"]), float(r["x_m"]),
                          float(r.get("y_m") or 0.0))
            for r in rows
        ]  # fmt: skip
    except OSError as exc:
        raise ConfigError(f"cannot read positions file {path}: {exc.strerror}") from None
    except (KeyError, ValueError, TypeError):
        raise ConfigError(
            f"{path}: positions CSV needs columns start_s,stop_s,x_m[,y_m] with numbers"
        ) from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon locate-calibrate``."""
    p = subparsers.add_parser(
        "locate-calibrate",
        help="fit the wave speed from pencil-lead breaks at known positions",
        description="Detect the hits in INPUT, group them into events with the sensor "
        "layout of --location, take the events inside each known stretch (breaks made at a "
        "known position), fit the wave speed to their arrival-time differences (least "
        "squares on the slowness, outliers beyond 3 median deviations dropped) and report "
        "the location error at each position with the fitted speed.",
        epilog="examples:\n"
        "  aemon locate-calibrate plb.h5 --location bar.toml --at 0.05@0:10 --at 0.15@10:20\n"
        "  aemon locate-calibrate plb.h5 --location plate.toml --positions breaks.csv "
        "--write plate-fitted.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", type=Path, metavar="INPUT", help="recording with the breaks")
    p.add_argument("--location", type=Path, required=True, metavar="FILE", help="layout TOML")
    p.add_argument(
        "--at", action="append", default=[], metavar="X[,Y]@START:STOP",
        help="breaks at X (m) [and Y] between START and STOP (s); repeat per position",
    )  # fmt: skip
    p.add_argument("--positions", type=Path, metavar="CSV", help="start_s,stop_s,x_m[,y_m]")
    p.add_argument("--detector", choices=DETECTORS, default="threshold", help="default threshold")
    add_threshold_arguments(p)
    p.add_argument("--model", metavar="M", help="model for nn / cascade")
    p.add_argument("--write", type=Path, metavar="FILE", help="write the TOML with the fit")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --write FILE")
    p.set_defaults(func=run_calibrate)


def _x_noise(args: argparse.Namespace) -> float | None:
    """Threshold hits at 6 × the noise RMS unless --threshold-db is given (breaks are loud)."""
    return 6.0 if args.detector != "nn" and args.threshold_db is None else None


def run_calibrate(args: argparse.Namespace) -> int:
    """Run ``aemon locate-calibrate``."""
    from aemon.detect.offline import detect_file  # heavy: only when run
    from aemon.events.grouping import HitGrouper
    from aemon.events.wave_speed import fit_wave_speed, wave_speed_table

    if not args.input.is_file():
        raise FileFormatError(f"{args.input}: no such file; check the path")
    check_detector_flags(args)
    if args.write is not None:
        check_output(args.write, overwrite=args.overwrite, flag="--write")
    config = load_location_config(args.location)
    positions = [parse_at(a) for a in args.at]
    if args.positions is not None:
        positions += read_positions(args.positions)
    if not positions:
        raise ConfigError("give the break positions with --at X@START:STOP or --positions CSV")
    with tempfile.TemporaryDirectory(prefix="aemon-calibrate-") as tmp:
        grouper = HitGrouper(config)  # cross-correlated arrivals, as detect --location
        detect_file(
            args.input, Path(tmp) / "hits.csv", model=args.model, detector=args.detector,
            probability=args.probability, threshold_db=args.threshold_db, x_noise=_x_noise(args),
            progress=sys.stderr.isatty(), grouper=grouper,
        )  # fmt: skip
    result = fit_wave_speed(grouper.table, config, positions)
    print(wave_speed_table(result, config))
    if args.write is not None:
        fitted = dataclasses.replace(config, wave_speed_m_s=result.wave_speed_m_s)
        with AtomicOutput(args.write, overwrite=args.overwrite, flag="--write") as output:
            output.partial.write_text(location_config_toml(fitted), encoding="utf-8")
        print(f"wrote {args.write}")
    return 0 if math.isfinite(result.wave_speed_m_s) else 1
