"""``aemon score``: event-level precision, recall and F1 of an event list against ground truth."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from aemon.io.truth import score_event_list


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon score``."""
    parser = subparsers.add_parser(
        "score",
        help="compare detected events with ground truth (precision, recall, F1)",
        description=__doc__,
    )
    parser.add_argument("events", type=Path, help="event CSV or recording with /events")
    parser.add_argument("truth", type=Path, help="truth CSV or recording with /truth")
    parser.add_argument("--rate", type=float, help="sample rate (Hz) if neither file says")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    score = score_event_list(args.events, args.truth, args.rate)
    print(json.dumps(score._asdict()) if args.json else score.line())
    return 0
