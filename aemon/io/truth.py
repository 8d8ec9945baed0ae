"""Score event files against ground-truth files (``aemon score``).

The truth is a simulator truth CSV (``aemon sim`` / ``aemon daq-sim --truth``) or the
``/truth`` table of a recording; the events are an event CSV (``aemon detect``/``monitor``) or
a recording's ``/events`` table. Matching follows :mod:`aemon.events.scoring`.
"""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path

from aemon.errors import FileFormatError
from aemon.events.scoring import DetectedEvent, Score, TrueEvent, event_metrics, match_events
from aemon.io.event_csv import read_event_csv

logger = logging.getLogger(__name__)


def read_truth(path: str | os.PathLike[str]) -> tuple[list[TrueEvent], list[str], float | None]:
    """Read true bursts from a truth CSV or a recording's ``/truth``.

    Returns:
        (bursts, type names by label index, sample rate in Hz if the file says).
    """

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
