"""Score an event list against ground truth (event-level precision, recall, F1, onset error).

A detected event matches a true burst on the same channel when its onset lies from 100 µs
before to 250 µs after the true onset (closest pairs first, one-to-one). The truth is a
simulator truth CSV (``aemon sim`` / ``aemon daq-sim --truth``) or the ``/truth`` table of a
recording; the events are an event CSV (``aemon detect``/``monitor``) or a recording's
``/events`` table.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from aemon.errors import FileFormatError
from aemon.io.event_csv import read_event_csv

if TYPE_CHECKING:
    from aemon.train.metrics import TrueEvent

logger = logging.getLogger(__name__)


class Score(NamedTuple):
    """Event-level result.

    Attributes:
        true_bursts: Bursts in the truth (within the scored span).
        detected: Events scored.
        precision: Matched events / detected.
        recall: Matched bursts / true bursts.
        f1: Harmonic mean of precision and recall.
        typed_f1: F1 when the event type must equal the burst type too.
        median_onset_error_us: Median |event onset − true onset| of matches (µs).
    """

    true_bursts: int
    detected: int
    precision: float
    recall: float
    f1: float
    typed_f1: float
    median_onset_error_us: float

    def line(self) -> str:
        """One line for terminals."""
        return (
            f"vs ground truth: {self.detected} events, {self.true_bursts} true bursts: "
            f"precision {self.precision:.4f} recall {self.recall:.4f} F1 {self.f1:.4f} "
            f"(typed F1 {self.typed_f1:.4f}), median onset error "
            f"{self.median_onset_error_us:.1f} µs"
        )


def read_truth(path: str | os.PathLike[str]) -> tuple[list[TrueEvent], list[str], float | None]:
    """Read true bursts from a truth CSV or a recording's ``/truth``.

    Returns:
        (bursts, type names by label index, sample rate in Hz if the file says).
    """
    from aemon.train.metrics import TrueEvent

    path = Path(path)
    if path.suffix.lower() in (".h5", ".hdf5"):
        from aemon.io.recording import RecordingReader

        with RecordingReader(path) as reader:
            rows = reader.truth()
            rate: float | None = reader.format.sample_rate_hz
            names = [t.decode() if isinstance(t, bytes) else str(t) for t in rows["burst_type"]]
            types = sorted(set(names))
            return (
                [
                    TrueEvent(int(r["onset_sample"]), int(r["end_sample"]), types.index(n),
                              int(r["channel"]))
                    for r, n in zip(rows, names, strict=True)
                ],
                types,
                rate,
            )  # fmt: skip
    try:
        with open(path, newline="", encoding="utf-8") as f:
            table = list(csv.DictReader(f))
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot read truth CSV ({exc.strerror})") from exc
    needed = {"sample_index", "channel", "type"}
    if table and not needed <= set(table[0]):
        raise FileFormatError(
            f"{path}: truth CSV needs columns {', '.join(sorted(needed))}; "
            f"got {', '.join(table[0])}"
        )
    types = sorted({row["type"] for row in table})
    bursts = [
        TrueEvent(
            int(row["sample_index"]),
            int(row.get("end_sample") or row["sample_index"]),
            types.index(row["type"]),
            int(row["channel"]),
        )
        for row in table
    ]
    # A truth CSV's time_s is sample_index / rate (sample indices count from 0).
    rate = next(
        (int(r["sample_index"]) / float(r["time_s"]) for r in table
         if "time_s" in r and float(r["time_s"]) > 0),
        None,
    )  # fmt: skip
    return bursts, types, rate


def score_event_list(
    events_path: str | os.PathLike[str],
    truth_path: str | os.PathLike[str],
    sample_rate_hz: float | None = None,
) -> Score:
    """Score an event CSV (or recording) against a truth CSV (or recording).

    Only bursts whose onset lies before the last sample the events cover are counted when
    the events come from a recording shorter than the truth.
    """
    from aemon.train.metrics import DetectedEvent, event_metrics, match_events

    truth, types, truth_rate = read_truth(truth_path)
    events_path = Path(events_path)
    if events_path.suffix.lower() in (".h5", ".hdf5"):
        from aemon.io.event_csv import array_to_events
        from aemon.io.recording import RecordingReader

        with RecordingReader(events_path) as reader:
            events = array_to_events(reader.events(), reader.info.start_time_utc)
            sample_rate_hz = sample_rate_hz or reader.format.sample_rate_hz
    else:
        events = read_event_csv(events_path)
    rate = sample_rate_hz or truth_rate
    if rate is None:
        raise FileFormatError(f"{truth_path}: cannot tell the sample rate; give --rate HZ")
    detected = [
        DetectedEvent(e.sample_index, e.sample_index, types.index(e.type) if e.type in types
                      else -1, e.score, e.channel)
        for e in events
    ]  # fmt: skip
    untyped = event_metrics(match_events(detected, truth, rate, typed=False))
    typed = event_metrics(match_events(detected, truth, rate, typed=True))
    return Score(
        true_bursts=len(truth),
        detected=len(detected),
        precision=untyped["precision"],
        recall=untyped["recall"],
        f1=untyped["f1"],
        typed_f1=typed["f1"],
        median_onset_error_us=untyped["median_onset_error_us"],
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon score``."""
    parser = subparsers.add_parser(
        "score",
        help="compare detected events with ground truth (precision, recall, F1)",
        description=__doc__.splitlines()[0] if __doc__ else None,
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
