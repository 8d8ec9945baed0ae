"""``aemon score``: event-level precision, recall and F1 of an event list against ground truth."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from aemon.commands._checks import positive
from aemon.errors import FileFormatError

_EXAMPLES = """\
examples:
  aemon score events.csv test.h5                  # truth from the recording's /truth
  aemon score run.h5 truth.csv                    # events from a recording's /events
  aemon score events.csv truth.csv --rate 192000 --json

A truth CSV needs the columns sample_index and type (channel: 0 if missing; end_sample
and time_s optional). With no events, precision is undefined (nan) and F1 is 0."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon score``."""
    parser = subparsers.add_parser(
        "score",
        help="compare detected events with ground truth (precision, recall, F1)",
        description=__doc__,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("events", type=Path, metavar="EVENTS", help="event CSV or recording")
    parser.add_argument("truth", type=Path, metavar="TRUTH", help="truth CSV or recording")
    parser.add_argument(
        "--rate", type=float, metavar="HZ", help="sample rate (Hz) if neither file says"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    positive("--rate", args.rate, "Hz", "1562500")
    for path in (args.events, args.truth):
        if not path.is_file():
            raise FileFormatError(f"{path}: no such file; check the path")
    from aemon.io.truth import score_event_list  # vallenae, openae: only when run

    score = score_event_list(args.events, args.truth, args.rate)
    print(json.dumps(score._asdict()) if args.json else score.line())
    return 0
