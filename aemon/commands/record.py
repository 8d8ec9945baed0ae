"""``aemon record``: acquire from any source into an HDF5 recording, losslessly."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aemon import __version__
from aemon.commands._checks import positive
from aemon.commands._live import (
    ENDED_BY_SOURCE,
    ENDED_IDLE,
    Fields,
    StatusPrinter,
    add_heartbeat_arguments,
    check_heartbeat_arguments,
    run_live,
    stop_on_signals,
)
from aemon.commands._outputs import AtomicOutput
from aemon.drivers.source_factory import add_source_arguments, source_from_args, source_kind

if TYPE_CHECKING:
    from aemon.stream.acquisition import Acquisition, AcquisitionStatus

logger = logging.getLogger(__name__)

_EXAMPLES = """\
examples:
  aemon record tcp://127.0.0.1:5555 -o run.h5                  # DAQ feed until Ctrl-C
  aemon record tcp://daq:5555 -o run.h5 --duration 3600 --idle-timeout 120
  aemon record sound:USB -o lab.h5 --rate 192000 --channels 2
  aemon record old.h5 -o copy.h5 --overwrite                   # re-record a file"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``record`` subcommand."""
    parser = subparsers.add_parser(
        "record",
        help="record a source (ZeroMQ DAQ feed, soundcard or file) to HDF5",
        description="Record raw samples, gaps and metadata from SOURCE into an HDF5 file. "
        "SOURCE is a ZeroMQ endpoint (tcp://HOST:PORT), sound:DEVICE (name or index, see "
        "`aemon devices`), or a recording/WAV/FLAC/raw file. While recording, the file is "
        "OUT with .partial before its suffix (readable with `aemon info`); it gets its name "
        "when the recording ends. Stop with Ctrl-C (or SIGTERM/SIGHUP): the file is closed "
        "cleanly and a summary printed.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", metavar="SOURCE", help="tcp://…, sound:DEVICE, or a file path")
    parser.add_argument("-o", "--out", required=True, type=Path, help="output .h5 file")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it already exists")
    parser.add_argument(
        "--duration", type=float, metavar="S", help="stop after this much signal (s)"
    )
    parser.add_argument(
        "--compression",
        choices=["blosc-lz4", "gzip", "none"],
        default="blosc-lz4",
        help="compression filter for raw samples (default: blosc-lz4, fast)",
    )
    parser.add_argument(
        "--ring-seconds", type=float, default=4.0, metavar="S",
        help="ring buffer length (s, default 4)",
    )  # fmt: skip
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no status line; the summary as JSON"
    )
    add_heartbeat_arguments(parser)
    add_source_arguments(parser)
    parser.set_defaults(func=run_record)


def run_record(args: argparse.Namespace) -> int:
    """Run ``aemon record``; returns the exit status."""
    positive("--duration", args.duration, "seconds", "60")
    positive("--ring-seconds", args.ring_seconds, "seconds", "4")
    check_heartbeat_arguments(args)
    from aemon.stream.acquisition import Acquisition  # h5py: only when run

    acquisition: Acquisition | None = None

    def recorded_anything() -> bool:
        return acquisition is not None and acquisition.status().recorded > 0

    printer = StatusPrinter(quiet=args.quiet)
    live = source_kind(args.source) != "file"
    with AtomicOutput(
        args.out, overwrite=args.overwrite, keep_if=recorded_anything, protect_partial=True
    ) as output:
        announce_wait(args, printer)
        with source_from_args(args.source, args, duration_s=args.duration) as source:
            config = {
                "command": "record",
                "source": args.source,
                "duration_s": args.duration,
                "ring_seconds": args.ring_seconds,
                "idle_timeout_s": args.idle_timeout,
                "argv": sys.argv,
            }
            from aemon.io.recording import RecordingWriter

            with RecordingWriter(
                output.partial,
                source.format,
                source.channel_info,
                start_time_utc=getattr(source, "start_time_utc", None) or datetime.now(UTC),
                first_sample=source.first_sample,
                config=config,
                compression=args.compression,
            ) as writer, stop_on_signals() as stop:  # fmt: skip
                acquisition = Acquisition(source, writer, ring_seconds=args.ring_seconds)
                acquisition.start()
                try:
                    ended = run_live(
                        acquisition.wait,
                        lambda: _snapshot(acquisition),
                        stop,
                        printer,
                        live=live,
                        stall_s=args.stall_warning,
                        idle_timeout_s=args.idle_timeout,
                    )
                    if ended == ENDED_IDLE:
                        writer.note("idle", -1, -1, f"no data for {args.idle_timeout:g} s: ended")
                finally:
                    printer.close()
                    acquisition.stop()
                final = acquisition.status()
    summary = {
        "out": str(args.out),
        "samples": final.stored,
        "seconds": round(final.stored / source.format.sample_rate_hz, 6),
        "gaps": final.gaps,
        "samples_lost": final.samples_lost,
        "malformed_frames": final.malformed,
        "rejected_per_reason": final.rejected,
        "restarts": final.restarts,
        "wall_s": round(final.elapsed_s, 3),
        "ended": ended,
        "software_version": __version__,
    }
    print(json.dumps(summary) if args.quiet else _summary_text(summary), file=sys.stderr)
    return 0


def announce_wait(args: argparse.Namespace, printer: StatusPrinter) -> None:
    """Say that a network source is being waited for (it can take ``--wait`` seconds)."""
    if source_kind(args.source) == "zmq":
        wait = 10.0 if getattr(args, "wait_s", None) is None else args.wait_s
        printer.message(f"aemon: waiting up to {wait:g} s for the first frame from {args.source}")


def status_fields(status: AcquisitionStatus, rate_hz: float) -> Fields:
    """Status fields of a recording, most important first (see :func:`fit_fields`)."""
    return [
        (0, f"{status.elapsed_s:6.0f} s"),
        (0, f"recorded {status.stored / rate_hz:9.1f} s"),
        (1, f"{status.realtime_factor:4.2f}× rt"),
        (1, f"gaps {status.gaps} ({status.samples_lost} lost)"),
        (2, f"bad frames {status.malformed}"),
        (3, f"lag {status.lag_s * 1e3:5.0f} ms"),
        (4, f"{status.rate_hz / 1e6:.4f} MS/s/ch"),
    ]


def _snapshot(acquisition: Acquisition) -> tuple[int, list[tuple[int, str]]]:
    status = acquisition.status()
    return status.samples, list(status_fields(status, acquisition.source.format.sample_rate_hz))


def _summary_text(summary: dict[str, object]) -> str:
    ended = "" if summary["ended"] == ENDED_BY_SOURCE else f" ({summary['ended']})"
    return (
        f"recorded {summary['seconds']} s ({summary['samples']} samples/channel) to "
        f"{summary['out']} in {summary['wall_s']} s{ended}; gaps {summary['gaps']} "
        f"({summary['samples_lost']} samples lost), malformed frames "
        f"{summary['malformed_frames']}"
        + (f" ({summary['rejected_per_reason']})" if summary["rejected_per_reason"] else "")
    )
