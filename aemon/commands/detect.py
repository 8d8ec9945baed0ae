"""``aemon detect``: find the AE events in a file and write them to an event CSV."""

from __future__ import annotations

import argparse
import logging
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from aemon.commands._checks import (
    THRESHOLD_HELP,
    add_threshold_arguments,
    at_least,
    check_detector_flags,
    positive,
)
from aemon.commands._features_from import add_features_from, check_features_from, denoise_features
from aemon.commands._outputs import AtomicOutput
from aemon.commands.locate import add_location_arguments, location_from_args
from aemon.detect.options import BACKEND_CHOICES, DETECTORS
from aemon.errors import ConfigError, FileFormatError
from aemon.io.file_readers import RAW_DTYPES
from aemon.onnx_sessions import PROVIDER_CHOICES

if TYPE_CHECKING:
    from aemon.detect.offline import DetectSummary
    from aemon.events.grouping import HitGrouper
    from aemon.events.location_config import LocationConfig

logger = logging.getLogger(__name__)

_EPILOG = """\
detectors:
  nn         the neural detector: stitched probability map -> runs -> events (default)
  threshold  conventional hits: threshold, HDT, HLT, PDT (no model needed)
  cascade    threshold hits confirmed and classified by the network (one window per hit)
{threshold_help}
The CSV is written as OUT with .partial before its suffix and renamed when detection is done:
a failed run leaves an existing OUT untouched; Ctrl-C keeps what was found as OUT.partial.csv.
examples:
  aemon detect test.h5 -o events.csv
  aemon detect lab.wav -o events.csv --model models/aemon-rt-192k --probability 0.7
  aemon detect dump.raw --rate 1562500 --dtype int16 --channels 2 -o events.csv
  aemon detect hits.tradb --detector threshold --threshold-db 45 -o hits.csv
  aemon detect bar.h5 --location bar.location.toml --only-located-inside -o inside.csv"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``detect`` subcommand."""
    p = subparsers.add_parser(
        "detect",
        help="detect AE events in a recording, WAV/FLAC, raw or tradb file -> event CSV",
        description="Run the burst detector over a file with the live path's streaming "
        "detector (bounded memory whatever the file size) and write one CSV row per event.",
        epilog=_EPILOG.format(threshold_help=THRESHOLD_HELP),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", type=Path, metavar="INPUT", help=".h5, .wav/.flac, raw or .tradb")
    p.add_argument("-o", "--out", type=Path, help="event CSV to write (default: INPUT.events.csv)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it already exists")
    add_detection_arguments(p)
    p.add_argument(
        "--event-table", type=Path, metavar="CSV",
        help="with --location: also write one row per multi-channel event (docs/events.md)",
    )  # fmt: skip
    p.set_defaults(func=run_detect)


def add_detection_arguments(p: argparse.ArgumentParser) -> None:
    """The detector, input and location options of ``detect`` (``reanalyse`` takes them too)."""
    p.add_argument("--model", metavar="M", help="model directory or name (default: by rate)")
    p.add_argument("--detector", choices=DETECTORS, default="nn", help="default: nn")
    add_threshold_arguments(p)
    p.add_argument(
        "--x-noise", type=float, metavar="K", help="threshold/cascade: threshold = K × noise RMS"
    )
    p.add_argument(
        "--rate", "--fs", dest="sample_rate_hz", type=float, metavar="HZ",
        help="sample rate of a raw file (Hz; --fs is an older name)",
    )  # fmt: skip
    p.add_argument("--dtype", choices=sorted(RAW_DTYPES), help="sample type of a raw file")
    p.add_argument("--channels", type=int, metavar="C", help="channels of a raw file")
    p.add_argument(
        "--volts-per-count", type=float, metavar="V", help="V per sample unit (raw, WAV/FLAC)"
    )
    p.add_argument("--provider", choices=PROVIDER_CHOICES, default="auto", help="default: auto")
    p.add_argument(
        "--backend", choices=BACKEND_CHOICES, default="auto",
        help="inference runtime (default auto: torch on CUDA if there, else onnxruntime)",
    )  # fmt: skip
    p.add_argument("--threads", type=int, metavar="N", help="inference threads (default: cores)")
    p.add_argument(
        "--no-progress", action="store_true",
        help="no progress (default: a bar on a terminal, a plain line every 10 s otherwise)",
    )  # fmt: skip
    add_features_from(p)
    add_location_arguments(p)


def check_detection_arguments(args: argparse.Namespace) -> LocationConfig | None:
    """Check the options of :func:`add_detection_arguments`; returns the ``--location`` set-up.

    Raises:
        ConfigError: A value out of range or an option the detector does not use.
    """
    check_detector_flags(args)
    positive("--rate", args.sample_rate_hz, "Hz", "1562500")
    at_least("--channels", args.channels, 1, "2")
    positive("--volts-per-count", args.volts_per_count, "volts", "3.05e-6")
    check_features_from(args)
    return location_from_args(args)  # a bad location file fails before the heavy imports


def run_detect(args: argparse.Namespace) -> int:
    """Run ``aemon detect``; returns the exit status."""
    out = args.out or args.input.with_name(args.input.name + ".events.csv")
    if out.resolve() == args.input.resolve():
        raise ConfigError(f"--out {out} would overwrite the input; choose another file")
    if not args.input.is_file():
        raise FileFormatError(f"{args.input}: no such file; check the path")
    location = check_detection_arguments(args)
    table_path: Path | None = args.event_table
    if table_path is not None:
        if location is None:
            raise ConfigError("--event-table needs --location FILE; add it or drop --event-table")
        if table_path.resolve() in (out.resolve(), args.input.resolve()):
            raise ConfigError(f"--event-table {table_path} is the input or --out; choose another")
    from aemon.events.grouping import HitGrouper

    grouper = HitGrouper(location) if location is not None else None
    with ExitStack() as stack:
        output = stack.enter_context(
            AtomicOutput(out, overwrite=args.overwrite, keep_on_interrupt=True)
        )
        table = None
        if table_path is not None:
            table = stack.enter_context(
                AtomicOutput(table_path, overwrite=args.overwrite, flag="--event-table")
            )
        summary = _detect(args, output.partial, grouper)
        if args.features_from == "denoised":
            denoise_features(args, output.partial)
        if table is not None and grouper is not None:
            from aemon.io.located_events import write_located_events_csv

            rows = write_located_events_csv(table.partial, grouper.table)
    print(f"{summary.line()} -> {out}")
    if table is not None:
        print(f"{rows} multi-channel events -> {table.path}")
    return 0


def _detect(args: argparse.Namespace, out: Path, grouper: HitGrouper | None) -> DetectSummary:
    from aemon.detect.offline import detect_file  # heavy (numba, onnxruntime): only when run
    from aemon.gpu.backend import register_torch_backend

    register_torch_backend()  # --backend torch/auto; imports torch only if it is used

    return detect_file(
        args.input,
        out,
        model=args.model,
        detector=args.detector,
        probability=args.probability,
        threshold_db=args.threshold_db,
        x_noise=args.x_noise,
        sample_rate_hz=args.sample_rate_hz,
        dtype=args.dtype,
        channels=args.channels,
        volts_per_count=args.volts_per_count,
        provider=args.provider,
        threads=args.threads,
        progress=not args.no_progress,
        backend=args.backend,
        only_inside=args.only_located_inside,
        grouper=grouper,
    )
