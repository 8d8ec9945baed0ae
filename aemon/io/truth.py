"""Ground-truth files: the truth CSV, and scoring event files against truth (``aemon score``).

The truth is a simulator truth CSV (``aemon sim`` / ``aemon daq-sim --truth``, columns
:data:`TRUTH_CSV_COLUMNS` from :class:`aemon.events.records.TruthRow`) or the ``/truth`` table
of a recording; the events are an event CSV (``aemon detect``/``monitor``) or a recording's
``/events`` table. Matching follows :mod:`aemon.events.scoring`.
"""

from __future__ import annotations

import csv
import logging
import os
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from aemon.errors import FileFormatError
from aemon.events.hit import Hit
from aemon.events.records import TruthRow, format_cell, record_columns
from aemon.events.scoring import DetectedEvent, Score, TrueEvent, event_metrics, match_events
from aemon.io.event_csv import read_event_csv
from aemon.io.schema import decode_text

logger = logging.getLogger(__name__)

TRUTH_CSV_COLUMNS: list[str] = list(TruthRow._fields)
"""Header of the truth CSV, in column order."""
_COLUMNS = list(record_columns(TruthRow).values())


def truth_csv_cells(row: TruthRow) -> list[str]:
    """The cells of one truth CSV row."""
    return [format_cell(column, value) for column, value in zip(_COLUMNS, row, strict=True)]


def truth_row(burst: Any, sample_rate_hz: float, first_sample: int = 0) -> TruthRow:
    """A true burst as a :class:`TruthRow`.

    Args:
        burst: A ``/truth`` table row (:data:`aemon.io.schema.TRUTH_DTYPE`) or an object with
            those attributes (:class:`aemon.sim.simulator.BurstTruth`, whose ``type_name`` is
            the class name).
        sample_rate_hz: Sample rate (Hz), for ``time_s``.
        first_sample: The sample index ``time_s`` counts from.
    """
    if isinstance(burst, np.void):
        get: Any = burst.__getitem__
        kind = decode_text(burst["burst_type"])
    else:
        get = partial(getattr, burst)
        kind = str(getattr(burst, "type_name", burst.burst_type))
    onset = int(get("onset_sample"))
    return TruthRow(
        time_s=(onset - first_sample) / sample_rate_hz,
        sample_index=onset,
        channel=int(get("channel")),
        type=kind,
        snr_db=float(get("snr_db")),
        end_sample=int(get("end_sample")),
        peak_amplitude_V=float(get("peak_amplitude_v")),
    )


def read_truth(path: str | os.PathLike[str]) -> tuple[list[TrueEvent], list[str], float | None]:
    """Read true bursts from a truth CSV or a recording's ``/truth``.

    Returns:
        (bursts, type names by label index, sample rate in Hz if the file says).
    """

    path = Path(path)
    if path.suffix.lower() in (".h5", ".hdf5"):
        from aemon.io.recording import RecordingReader

        with RecordingReader(path) as reader:
            rate: float | None = reader.format.sample_rate_hz
            rows = [truth_row(r, reader.format.sample_rate_hz) for r in reader.truth()]
        types = sorted({r.type for r in rows})
        bursts = [
            TrueEvent(r.sample_index, r.end_sample, types.index(r.type), r.channel) for r in rows
        ]
        return bursts, types, rate
    try:
        with open(path, newline="", encoding="utf-8") as f:
            dict_reader = csv.DictReader(f)
            table = list(dict_reader)
            columns = list(dict_reader.fieldnames or [])
    except OSError as exc:
        raise FileFormatError(
            f"{path}: cannot read truth CSV ({exc.strerror}); check the path"
        ) from None
    except UnicodeDecodeError:
        raise FileFormatError(f"{path} is not a text file; give a truth CSV or recording") from None
    if not columns:
        raise FileFormatError(
            f"{path} is empty; a truth CSV needs a header line with sample_index,type "
            "(and channel for several channels)"
        )
    needed = {"sample_index", "type"}
    if not needed <= set(columns):
        raise FileFormatError(
            f"{path}: truth CSV needs columns {', '.join(sorted(needed))} (channel optional, "
            f"0 if missing); it has {', '.join(columns)}"
        )
    types = sorted({row["type"] for row in table})
    try:
        bursts = [
            TrueEvent(
                int(row["sample_index"]),
                int(row.get("end_sample") or row["sample_index"]),
                types.index(row["type"]),
                int(row.get("channel") or 0),
            )
            for row in table
        ]
    except (TypeError, ValueError) as exc:
        raise FileFormatError(f"{path}: malformed truth row ({exc}); fix the file") from None
    # A truth CSV's time_s is sample_index / rate (sample indices count from 0).
    rate = next(
        (int(r["sample_index"]) / float(r["time_s"]) for r in table
         if r.get("time_s") and float(r["time_s"]) > 0),
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
    rate = sample_rate_hz or truth_rate or _rate_of_events(events)
    if rate is None:
        if truth:
            raise FileFormatError(
                f"neither {events_path} nor {truth_path} says the sample rate; give --rate HZ"
            )
        rate = 1.0  # nothing to match: the rate does not matter
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


def _rate_of_events(events: list[Hit]) -> float | None:
    """The sample rate implied by two events' ``sample_index`` and ``time_s`` (Hz), if any."""
    if len(events) < 2:
        return None
    first, last = min(events, key=lambda e: e.time_s), max(events, key=lambda e: e.time_s)
    if not last.time_s > first.time_s or last.sample_index == first.sample_index:
        return None
    return (last.sample_index - first.sample_index) / (last.time_s - first.time_s)
