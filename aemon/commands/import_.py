"""``aemon import``: WAV/FLAC, raw, Vallen tradb/pridb or MISTRAS DTA → an aemon recording."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from aemon.commands.replay import add_overwrite, add_raw_options

logger = logging.getLogger(__name__)

_EPILOG = """\
The time base and the scale stay: 16-bit WAV and int16 raw stay counts with their V/count;
Vallen and MISTRAS transient records are placed at their own times (time between records is
a gap) and listed in the event table "records"; a Vallen pridb's hits become table "pridb".
examples:
  aemon import recordings/sim-192k-2s.wav --out sim.h5 --volts-per-count 1
  aemon import recordings/sim-1m5-hits.tradb --out hits.h5
  aemon import dump.raw --rate 1562500 --dtype int16 --channels 2 \\
      --volts-per-count 3.05e-4 --out dump.h5
  aemon import test.DTA --out test.h5"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``import`` subcommand."""
    p = subparsers.add_parser(
        "import",
        help="convert WAV/FLAC, raw, Vallen tradb/pridb or MISTRAS DTA into an aemon .h5",
        description="Convert a file into an aemon HDF5 recording, keeping the time base and "
        "the scale (V per count).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "input", type=Path, metavar="INPUT", help=".wav/.flac, raw, .tradb, .pridb, .DTA"
    )
    p.add_argument("-o", "--out", type=Path, required=True, metavar="FILE.h5", help="recording")
    add_raw_options(p)
    p.add_argument("--pridb", type=Path, metavar="FILE", help="Vallen hits (default: beside tradb)")
    p.add_argument(
        "--start-utc", metavar="TIME",
        help="UTC of the first sample (ISO 8601); without it a WAV/FLAC or raw file's start "
        "is unknown (the recording's utc columns stay empty)",
    )  # fmt: skip
    p.add_argument(
        "--compression", choices=("blosc-lz4", "gzip", "none"), default="blosc-lz4",
        help="raw compression (default blosc-lz4)",
    )  # fmt: skip
    add_overwrite(p)
    p.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    """Run ``aemon import``; returns the exit status."""
    from aemon.io.import_ import import_file

    summary = import_file(
        args.input,
        args.out,
        overwrite=args.overwrite,
        sample_rate_hz=args.sample_rate_hz,
        dtype=args.dtype,
        channels=args.channels,
        volts_per_count=args.volts_per_count,
        pridb=args.pridb,
        start_time_utc=args.start_utc,
        compression=args.compression,
    )
    print(summary.line())
    return 0
