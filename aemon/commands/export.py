"""``aemon export``: events of a recording to CSV, Vallen pridb/tradb, or WAV files."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path
from typing import Any

from aemon.commands._features_from import check_features_from
from aemon.commands.replay import add_overwrite
from aemon.errors import ConfigError

logger = logging.getLogger(__name__)

_EPILOG = """\
Times are seconds since the start of the recording (suffixes s, ms, us, min, h allowed).
--channel takes the number in the CSV's channel column (0-based) or a channel name (ch2).
-o FILE picks the format by its suffix: .csv (--csv), .pridb (--pridb), or a directory
ending in / (--wav). Without --table: the live table "events", or when that is empty the
newest table that has events; the command says which.
examples:
  aemon export recordings/sim-1m5-250ms.h5 -o events.csv
  aemon export recordings/sim-1m5-250ms.h5 --csv events.csv --from 0.05s --to 0.2s
  aemon export recordings/sim-1m5-250ms.h5 --table thr45 --pridb hits.pridb --tradb hits.tradb
  aemon export recordings/sim-1m5-250ms.h5 --wav waves/ --pretrigger-us 100 --record-us 1000"""

_UNITS = {"": 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "min": 60.0, "h": 3600.0}


def parse_seconds(text: str) -> float:
    """``"10"``, ``"10s"``, ``"250ms"``, ``"2min"`` → seconds.

    Raises:
        ConfigError: Not a time.
    """
    match = re.fullmatch(r"\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zµ]*)\s*", text)
    if not match or match.group(2) not in _UNITS:
        raise ConfigError(f"{text!r} is not a time; write e.g. 10, 10s, 250ms or 2min")
    return float(match.group(1)) * _UNITS[match.group(2)]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``export`` subcommand."""
    p = subparsers.add_parser(
        "export",
        help="export a recording's events to CSV, Vallen pridb/tradb or one WAV per event",
        description="Write the events of one event table of an aemon .h5 recording, "
        "optionally limited to a time range, channel and type.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", type=Path, metavar="FILE.h5", help="aemon recording")
    p.add_argument(
        "-o", "--out", metavar="FILE",
        help="the output, its format by suffix: .csv, .pridb, or DIR/ for WAVs",
    )  # fmt: skip
    p.add_argument("--csv", type=Path, metavar="FILE", help="event CSV to write")
    p.add_argument("--pridb", type=Path, metavar="FILE", help="Vallen pridb (hits) to write")
    p.add_argument(
        "--tradb", type=Path, metavar="FILE", help="Vallen tradb (waveforms); needs --pridb"
    )
    p.add_argument("--wav", type=Path, metavar="DIR", help="directory for one WAV per event")
    p.add_argument(
        "--table", metavar="NAME",
        help="event table (default: events, the live one; if it is empty, the newest table)",
    )  # fmt: skip
    p.add_argument("--from", dest="start", metavar="T", help="first time (s since start)")
    p.add_argument("--to", dest="stop", metavar="T", help="end time, exclusive")
    p.add_argument("--channel", metavar="C", help="channel number (0-based) or name")
    p.add_argument("--type", metavar="T", help="event type, e.g. burst or hit")
    p.add_argument("--pretrigger-us", type=float, metavar="US", help="waveform before onset")
    p.add_argument("--record-us", type=float, metavar="US", help="waveform length")
    add_overwrite(p)
    from aemon.commands._features_from import add_features_from

    add_features_from(p)
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    """Run ``aemon export``; returns the exit status."""
    from aemon.io import recording_export as rx
    from aemon.io.recording_reader import RecordingReader

    if args.out is not None:
        _route_out(args)
    if not (args.csv or args.pridb or args.wav):
        raise ConfigError("nothing to export; give -o FILE, --csv FILE, --pridb FILE or --wav DIR")
    if args.features_from == "denoised" and not args.csv:
        raise ConfigError("--features-from denoised applies to --csv; add --csv FILE")
    check_features_from(args)
    if args.tradb and not args.pridb:
        raise ConfigError("--tradb holds the waveforms of --pridb hits; give --pridb too")
    with RecordingReader(args.input) as reader:
        names = [c.name for c in reader.channel_info]
    if args.table is None:
        args.table = default_table(args.input)
    event_filter = rx.EventFilter(
        None if args.start is None else parse_seconds(args.start),
        None if args.stop is None else parse_seconds(args.stop),
        None if args.channel is None else _channel(args.channel, names),
        args.type,
    )
    common = {"table": args.table, "event_filter": event_filter, "overwrite": args.overwrite}
    waves = {"pretrigger_us": args.pretrigger_us, "record_us": args.record_us}
    summaries = []
    if args.csv and args.features_from == "denoised":
        summaries.append(_export_denoised_csv(args, common))
    elif args.csv:
        summaries.append(rx.export_csv(args.input, args.csv, **common))
    if args.pridb:
        summaries.append(rx.export_vallen(args.input, args.pridb, args.tradb, **common, **waves))
    if args.wav:
        summaries.append(rx.export_wav(args.input, args.wav, **common, **waves))
    for summary in summaries:
        print(f"{summary.line()} (table {args.table or 'events'})")
    return 0


def _export_denoised_csv(args: argparse.Namespace, common: dict[str, Any]) -> Any:
    """``--csv`` with ``--features-from denoised`` (raw features as ``raw_*`` columns)."""
    from aemon.commands._features_from import denoise_features
    from aemon.commands._outputs import AtomicOutput
    from aemon.io import recording_export as rx

    with AtomicOutput(args.csv, overwrite=args.overwrite, flag="--csv") as output:
        summary = rx.export_csv(args.input, output.partial, **{**common, "overwrite": True})
        denoise_features(args, output.partial)
    return summary._replace(outputs=[str(args.csv)])


_OUT_FLAGS = {".csv": "csv", ".pridb": "pridb"}


def _route_out(args: argparse.Namespace) -> None:
    """``-o FILE``: set ``--csv``, ``--pridb`` or ``--wav`` from its suffix."""
    text = str(args.out)
    is_dir = text.endswith(("/", "\\")) or Path(text).is_dir()
    flag = "wav" if is_dir else _OUT_FLAGS.get(Path(text).suffix.lower())
    if flag is None:
        raise ConfigError(
            f"-o {text}: cannot tell the format; end it in .csv or .pridb, or in / for a "
            "directory of WAVs (or use --csv, --pridb, --wav)"
        )
    if getattr(args, flag) is not None:
        raise ConfigError(f"-o {text} and --{flag} both name the {flag} output; give one")
    setattr(args, flag, Path(text))


def default_table(recording: Path) -> str:
    """The table to export without ``--table``: the live ``events``, or when that is empty
    the newest table with events (said on stderr: a 0-event export is never silent)."""
    from aemon.io.event_tables import LIVE_TABLE, list_event_tables, open_tables

    with open_tables(recording) as f:
        tables = list_event_tables(f)
    live = next((t for t in tables if t.name == LIVE_TABLE), None)
    chosen = live
    if live is None or live.rows == 0:
        chosen = next((t for t in reversed(tables) if t.rows and t.name != LIVE_TABLE), live)
    if chosen is None:
        return LIVE_TABLE
    if chosen is not live:
        print(
            f"aemon export: the live table {LIVE_TABLE} is empty; exporting the newest table, "
            f"{chosen.name} ({chosen.rows} events)",
            file=sys.stderr,
        )
    return chosen.name


def _channel(text: str, names: list[str]) -> int:
    if text in names:
        return names.index(text)
    try:
        channel = int(text)
    except ValueError:
        channel = -1
    if not 0 <= channel < len(names):
        raise ConfigError(
            f"--channel {text}: the recording has channels 0..{len(names) - 1} ({', '.join(names)})"
        )
    return channel
