"""``aemon replay``: play a recording through the live detector into a new event table."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from aemon.commands._checks import (
    THRESHOLD_HELP,
    add_threshold_arguments,
    check_detector_flags,
    detect_options,
)
from aemon.commands.locate import add_location_arguments, location_from_args
from aemon.detect.options import DETECTORS
from aemon.errors import ConfigError
from aemon.io.file_readers import RAW_DTYPES
from aemon.onnx_sessions import PROVIDER_CHOICES

if TYPE_CHECKING:
    from aemon.detect.options import DetectOptions

logger = logging.getLogger(__name__)

_EPILOG = """\
An aemon .h5 recording gets a new named event table (its raw samples and earlier tables stay;
`aemon info FILE` lists the tables); any other file gets an event CSV.
--speed max gives the same events as `aemon detect` on the same file.
{threshold_help}
examples:
  aemon replay recordings/sim-1m5-250ms.h5 --detector threshold --table thr45 --threshold-db 45
  aemon replay recordings/sim-192k-2s.wav --speed 4 -o replay.csv
  aemon replay hits.tradb --detector threshold -o hits.csv"""


def add_overwrite(parser: argparse.ArgumentParser) -> None:
    """``--overwrite`` (alias ``--force``): replace an existing output."""
    parser.add_argument(
        "--overwrite",
        "--force",
        dest="overwrite",
        action="store_true",
        help="replace an existing output (alias --force)",
    )


def add_raw_options(parser: argparse.ArgumentParser) -> None:
    """Options that describe a raw or WAV/FLAC input."""
    parser.add_argument(
        "--rate", "--fs", dest="sample_rate_hz", type=float, metavar="HZ",
        help="sample rate of a raw file (Hz; --fs is an older name)",
    )  # fmt: skip
    parser.add_argument("--dtype", choices=sorted(RAW_DTYPES), help="sample type of a raw file")
    parser.add_argument("--channels", type=int, metavar="C", help="channels of a raw file")
    parser.add_argument(
        "--volts-per-count",
        type=float,
        metavar="V",
        help="V per sample unit (raw) or per full scale (WAV/FLAC); default 1",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``replay`` subcommand."""
    p = subparsers.add_parser(
        "replay",
        help="replay a recording through the live detector (1x, 4x or max speed)",
        description="Play an aemon .h5 recording, WAV/FLAC, raw or Vallen tradb file through "
        "the live detection pipeline, paced at the chosen speed.",
        epilog=_EPILOG.format(threshold_help=THRESHOLD_HELP),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", type=Path, metavar="FILE", help=".h5, .wav/.flac, raw or .tradb")
    p.add_argument(
        "--speed", default="max", metavar="S", help="1, 4 (× real time) or max (default)"
    )
    p.add_argument("--table", metavar="NAME", help=".h5: new table name (default replay-TIME)")
    p.add_argument("-o", "--out", type=Path, help="event CSV (default for non-.h5 inputs)")
    p.add_argument("--model", metavar="M", help="model directory or name (default: by rate)")
    p.add_argument("--detector", choices=DETECTORS, default="nn", help="default: nn")
    add_threshold_arguments(p)
    p.add_argument(
        "--x-noise", type=float, metavar="K", help="threshold/cascade: threshold = K × noise RMS"
    )
    add_raw_options(p)
    p.add_argument("--provider", choices=PROVIDER_CHOICES, default="auto", help="default: auto")
    p.add_argument("--threads", type=int, metavar="N", help="inference threads (default: cores)")
    add_overwrite(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_location_arguments(p)
    from aemon.commands._features_from import add_features_from

    add_features_from(p)
    p.set_defaults(func=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    """Run ``aemon replay``; returns the exit status."""
    from aemon.commands._features_from import check_features_from
    from aemon.detect.replay import parse_speed, replay_file  # heavy: only when run

    speed = parse_speed(args.speed)
    check_features_from(args)
    location = location_from_args(args)
    check_detector_flags(args)
    options = detect_options(args)
    if args.features_from == "denoised":
        return _replay_denoised(args, options, speed, location)
    summary = replay_file(
        args.input,
        options=options,
        speed=speed,
        table=args.table,
        out_csv=args.out,
        overwrite=args.overwrite,
        sample_rate_hz=args.sample_rate_hz,
        dtype=args.dtype,
        channels=args.channels,
        volts_per_count=args.volts_per_count,
        progress=not args.no_progress and sys.stderr.isatty(),
        location=location,
        only_inside=args.only_located_inside,
    )
    print(summary.line())
    return 0


def _replay_denoised(
    args: argparse.Namespace, options: DetectOptions, speed: float, location: object
) -> int:
    """``--features-from denoised``: replay into a CSV, then measure on the denoised signal."""
    from aemon.commands._features_from import denoise_features
    from aemon.commands._outputs import AtomicOutput
    from aemon.detect.replay import replay_file
    from aemon.io.file_readers import file_kind

    kind = "tradb" if args.input.suffix.lower() == ".tradb" else ""
    if not kind and args.input.is_file():
        kind = file_kind(str(args.input), raw_hint=args.dtype is not None)
    if kind == "tradb":
        raise ConfigError("--features-from denoised needs a continuous signal; import the tradb")
    if kind == "recording" and args.out is None:
        raise ConfigError(
            "--features-from denoised writes an event CSV, not a table; add -o FILE.csv"
        )
    out = args.out or args.input.with_name(args.input.name + ".replay.csv")
    with AtomicOutput(out, overwrite=args.overwrite) as output:
        summary = replay_file(
            args.input,
            options=options,
            speed=speed,
            out_csv=output.partial,
            overwrite=True,
            sample_rate_hz=args.sample_rate_hz,
            dtype=args.dtype,
            channels=args.channels,
            volts_per_count=args.volts_per_count,
            progress=not args.no_progress and sys.stderr.isatty(),
            location=location,  # type: ignore[arg-type]
            only_inside=args.only_located_inside,
        )
        denoise_features(args, output.partial)
    print(summary._replace(output=str(out)).line())
    return 0
