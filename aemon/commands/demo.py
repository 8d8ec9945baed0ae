"""``aemon demo``: the DAQ simulator in a child process feeding the live monitor here."""

from __future__ import annotations

import argparse
import logging
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from aemon.commands._checks import at_least, positive, threshold_arguments
from aemon.commands._live import DEFAULT_IDLE_TIMEOUT_S, DEFAULT_STALL_S
from aemon.commands.monitor import add_detector_arguments, check_monitor_arguments, run_monitor

logger = logging.getLogger(__name__)

CHILD_EXIT_S = 2.0
"""How long the demo waits for its daq-sim to end before terminating it (s)."""

_EXAMPLES = """\
examples:
  aemon demo --headless --duration 10
  aemon demo --headless -o demo.h5 --overwrite
  aemon demo --headless --channels 2 --detector threshold --threshold-db 45"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon demo``."""
    parser = subparsers.add_parser(
        "demo",
        help="simulated DAQ feeding the live monitor with the shipped model",
        description="Start the DAQ simulator (aemon daq-sim) on a free loopback port and run "
        "the live monitor on it with the shipped model. Prints events as they are detected "
        "and, at the end, how they compare with the simulator's ground truth. The simulator "
        "ends with the demo, however the demo ends.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--headless", action="store_true", help="print events, no window")
    parser.add_argument(
        "--duration", type=float, default=30.0, metavar="S", help="seconds (default 30)"
    )
    parser.add_argument("--channels", type=int, default=1, metavar="N", help="channels (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="simulator seed (default 0)")
    parser.add_argument("-o", "--out", type=Path, help="also record the demo to this .h5")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    add_detector_arguments(parser)
    parser.set_defaults(func=run_demo)


def _free_endpoint() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{sock.getsockname()[1]}"


def _monitor_args(args: argparse.Namespace, endpoint: str, events_csv: Path) -> argparse.Namespace:
    """The arguments ``aemon monitor`` would parse for this demo."""
    return argparse.Namespace(
        source=endpoint, out=args.out, csv=events_csv, overwrite=args.overwrite,
        duration=args.duration, events_endpoint="tcp://127.0.0.1:*", print_events=True,
        quiet=False, summary=None, ring_seconds=4.0, stall_warning=DEFAULT_STALL_S,
        idle_timeout=DEFAULT_IDLE_TIMEOUT_S, model=args.model, detector=args.detector,
        threshold=args.threshold, x_noise=args.x_noise, probability=args.probability,
        threshold_db=args.threshold_db,
        provider=args.provider, backend=args.backend, threads=args.threads, rate=None,
        channels=None, dtype=None, volts_per_count=None, realtime=None, start=None,
        device_blocksize=None, pattern=None, wait_s=30.0, internal_csv=True,
        location=None, only_located_inside=False,
    )  # fmt: skip


def end_child(child: subprocess.Popen[bytes], grace_s: float = CHILD_EXIT_S) -> int:
    """Let a child process end by itself for ``grace_s``, then terminate, then kill it."""
    for step in (None, child.terminate, child.kill):
        if step is not None:
            step()
        try:
            return child.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            continue
    return child.wait()


def run_demo(args: argparse.Namespace) -> int:
    """Run ``aemon demo``: daq-sim in a child process, the monitor here."""
    positive("--duration", args.duration, "seconds", "30")
    at_least("--channels", args.channels, 1, "1")
    if not args.headless:
        reason = _gui_unavailable()
        if reason is None:
            return _run_demo_gui(args)
        print(f"aemon demo: {reason}; running headless (--headless).", file=sys.stderr)
    endpoint = _free_endpoint()
    with tempfile.TemporaryDirectory(prefix="aemon-demo-") as tmp:
        truth_csv = Path(tmp) / "truth.csv"
        events_csv = Path(tmp) / "events.csv"
        monitor_args = _monitor_args(args, endpoint, events_csv)
        check_monitor_arguments(monitor_args)  # refuse bad options before starting anything
        daq = subprocess.Popen(
            [sys.executable, "-m", "aemon.cli", "daq-sim", "--endpoint", endpoint,
             "--channels", str(args.channels), "--duration", str(args.duration),
             "--seed", str(args.seed), "--truth", str(truth_csv)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            status = run_monitor(monitor_args)
        finally:
            end_child(daq)
        if truth_csv.exists() and events_csv.exists():
            from aemon.io.truth import score_event_list

            print(score_event_list(events_csv, truth_csv).line(), file=sys.stderr)
    return status


def _gui_unavailable() -> str | None:
    """Why the demo cannot open its window (no display, no Qt), or None when it can."""
    try:
        from aemon.gui.app import has_display, platform_problem
    except ImportError:
        return "the GUI needs PySide6 and pyqtgraph (pip install 'aemon[gui]')"
    if not has_display():
        return "no display (DISPLAY/WAYLAND_DISPLAY unset)"
    return platform_problem()


def _run_demo_gui(args: argparse.Namespace) -> int:
    """daq-sim in a child process, shown by the window (which runs ``aemon monitor`` as its
    own child process)."""
    from aemon.gui.app import run_app

    endpoint = _free_endpoint()
    with tempfile.TemporaryDirectory(prefix="aemon-demo-") as tmp:  # refuse bad options first
        check_monitor_arguments(_monitor_args(args, endpoint, Path(tmp) / "events.csv"))
    daq = subprocess.Popen(
        [sys.executable, "-m", "aemon.cli", "daq-sim", "--endpoint", endpoint,
         "--channels", str(args.channels), "--duration", str(args.duration),
         "--seed", str(args.seed)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    extra = ["--detector", args.detector, "--provider", args.provider]
    extra += ["--duration", str(args.duration)]
    for flag, value in (("--model", args.model), ("--threads", args.threads)):
        if value is not None:
            extra += [flag, str(value)]
    extra += threshold_arguments(args)
    if args.out is not None:
        extra += ["--out", str(args.out)] + (["--overwrite"] if args.overwrite else [])
    try:
        return run_app(endpoint, monitor_args=extra, quit_after_s=args.duration + 15.0)
    finally:
        end_child(daq)
