"""``aemon monitor``: live detection on any source, recording and publishing events."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aemon import __version__
from aemon.commands._checks import (
    THRESHOLD_HELP,
    add_threshold_arguments,
    check_detector_flags,
    detect_options,
    positive,
)
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
from aemon.commands._monitor_csv import CSV_STOPPED, MonitorCsv
from aemon.commands._outputs import AtomicOutput, check_output, write_text_atomic
from aemon.commands._publisher_keys import add_curve_arguments, check_curve_arguments, curve_files
from aemon.commands.locate import add_location_arguments, location_from_args
from aemon.commands.record import announce_wait
from aemon.detect.options import BACKEND_CHOICES, DETECTORS
from aemon.drivers.source_factory import add_source_arguments, source_from_args, source_kind
from aemon.errors import AemonError
from aemon.onnx_sessions import PROVIDER_CHOICES

if TYPE_CHECKING:
    from aemon.events.hit import Hit
    from aemon.monitor import LiveMonitor, MonitorStatus

logger = logging.getLogger(__name__)

DEFAULT_EVENTS_ENDPOINT = "tcp://127.0.0.1:5556"

_EXAMPLES = """\
examples:
  aemon monitor tcp://127.0.0.1:5555 -o run.h5 --csv run.events.csv
  aemon monitor tcp://daq:5555 --print-events --events-endpoint none
  aemon monitor sound: --rate 192000 --detector threshold --threshold-db 45
  aemon monitor old.h5 --realtime --print-events      # replay a recording live"""


def add_detector_arguments(parser: argparse.ArgumentParser) -> None:
    """The detector options of ``monitor``, ``demo`` (and the same names in ``detect``)."""
    group = parser.add_argument_group("detector")
    group.add_argument(
        "--model", metavar="M", help="model directory or name (default: the shipped model for "
        "the sample rate)",
    )  # fmt: skip
    group.add_argument(
        "--detector", choices=DETECTORS, default="nn",
        help="nn: neural map (default); threshold: conventional hits; cascade: hits confirmed "
        "by the network",
    )  # fmt: skip
    add_threshold_arguments(group)
    group.add_argument(
        "--x-noise", type=float, metavar="K",
        help="threshold/cascade: hit threshold = K × noise RMS instead of --threshold-db",
    )  # fmt: skip
    group.add_argument(
        "--provider", choices=PROVIDER_CHOICES, default="auto",
        help="device: auto (CUDA if available), cpu or cuda",
    )  # fmt: skip
    group.add_argument(
        "--backend", choices=BACKEND_CHOICES, default="auto",
        help="inference runtime (default auto: torch on CUDA if there, else onnxruntime)",
    )  # fmt: skip
    group.add_argument(
        "--threads", type=int, metavar="N", help="inference threads (default: physical cores)"
    )
    group.add_argument(
        "--learn-background", type=float, default=0.0, metavar="S",
        help="nn: learn the classifier's decision (or the threshold) from the first S seconds "
        "(machine running, no cracks yet; events are withheld meanwhile); see aemon calibrate",
    )  # fmt: skip
    group.add_argument(
        "--fa-per-min", type=float, default=1.0, metavar="RATE",
        help="false alarms per minute that --learn-background aims for (default 1)",
    )  # fmt: skip


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon monitor``."""
    parser = subparsers.add_parser(
        "monitor",
        help="detect AE bursts live, record and publish events (headless)",
        description="Run the live detector on SOURCE (tcp://… DAQ feed, sound:DEVICE, or a "
        "file), optionally recording raw signal and events to HDF5, writing an event CSV and "
        "publishing events as JSON on a ZeroMQ PUB socket (schema: docs/events.md). Prints a "
        "status line (elapsed, events, × real time, gaps, lag, latency) and a summary at the "
        "end. Stop with Ctrl-C, SIGTERM or SIGHUP: files are closed cleanly.",
        epilog=f"{THRESHOLD_HELP}\n{_EXAMPLES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", metavar="SOURCE", help="tcp://…, sound:DEVICE, or a file path")
    parser.add_argument("-o", "--out", type=Path, help="record raw signal and events to this .h5")
    parser.add_argument("--csv", type=Path, help="also write events to this CSV as they come")
    parser.add_argument("--overwrite", action="store_true", help="replace --out/--csv/--summary")
    parser.add_argument("--duration", type=float, metavar="S", help="stop after this much signal")
    parser.add_argument(
        "--events-endpoint", default=DEFAULT_EVENTS_ENDPOINT, metavar="ENDPOINT",
        help=f"PUB socket for events (default {DEFAULT_EVENTS_ENDPOINT}; 'none' to disable)",
    )  # fmt: skip
    parser.add_argument(
        "--display-endpoint", default="none", metavar="ENDPOINT",
        help="PUB socket with a lossy raw-sample feed for 'aemon gui' (default none)",
    )  # fmt: skip
    parser.add_argument("--print-events", action="store_true", help="print each event")
    parser.add_argument("-q", "--quiet", action="store_true", help="no live status line")
    parser.add_argument("--summary", type=Path, help="write a JSON summary here at the end")
    parser.add_argument(
        "--ring-seconds", type=float, default=4.0, metavar="S",
        help="ring buffer length (s, default 4)",
    )  # fmt: skip
    parser.add_argument(
        "--on-disk-full", choices=("stop", "continue-detecting"), default="stop",
        help="when an output (--out, --csv) cannot be written (disk full, I/O error): stop "
        "(default), or close that output and go on detecting and publishing. A failed --csv "
        "never stops a running --out recording (it holds every event). The error names the "
        "file, the summary is still written, and the exit status is 2",
    )  # fmt: skip
    add_curve_arguments(parser)
    add_heartbeat_arguments(parser)
    add_detector_arguments(parser)
    add_location_arguments(parser)
    add_source_arguments(parser)
    parser.set_defaults(func=run_monitor)


class _Printer:
    """Prints events (one line each) between status lines."""

    def __init__(self, enabled: bool, status: StatusPrinter) -> None:
        self.enabled = enabled
        self.status = status
        self.lock = threading.Lock()

    def __call__(self, events: Sequence[Hit]) -> None:
        if not self.enabled:
            return
        with self.lock:
            self.status.clear()
            for e in events:
                print(
                    f"{e.time_s:12.6f} s  ch{e.channel + 1}  {e.type:<6} score {e.score:4.2f}"
                    f"  {e.amplitude_dBAE:5.1f} dBAE  {e.duration_us:7.1f} µs  "
                    f"{e.peak_freq_kHz:6.1f} kHz  [{e.detector}]",
                    flush=True,
                )


def check_monitor_arguments(args: argparse.Namespace) -> None:
    """Everything about the arguments that can be refused before anything starts."""
    positive("--duration", args.duration, "seconds", "60")
    positive("--ring-seconds", args.ring_seconds, "seconds", "4")
    check_heartbeat_arguments(args)
    check_detector_flags(args)
    check_curve_arguments(args)
    for flag, path in (("--out", args.out), ("--csv", args.csv), ("--summary", args.summary)):
        if path is not None:
            check_output(path, overwrite=args.overwrite, flag=flag)


def run_monitor(args: argparse.Namespace) -> int:
    """Run ``aemon monitor``; returns the exit status."""
    check_monitor_arguments(args)
    location = location_from_args(args)
    from aemon.events.grouping import HitGrouper
    from aemon.gpu.backend import register_torch_backend
    from aemon.io.event_publisher import EventPublisher
    from aemon.io.recording import RecordingWriter
    from aemon.monitor import LiveMonitor  # numba/onnxruntime: import only when running

    register_torch_backend()  # --backend torch/auto; imports torch only if it is used
    grouper = HitGrouper(location) if location is not None else None
    options = detect_options(args)
    printer = StatusPrinter(quiet=args.quiet)
    monitor: LiveMonitor | None = None

    def has_samples() -> bool:
        return monitor is not None and monitor.status().samples > 0

    with ExitStack() as stack:
        outputs = [
            stack.enter_context(
                AtomicOutput(path, overwrite=args.overwrite, flag=flag, keep_if=has_samples,
                             protect_partial=flag == "--out")
            ) if path is not None else None
            for flag, path in (("--out", args.out), ("--csv", args.csv))
        ]  # fmt: skip
        # Bind the event socket first: subscribers connect while we wait for the DAQ, and
        # PUB drops whatever is sent before a subscriber is connected.
        publisher = None
        if args.events_endpoint.lower() != "none":
            key, clients = curve_files(args, "events")
            publisher = stack.enter_context(
                EventPublisher(args.events_endpoint, curve_key=key, curve_clients=clients)
            )
        # Enter the CSV before the recording: the recording's last flush goes first.
        csv = None
        if outputs[1] is not None:
            csv = MonitorCsv(outputs[1].partial, _disk_full_policy(args), printer)
            stack.callback(csv.close)
        announce_wait(args, printer)
        source = stack.enter_context(source_from_args(args.source, args, duration_s=args.duration))
        start = getattr(source, "start_time_utc", None) or datetime.now(UTC)
        writer = None
        if outputs[0] is not None:
            writer = stack.enter_context(
                RecordingWriter(
                    outputs[0].partial, source.format, source.channel_info, start_time_utc=start,
                    first_sample=source.first_sample,
                    config={"command": "monitor", "source": args.source, "argv": sys.argv,
                            "idle_timeout_s": args.idle_timeout,
                            "detector": options._asdict() | {"model": str(options.model)}},
                )
            )  # fmt: skip
        display = _display_publisher(args, source, stack)
        monitor = LiveMonitor(
            source, options, writer=writer, publisher=publisher,
            csv=csv.csv if csv is not None else None,
            on_events=_Printer(args.print_events, printer), start_time_utc=start,
            ring_seconds=args.ring_seconds,
            learn_background_s=getattr(args, "learn_background", 0.0),
            fa_per_min=getattr(args, "fa_per_min", 1.0),
            on_recorder_error=_recorder_policy(args),
            display=display,
            grouper=grouper, only_located_inside=args.only_located_inside,
        )  # fmt: skip
        live_monitor = monitor
        stop = stack.enter_context(stop_on_signals())
        if csv is not None:
            csv.attach(writer, stop)
        error: AemonError | None = None
        monitor.start()
        try:
            ended = run_live(
                monitor.wait,
                lambda: _snapshot(live_monitor),
                stop,
                printer,
                live=source_kind(args.source) != "file",
                stall_s=args.stall_warning,
                idle_timeout_s=args.idle_timeout,
                on_status=(lambda: publisher.publish_status(live_monitor.status()._asdict()))
                if publisher is not None
                else None,
            )
            if ended == ENDED_IDLE and writer is not None:
                writer.note("idle", -1, -1, f"no data for {args.idle_timeout:g} s: ended")
        except AemonError as exc:  # the recorder or detector failed: the run ended in order
            error, ended = exc, "error"
        finally:
            printer.close()
            try:
                monitor.stop()
            except AemonError as exc:
                error, ended = error or exc, "error"
        csv_error = None
        if csv is not None and csv.failure is not None and outputs[1] is not None:
            ended = CSV_STOPPED if csv.stopped_run else ended
            held = f"; every event is in {args.out}" if writer is not None and not error else ""
            csv_error = AemonError(csv.failure + held)
            outputs[1].incomplete = True  # the CSV keeps its .partial name
        _finish(args, monitor.status(), ended, error or csv_error)
        if error is not None:
            raise error  # every output keeps its .partial name
    if csv_error is not None:
        raise csv_error  # after --out got its name: the recording is complete
    return 0


def _finish(
    args: argparse.Namespace, final: MonitorStatus, ended: str, error: AemonError | None
) -> None:
    """Write the ``--summary`` JSON and print the end-of-run summary, also after an error."""
    summary = final._asdict() | {
        "received_s": received_s(final),
        "ended": ended,
        "error": None if error is None else str(error),
        "software_version": __version__,
    }
    if args.summary is not None:
        write_text_atomic(args.summary, json.dumps(summary, indent=2, default=_json_default))
    shown_csv = None if getattr(args, "internal_csv", False) else args.csv
    print(summary_text(final, ended, args.out, shown_csv), file=sys.stderr)


def _json_default(value: Any) -> Any:
    return None if isinstance(value, float) else str(value)


def status_fields(status: MonitorStatus) -> Fields:
    """Status fields of the monitor, most important first (see :func:`fit_fields`)."""
    warming_up = status.warmup_s != status.warmup_s  # NaN: detection has not caught up yet
    fields: list[tuple[int, str]] = [
        (0, f"{status.elapsed_s:6.0f} s"),
        (0, f"events {status.events:5d}"),
        (1, f"{status.recent_realtime_factor:4.2f}× rt (10 s)".replace("nan", " –")),
        (1, f"gaps {status.gaps} ({status.samples_lost} lost)"),
        (2, ("warming up, " if warming_up else "") + f"lag {status.detect_lag_s * 1e3:5.0f} ms"),
    ]
    if status.latency_p50_ms == status.latency_p50_ms:  # not NaN
        p50, p99 = status.latency_p50_ms, status.latency_p99_ms
        fields.append((3, f"latency p50/p99 {p50:.0f}/{p99:.0f} ms"))
    fields.append((4, f"{status.rate_hz / 1e6:.4f} MS/s/ch"))
    return fields


def _snapshot(monitor: LiveMonitor) -> tuple[int, list[tuple[int, str]]]:
    status = monitor.status()
    return status.samples, list(status_fields(status))


def received_s(status: MonitorStatus) -> float:
    """Signal received (s): the sample indices reached minus the gaps, so a jump of the
    DAQ's index does not count as signal."""
    if status.samples <= 0:
        return 0.0
    span_s = status.realtime_factor * status.elapsed_s
    return span_s * (status.samples - status.samples_lost) / status.samples


def summary_text(status: MonitorStatus, ended: str, out: Path | None, csv: Path | None) -> str:
    """The final summary of a monitor run (one line)."""
    seconds = received_s(status)
    files = ", ".join(str(p) for p in (out, csv) if p is not None)
    latency = (
        f", latency p50 {status.latency_p50_ms:.1f} ms p99 {status.latency_p99_ms:.1f} ms"
        if status.latency_p50_ms == status.latency_p50_ms
        else ""
    )
    if status.warmup_s == status.warmup_s:  # the steady state above, the warm-up apart
        worst = status.warmup_latency_max_ms
        latency += f" after a {status.warmup_s:.1f} s warm-up" + (
            f" (latency up to {worst:.0f} ms in it)" if worst == worst else ""
        )
    return (
        f"monitor: {status.events} events in {seconds:.1f} s of signal ({status.elapsed_s:.1f} s "
        f"wall, {status.realtime_factor:.2f}× real time); gaps {status.gaps} "
        f"({status.samples_lost} samples lost), bad frames {status.malformed}{latency}"
        + ("" if ended == ENDED_BY_SOURCE else f"; ended: {ended}")
        + (f" -> {files}" if files else "")
    )


def _disk_full_policy(args: argparse.Namespace) -> str:
    """``--on-disk-full`` (``demo`` has no flag: ``"stop"``)."""
    return str(getattr(args, "on_disk_full", "stop"))


def _recorder_policy(args: argparse.Namespace) -> str:
    """``Acquisition``'s ``on_recorder_error`` for ``--on-disk-full``."""
    return "continue" if _disk_full_policy(args) == "continue-detecting" else "stop"


def _display_publisher(args: argparse.Namespace, source: Any, stack: ExitStack) -> Any:
    """The lossy raw-sample PUB for ``aemon gui`` (``--display-endpoint``), or None."""
    endpoint = getattr(args, "display_endpoint", "none") or "none"
    if endpoint.lower() == "none":
        return None
    from aemon.io.display_publisher import DisplayPublisher

    volts = [c.volts_per_count / 10 ** (c.gain_db / 20) for c in source.channel_info]
    key, clients = curve_files(args, "display")
    rate, first = source.format.sample_rate_hz, source.first_sample
    feed = DisplayPublisher(endpoint, rate, first, volts, curve_key=key, curve_clients=clients)
    return stack.enter_context(feed)
