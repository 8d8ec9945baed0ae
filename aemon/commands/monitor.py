"""``aemon monitor`` (live detection on any source) and ``aemon demo`` (simulated DAQ + monitor)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from aemon import __version__
from aemon.commands.locate import add_location_arguments, location_from_args
from aemon.detect.options import DETECTORS, PROVIDER_CHOICES, DetectOptions
from aemon.drivers.open_source import add_source_arguments, source_from_args
from aemon.errors import ConfigError
from aemon.io.event_csv import EventCsvWriter
from aemon.io.event_publisher import EventPublisher
from aemon.io.recording import RecordingWriter
from aemon.io.truth import score_event_list

if TYPE_CHECKING:
    from aemon.events.event import Event
    from aemon.monitor import LiveMonitor, MonitorStatus

logger = logging.getLogger(__name__)

DEFAULT_EVENTS_ENDPOINT = "tcp://127.0.0.1:5556"


def _add_detector_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("detector")
    group.add_argument("--model", help="model directory (default: the shipped model for the rate)")
    group.add_argument(
        "--detector", choices=DETECTORS, default="nn",
        help="nn: neural map (default); threshold: conventional hits; cascade: hits confirmed "
        "by the network",
    )  # fmt: skip
    group.add_argument(
        "--threshold", type=float,
        help="nn: probability 0..1 (default: the model card's); threshold/cascade: dBAE",
    )  # fmt: skip
    group.add_argument(
        "--provider", choices=PROVIDER_CHOICES, default="auto",
        help="ONNX Runtime execution provider (default auto: CUDA if available)",
    )  # fmt: skip
    group.add_argument("--threads", type=int, help="inference threads (default: physical cores)")


def register_monitor(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon monitor``."""
    parser = subparsers.add_parser(
        "monitor",
        help="detect AE bursts live, record and publish events (headless)",
        description="Run the live detector on SOURCE (tcp://… DAQ feed, sound:DEVICE, or a "
        "file), optionally recording raw signal and events to HDF5, writing an event CSV and "
        "publishing events as JSON on a ZeroMQ PUB socket (schema: docs/events.md). Prints a "
        "live status line: rate, × real time, events, gaps, lag and latency. Stop with Ctrl-C.",
    )
    parser.add_argument("source", metavar="SOURCE")
    parser.add_argument("--out", "-o", type=Path, help="record raw signal and events to this .h5")
    parser.add_argument("--csv", type=Path, help="also write events to this CSV as they come")
    parser.add_argument("--duration", type=float, help="stop after this much signal (s)")
    parser.add_argument(
        "--events-endpoint", default=DEFAULT_EVENTS_ENDPOINT,
        help=f"PUB socket for events (default {DEFAULT_EVENTS_ENDPOINT}; 'none' to disable)",
    )  # fmt: skip
    parser.add_argument("--print-events", action="store_true", help="print each event")
    parser.add_argument("--overwrite", action="store_true", help="replace --out/--csv")
    parser.add_argument("--quiet", "-q", action="store_true", help="no live status line")
    parser.add_argument("--summary", type=Path, help="write a JSON summary here at the end")
    _add_detector_arguments(parser)
    add_location_arguments(parser)
    add_source_arguments(parser)
    parser.set_defaults(func=run_monitor)


def register_demo(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon demo``."""
    parser = subparsers.add_parser(
        "demo",
        help="simulated DAQ feeding the live monitor with the shipped model",
        description="Start the DAQ simulator (aemon daq-sim) on a free loopback port and run "
        "the live monitor on it with the shipped model. Prints events as they are detected "
        "and, at the end, how they compare with the simulator's ground truth.",
    )
    parser.add_argument("--headless", action="store_true", help="print events, no window")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds (default 30)")
    parser.add_argument("--channels", type=int, default=1, help="channels (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="simulator seed")
    parser.add_argument("--out", type=Path, help="also record the demo to this .h5")
    _add_detector_arguments(parser)
    parser.set_defaults(func=run_demo)


class _Printer:
    """Prints events (one line each) between status lines."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.lock = threading.Lock()

    def __call__(self, events: Sequence[Event]) -> None:
        if not self.enabled:
            return
        with self.lock:
            for e in events:
                print(
                    f"\r{e.time_s:12.6f} s  ch{e.channel + 1}  {e.type:<6} score {e.score:4.2f}"
                    f"  {e.amplitude_dBAE:5.1f} dBAE  {e.duration_us:7.1f} µs  "
                    f"{e.peak_freq_kHz:6.1f} kHz  [{e.detector}]",
                    flush=True,
                )


def run_monitor(args: argparse.Namespace) -> int:
    """Run ``aemon monitor``."""
    if args.duration is not None and args.duration <= 0:
        raise ConfigError(f"--duration must be positive, got {args.duration} s")
    for path in (args.out, args.csv):
        if path is not None and path.exists() and not args.overwrite:
            raise ConfigError(f"{path} already exists; choose another name or add --overwrite")
    from aemon.events.grouping import HitGrouper
    from aemon.monitor import LiveMonitor  # numba/onnxruntime: import only when running

    location = location_from_args(args)
    grouper = HitGrouper(location) if location is not None else None
    options = _detect_options(args)
    with _signals_stop() as stop, ExitStack() as stack:
        # Bind the event socket first: subscribers connect while we wait for the DAQ, and
        # PUB drops whatever is sent before a subscriber is connected.
        publisher = None
        if args.events_endpoint.lower() != "none":
            publisher = stack.enter_context(EventPublisher(args.events_endpoint))
        source = stack.enter_context(source_from_args(args.source, args, duration_s=args.duration))
        start = getattr(source, "start_time_utc", None) or datetime.now(UTC)
        writer = None
        if args.out is not None:
            writer = stack.enter_context(
                RecordingWriter(
                    args.out, source.format, source.channel_info, start_time_utc=start,
                    first_sample=source.first_sample, overwrite=args.overwrite,
                    config={"command": "monitor", "source": args.source, "argv": sys.argv,
                            "detector": options._asdict() | {"model": str(options.model)}},
                )
            )  # fmt: skip
        csv = stack.enter_context(EventCsvWriter(args.csv)) if args.csv else None
        monitor = LiveMonitor(
            source, options, writer=writer, publisher=publisher, csv=csv,
            on_events=_Printer(args.print_events), start_time_utc=start,
            grouper=grouper, only_located_inside=args.only_located_inside,
        )  # fmt: skip
        monitor.start()
        try:
            _run_until_done(monitor, stop, publisher, quiet=args.quiet)
        finally:
            monitor.stop()
        final = monitor.status()
    summary = final._asdict() | {"software_version": __version__}
    if args.summary is not None:
        args.summary.write_text(json.dumps(summary, indent=2, default=_json_default))
    print(("" if args.quiet else "\n") + final.line(), file=sys.stderr)
    return 0


def _detect_options(args: argparse.Namespace) -> DetectOptions:
    return DetectOptions(
        model=args.model,
        detector=args.detector,
        threshold=args.threshold,
        provider=args.provider,
        threads=args.threads,
    )


def _json_default(value: Any) -> Any:
    return None if isinstance(value, float) else str(value)


def _run_until_done(
    monitor: LiveMonitor,
    stop: threading.Event,
    publisher: EventPublisher | None,
    *,
    quiet: bool,
) -> MonitorStatus:
    last = 0.0
    status = monitor.status()
    while not stop.is_set():
        if monitor.wait(timeout=0.2):
            break
        now = time.monotonic()
        if now - last >= 1.0:
            status = monitor.status()
            if publisher is not None:
                publisher.publish_status(status._asdict())
            if not quiet:
                end = "" if sys.stderr.isatty() else "\n"
                print("\r" + status.line(), end=end, file=sys.stderr, flush=True)
            last = now
    return status


@contextmanager
def _signals_stop() -> Iterator[threading.Event]:
    """An event set by SIGINT/SIGTERM while the block runs (handlers restored after)."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _free_endpoint() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{sock.getsockname()[1]}"


def run_demo(args: argparse.Namespace) -> int:
    """Run ``aemon demo``: daq-sim in a child process, the monitor here."""
    if args.duration <= 0 or args.channels < 1:
        raise ConfigError("--duration must be positive and --channels at least 1")
    if not args.headless:
        print(
            "aemon demo: the GUI is not part of this installation yet; running headless.",
            file=sys.stderr,
        )
    endpoint = _free_endpoint()
    with tempfile.TemporaryDirectory(prefix="aemon-demo-") as tmp:
        truth_csv = Path(tmp) / "truth.csv"
        events_csv = Path(tmp) / "events.csv"
        daq = subprocess.Popen(
            [sys.executable, "-m", "aemon.cli", "daq-sim", "--endpoint", endpoint,
             "--channels", str(args.channels), "--duration", str(args.duration),
             "--seed", str(args.seed), "--truth", str(truth_csv)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            monitor_args = [
                "monitor", endpoint, "--duration", str(args.duration), "--csv", str(events_csv),
                "--events-endpoint", "tcp://127.0.0.1:*", "--print-events",
                "--detector", args.detector, "--provider", args.provider,
            ]  # fmt: skip
            for flag, value in (
                ("--model", args.model),
                ("--threshold", args.threshold),
                ("--threads", args.threads),
                ("--out", args.out),
            ):
                if value is not None:
                    monitor_args += [flag, str(value)]
            parser = argparse.ArgumentParser(prog="aemon")
            register_monitor(parser.add_subparsers())
            status = run_monitor(parser.parse_args(monitor_args))
        finally:
            daq.wait(timeout=30)
        if truth_csv.exists():
            print(score_event_list(events_csv, truth_csv).line(), file=sys.stderr)
    return status
