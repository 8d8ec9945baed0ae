"""``aemon similar``: the events that look most like one event of a recording."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from aemon.commands.cluster import add_table_arguments, load_table_and_truth

logger = logging.getLogger(__name__)

_EPILOG = """\
Event IDs are row numbers (0-based) of the events table: FILE.h5.events.csv when it exists
(what `aemon detect FILE.h5` writes), else --events CSV, else the recording's /events.
Spaces: features = L1 distance of the standardised AE feature vectors (amplitude, rise time,
counts, energy, peak frequency, centroid, partial powers); correlation = 1 - max |r| of the raw
waveforms around the onsets over ±20 µs lags. With simulator truth in the recording, each
neighbour's true burst type is shown.
examples:
  aemon detect test.h5
  aemon similar test.h5 --event 12
  aemon similar test.h5 --event 12 -k 5 --space correlation --json"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon similar``."""
    p = subparsers.add_parser(
        "similar",
        help="list the events most similar to one event (features or waveform correlation)",
        description=__doc__,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("recording", type=Path, metavar="FILE.h5", help="aemon HDF5 recording")
    p.add_argument("--event", type=int, required=True, metavar="ID", help="event ID (row)")
    p.add_argument("-k", type=int, default=20, metavar="N", help="neighbours (default 20)")
    add_table_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from aemon.similarity.analysis import similar_events

    table, truth = load_table_and_truth(args)
    neighbours = similar_events(table, args.event, args.k, args.space, args.embedding)
    rows = []
    for j, distance in neighbours:
        e = table.events[j]
        row = {
            "event": j,
            "distance": round(distance, 6),
            "time_s": e.time_s,
            "channel": e.channel,
            "type": e.type,
            "amplitude_dBAE": e.amplitude_dBAE,
            "peak_freq_kHz": e.peak_freq_kHz,
        }
        if truth is not None:
            row["true_type"] = truth[j]
        rows.append(row)
    true_type = truth[args.event] if truth is not None else None
    same = None
    if truth is not None:
        same = sum(truth[j] == true_type for j, _ in neighbours)
    if args.json:
        out = {"event": args.event, "space": args.space, "neighbours": rows}
        if truth is not None:
            out["true_type"] = true_type
            out["same_true_type"] = same
        print(json.dumps(out))
        return 0
    e = table.events[args.event]
    print(
        f"event {args.event}: t={e.time_s:.6f} s ch {e.channel} {e.type} "
        f"{e.amplitude_dBAE:.1f} dBAE {e.peak_freq_kHz:.0f} kHz"
        + (f" (true: {true_type})" if true_type is not None else "")
    )
    print(f"{'rank':>4} {'event':>6} {'distance':>10} {'time_s':>11} ch {'type':<8} dBAE   kHz")
    for rank, row in enumerate(rows, 1):
        print(
            f"{rank:>4} {row['event']:>6} {row['distance']:>10.4f} {row['time_s']:>11.6f} "
            f"{row['channel']:>2} {row['type']:<8} {row['amplitude_dBAE']:5.1f} "
            f"{row['peak_freq_kHz']:5.0f}" + (f"  {row['true_type']}" if truth is not None else "")
        )
    if same is not None:
        print(f"{same} of {len(rows)} neighbours share the event's true type ({true_type})")
    return 0
