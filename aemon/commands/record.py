"""``aemon record``: acquire from any source into an HDF5 recording, losslessly."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from aemon import __version__
from aemon.drivers.open_source import add_source_arguments, source_from_args
from aemon.errors import ConfigError
from aemon.io.recording import RecordingWriter
from aemon.stream.acquisition import Acquisition

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``record`` subcommand."""
    parser = subparsers.add_parser(
        "record",
        help="record a source (ZeroMQ DAQ feed, soundcard or file) to HDF5",
        description="Record raw samples, gaps and metadata from SOURCE into an HDF5 file that "
        "can be read while it is written (SWMR). SOURCE is a ZeroMQ endpoint (tcp://HOST:PORT), "
        "sound:DEVICE (name or index, see `aemon devices`), or a recording/WAV/FLAC/raw file. "
        "Stop with Ctrl-C; the file is closed cleanly.",
    )
    parser.add_argument("source", metavar="SOURCE", help="tcp://…, sound:DEVICE, or a file path")
    parser.add_argument("--out", "-o", required=True, type=Path, help="output .h5 file")
    parser.add_argument(
        "--duration", type=float, default=None, help="stop after this much signal (s)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace --out if it already exists"
    )
    parser.add_argument(
        "--compression",
        choices=["blosc-lz4", "gzip", "none"],
        default="blosc-lz4",
        help="compression filter for raw samples (default: blosc-lz4, fast)",
    )
    parser.add_argument(
        "--ring-seconds", type=float, default=4.0, help="ring buffer length (s, default 4)"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no live status line")
    add_source_arguments(parser)
    parser.set_defaults(func=run_record)


def run_record(args: argparse.Namespace) -> int:
    """Run ``aemon record``; returns the exit status."""
    if args.duration is not None and args.duration <= 0:
        raise ConfigError(f"--duration must be positive, got {args.duration} s")
    if args.out.exists() and not args.overwrite:
        raise ConfigError(f"{args.out} already exists; choose another --out or add --overwrite")
    stop_requested = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with source_from_args(args.source, args, duration_s=args.duration) as source:
            config = {
                "command": "record",
                "source": args.source,
                "duration_s": args.duration,
                "ring_seconds": args.ring_seconds,
                "argv": sys.argv,
            }
            writer = RecordingWriter(
                args.out,
                source.format,
                source.channel_info,
                start_time_utc=getattr(source, "start_time_utc", None) or datetime.now(UTC),
                first_sample=source.first_sample,
                config=config,
                compression=args.compression,
                overwrite=args.overwrite,
            )
            with writer:
                acquisition = Acquisition(source, writer, ring_seconds=args.ring_seconds)
                acquisition.start()
                try:
                    _wait_with_status(acquisition, stop_requested, quiet=args.quiet)
                finally:
                    acquisition.stop()
                final = acquisition.status()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    summary = {
        "out": str(args.out),
        "samples": final.recorded,
        "gaps": final.gaps,
        "samples_lost": final.samples_lost,
        "malformed_frames": final.malformed,
        "wall_s": round(final.elapsed_s, 3),
        "software_version": __version__,
    }
    print(json.dumps(summary) if args.quiet else _summary_text(summary), file=sys.stderr)
    return 0


def _wait_with_status(acquisition: Acquisition, stop: threading.Event, *, quiet: bool) -> None:
    interactive = sys.stderr.isatty() and not quiet
    last_print = 0.0
    while not stop.is_set():
        if acquisition.wait(timeout=0.2):
            break
        now = time.monotonic()
        if interactive and now - last_print >= 0.5:
            print("\r" + acquisition.status().line(), end="", file=sys.stderr, flush=True)
            last_print = now
        elif not quiet and not interactive and now - last_print >= 10.0:
            logger.info(acquisition.status().line())
            last_print = now
    if interactive:
        print(file=sys.stderr)


def _summary_text(summary: dict[str, object]) -> str:
    return (
        f"recorded {summary['samples']} samples/channel to {summary['out']} in "
        f"{summary['wall_s']} s; gaps {summary['gaps']} ({summary['samples_lost']} samples "
        f"lost), malformed frames {summary['malformed_frames']}"
    )
