"""``aemon gui``: the live display and replay/labelling window (PySide6 + pyqtgraph)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from aemon.commands._checks import add_threshold_arguments, threshold_arguments
from aemon.errors import ConfigError, FileFormatError

logger = logging.getLogger(__name__)


_EXAMPLES = """\
examples:
  aemon gui tcp://127.0.0.1:5555
  aemon gui tcp://127.0.0.1:5555 --detector threshold --threshold-db 45
  aemon gui run.h5
  aemon gui run.h5 --events run.h5.events.csv
  aemon gui run.h5 --events run.clusters.csv
  aemon gui --attach tcp://127.0.0.1:5556 --display tcp://127.0.0.1:5557"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon gui``."""
    parser = subparsers.add_parser(
        "gui",
        help="live spectrogram/event display, replay and labelling window",
        description="Open the monitor window. With a SOURCE (tcp://…, sound:DEVICE) it starts "
        "'aemon monitor SOURCE' as a separate process and shows its signal and events: the "
        "window can freeze, be closed or crash without costing a sample. With an aemon .h5 "
        "recording it replays it (1×/N×, step, seek, re-detect, export) and lets you label "
        "events. --attach shows a monitor that is already running.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "target", nargs="?", metavar="SOURCE|FILE",
        help="tcp://…, sound:DEVICE (live) or an aemon .h5 recording (replay)",
    )  # fmt: skip
    parser.add_argument(
        "--attach", metavar="EVENTS_ENDPOINT",
        help="attach to a running monitor's --events-endpoint instead of starting one",
    )  # fmt: skip
    parser.add_argument(
        "--display", metavar="DISPLAY_ENDPOINT",
        help="with --attach: the monitor's --display-endpoint (raw feed for the spectrogram)",
    )  # fmt: skip
    parser.add_argument(
        "--detector", choices=("nn", "threshold", "cascade"), default="nn",
        help="detector of the monitor it starts (default nn)",
    )  # fmt: skip
    parser.add_argument(
        "--events", metavar="CSV|H5",
        help="replay: show the events of this event CSV (e.g. what `aemon detect` wrote) or "
        "clustered table (`aemon cluster`'s PREFIX.csv/.h5: its cluster column colours the "
        "trends) instead of the recording's /events",
    )  # fmt: skip
    parser.add_argument("--model", help="model directory for the monitor")
    add_threshold_arguments(parser)
    parser.add_argument("--quit-after", type=float, help=argparse.SUPPRESS)
    parser.set_defaults(func=run_gui)


def monitor_args(args: argparse.Namespace) -> list[str]:
    """The detector options as ``aemon monitor`` arguments."""
    extra = ["--detector", args.detector]
    if args.model:
        extra += ["--model", str(args.model)]
    return extra + threshold_arguments(args)


def check_target(target: str | None, events: str | None) -> None:
    """Refuse a SOURCE|FILE the window could not show, before it opens.

    A recording must be one (:class:`~aemon.io.recording_reader.RecordingReader` opens it);
    another file must be a source ``aemon monitor`` reads (WAV/FLAC; an event CSV is
    pointed to ``--events``); ``--events`` must exist.

    Raises:
        FileFormatError: A missing, unreadable or unknown file.
        ConfigError: ``--events`` without a recording.
    """
    from aemon.drivers.source_factory import source_kind

    is_recording = bool(target) and Path(str(target)).suffix.lower() in (".h5", ".hdf5")
    if events and not is_recording:
        raise ConfigError("--events is for replaying a recording; give FILE.h5 too")
    if events and not Path(events).is_file():
        raise FileFormatError(f"--events {events}: no such file; check the path")
    if not target or source_kind(target) != "file":
        return
    if Path(target).suffix.lower() == ".csv" and Path(target).is_file():
        raise FileFormatError(
            f"{target} is an event CSV, not a recording; show its events over their recording "
            f"with: aemon gui REC.h5 --events {target}"
        )
    if is_recording:
        from aemon.io.recording_reader import RecordingReader

        RecordingReader(target).close()
        return
    from aemon.io.file_readers import open_block_reader

    open_block_reader(target).close()


def run_gui(args: argparse.Namespace) -> int:
    """Run ``aemon gui``."""
    if args.target and args.attach:
        raise ConfigError("give either SOURCE|FILE or --attach, not both")
    check_target(args.target, args.events)
    try:
        from aemon.gui.app import display_problem, run_app
    except ImportError as exc:
        raise ConfigError(
            f"the GUI needs PySide6 and pyqtgraph ({exc.name} is missing); "
            "install them with: pip install 'aemon[gui]'"
        ) from None
    problem = display_problem()
    if problem is not None:
        raise ConfigError(problem)
    return run_app(
        args.target,
        events_endpoint=args.attach,
        display_endpoint=args.display,
        monitor_args=monitor_args(args),
        quit_after_s=args.quit_after,
        events_csv=args.events,
    )
