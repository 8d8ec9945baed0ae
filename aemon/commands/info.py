"""``aemon info FILE``: summarise a recording (also one that is still being written)."""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from aemon.gui.labels import count_labels
from aemon.io.event_tables import list_event_tables, open_tables
from aemon.io.recording_reader import RecordingReader
from aemon.io.writer_lock import is_being_written

logger = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add the ``info`` subcommand to the ``aemon`` command line."""
    parser = subparsers.add_parser(
        "info",
        help="summarise an aemon HDF5 recording",
        description="Show sample rate, channels, length, gaps, events and whether the "
        "recording was closed cleanly. Works on files that are still being written (a "
        "recording in progress is named NAME.partial.h5).",
        epilog="examples:\n  aemon info run.h5\n  aemon info run.partial.h5   # while recording\n"
        "  aemon info run.h5 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="recording (.h5) written by aemon")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the summary of ``args.file``; FileFormatError propagates to the CLI."""
    summary = describe(args.file)
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        print(format_text(summary))
    return 0


def describe(path: str) -> dict[str, Any]:
    """Collect the summary of the recording at ``path`` as a JSON-ready dict."""
    with RecordingReader(path) as reader:
        info = reader.info
        channels = reader.channel_info
        version = reader.format_version
        incidents = [
            {"start_sample": i[0], "stop_sample": i[1], "unix_s": i[2], "kind": i[3],
             "detail": i[4]}
            for i in reader.incidents()
        ]  # fmt: skip
    with open_tables(path) as f:
        tables = [t._asdict() for t in list_event_tables(f)]
        labels = count_labels(f)
    being_written = is_being_written(path)
    return {
        "path": info.path,
        "format_version": version,
        "sample_rate": info.sample_rate_hz,
        "channels": info.channels,
        "channel_names": [c.name for c in channels],
        "channel_info": [c._asdict() for c in channels],
        "samples": info.samples,
        "duration_s": info.duration_s,
        "dtype": info.dtype,
        "volts_per_count": list(info.volts_per_count),
        "first_sample": info.first_sample,
        "gaps": info.gaps,
        "samples_lost": info.samples_lost,
        "events": info.events,
        "truth_bursts": info.truth_bursts,
        "closed_cleanly": info.closed_cleanly,
        "start_time_utc": info.start_time_utc,
        "software_version": info.software_version,
        "compression": info.compression,
        "event_tables": tables,
        "labels": labels,
        "state": info.state,
        "being_written": being_written,
        "incidents": incidents,
    }


def format_text(summary: dict[str, Any]) -> str:
    """Render ``summary`` (from :func:`describe`) as an aligned, human-readable table."""
    rate = summary["sample_rate"]
    lost_s = summary["samples_lost"] / rate
    closed = {
        1: "yes",
        2: "NO: closed early after an error (see incidents)",
        3: "NO: repaired after the writer was killed (see incidents)",
    }.get(
        summary.get("state", 1 if summary["closed_cleanly"] else 0),
        "NO: being written (an aemon process holds it open and closes it when it ends)"
        if summary.get("being_written")
        else f"NO: the writer stopped without closing it (killed?); run `aemon repair "
        f"{summary['path']}` so any HDF5 reader can open it",
    )
    rows = [
        ("file", summary["path"]),
        ("start (UTC)", summary["start_time_utc"] or "unknown (e.g. an imported WAV)"),
        ("sample rate", f"{rate:,.0f} Hz"),
        ("channels", f"{summary['channels']} ({summary['dtype']})"),
        (
            "samples",
            f"{summary['samples']:,} per channel (first index {summary['first_sample']:,})",
        ),
        ("duration", _format_duration(summary["duration_s"])),
        ("gaps", f"{summary['gaps']} ({summary['samples_lost']:,} samples, {lost_s:.6g} s lost)"),
        ("events", f"{summary['events']:,}"),
        ("truth bursts", f"{summary['truth_bursts']:,}"),
        ("closed cleanly", closed),
        ("compression", summary["compression"]),
        ("written by", f"aemon {summary['software_version']}"),
    ]
    lines = [f"{key:<15}{value}" for key, value in rows]
    for incident in summary.get("incidents", []):
        lines.append(f"{'incident':<15}{incident['kind']}: {incident['detail']}")
    lines.append("")
    lines.append(f"  {'#':>3}  {'name':<12}{'sensor':<16}{'gain dB':>8}  {'V/count':>11}")
    for i, ch in enumerate(summary["channel_info"]):
        lines.append(
            f"  {i:>3}  {ch['name']:<12}{ch['sensor']:<16}{ch['gain_db']:>8.1f}  "
            f"{ch['volts_per_count']:>11.4g}"
        )
    lines += _table_lines(summary.get("event_tables", []))
    labels = summary.get("labels") or {}
    if labels:
        counts = ", ".join(f"{n:,} {action}" for action, n in labels.items())
        lines += ["", f"  {'labels':<24}{sum(labels.values()):>8,}  ({counts}; aemon gui)"]
    return "\n".join(lines)


def _table_lines(tables: list[dict[str, Any]]) -> list[str]:
    """Event tables: name, rows, detector, model, threshold, when made."""
    if not tables:
        return []
    lines = ["", f"  {'event table':<24}{'events':>8}  {'detector':<14}{'model':<16}threshold"]
    for t in tables:
        threshold = "default" if t["threshold"] is None else f"{t['threshold']:g}"
        lines.append(
            f"  {t['name']:<24}{t['rows']:>8,}  {t['detector'] or '-':<14}"
            f"{t['model'] or '-':<16}{threshold}  {t['created_utc'][:19]}"
        )
    return lines


def _format_duration(seconds: float) -> str:
    """``12.345 s`` below a minute, else ``1 h 02 min 03.4 s`` style."""
    if seconds < 60:
        return f"{seconds:.6g} s"
    minutes, sec = divmod(seconds, 60.0)
    hours, minutes = divmod(int(minutes), 60)
    head = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    return f"{head} {sec:04.1f} s ({seconds:,.1f} s)"
