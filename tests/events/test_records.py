"""One declaration per record: the HDF5 dtype, CSV header and cells and PUB message follow it."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Annotated, NamedTuple

import h5py
import numpy as np
import pytest

from aemon.events.hit import Hit
from aemon.events.records import (
    Column,
    EventRow,
    TruthRow,
    format_cell,
    missing_value,
    parse_cell,
    record_columns,
    record_dtype,
)
from aemon.io.event_csv import CSV_COLUMNS, event_row
from aemon.io.event_publisher import event_from_message, event_message
from aemon.io.located_events import LOCATED_EVENT_COLUMNS
from aemon.io.schema import EVENT_DTYPE, TRUTH_DTYPE, to_truth_rows
from aemon.io.truth import TRUTH_CSV_COLUMNS, truth_csv_cells, truth_row

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "release-0ca94d1"


def header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


def test_derived_layouts_are_the_ones_the_release_wrote() -> None:
    with h5py.File(FIXTURES / "recording.h5", "r") as f:
        assert f["events"].dtype == EVENT_DTYPE
        old_truth = f["truth"].dtype
    assert header(FIXTURES / "bar.events.csv") == CSV_COLUMNS == list(Hit._fields)
    assert header(FIXTURES / "mono.truth.csv") == TRUTH_CSV_COLUMNS == list(TruthRow._fields)
    assert header(FIXTURES / "bar.event-table.csv") == list(LOCATED_EVENT_COLUMNS)
    assert list(LOCATED_EVENT_COLUMNS) == list(EventRow._fields)
    # /truth: same columns and types as before, in the CSV's order now
    old_types = {name: old_truth.fields[name][0].str for name in old_truth.names}
    assert old_types == {name: TRUTH_DTYPE.fields[name][0].str for name in TRUTH_DTYPE.names}
    assert TRUTH_DTYPE.names == ("onset_sample", "channel", "burst_type", "snr_db",
                                 "end_sample", "peak_amplitude_v")  # fmt: skip


def test_old_truth_column_order_is_read_by_name() -> None:
    with h5py.File(FIXTURES / "recording.h5", "r") as f:
        old = f["truth"][()]
    rows = to_truth_rows(old)
    assert rows.dtype == TRUTH_DTYPE
    for name in TRUTH_DTYPE.names or ():
        assert np.array_equal(rows[name], old[name])
    with pytest.raises(ValueError, match="lacks column 'channel'"):
        to_truth_rows(np.zeros(2, dtype=[("onset_sample", "<i8")]))


def test_truth_rows_become_the_cells_of_the_truth_csv() -> None:
    with open(FIXTURES / "mono.truth.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for cells in rows:
        row = TruthRow(*(parse_cell(c, cells[n]) for n, c in record_columns(TruthRow).items()))
        assert truth_csv_cells(row) == [cells[n] for n in TRUTH_CSV_COLUMNS]
    table = np.zeros(1, dtype=TRUTH_DTYPE)
    table[0] = (1000, 1, b"high", 31.5, 1400, 2.5e-3)
    row = truth_row(table[0], 2000.0, first_sample=200)
    assert row == TruthRow(0.4, 1000, 1, "high", 31.5, 1400, pytest.approx(2.5e-3))
    assert truth_csv_cells(row) == ["0.400000000", "1000", "1", "high", "31.500", "1400",
                                    "2.500000e-03"]  # fmt: skip


def test_cells_by_kind_and_missing_values() -> None:
    number, integer, text = Column("<f4", ".3f"), Column("<i8", "d"), Column("S16")
    assert [format_cell(number, v) for v in (1.23456, math.nan, math.inf, -math.inf)] == [
        "1.235", "", "inf", "-inf"]  # fmt: skip
    assert format_cell(integer, np.int16(-3)) == "-3"
    assert format_cell(text, "inside") == "inside"
    assert math.isnan(parse_cell(number, "")) and parse_cell(number, "2.5") == 2.5
    assert parse_cell(integer, "-1") == -1
    with pytest.raises(ValueError):
        parse_cell(integer, "x")
    assert math.isnan(missing_value(number))
    assert (missing_value(integer), missing_value(text)) == (-1, "")
    utc = record_columns(Hit)["utc"]
    assert utc.dtype == "" and "utc" not in (EVENT_DTYPE.names or ())


def test_a_field_without_a_column_is_refused() -> None:
    class Bad(NamedTuple):
        a: Annotated[int, Column("<i8", "d")]
        b: float

    with pytest.raises(TypeError, match=r"Bad\.b needs one Column"):
        record_dtype(Bad)


def test_pub_message_carries_every_csv_column() -> None:
    hit = Hit(1.5, "", 3000, 1, "hit", 1.0, "threshold", 1.5, 10.0, 1e-3, 60.0, 2.0, 5,
                1.0, 1e-4, 1.0, 150.0, 160.0, 10.0, 20.0, 30.0, 40.0)  # fmt: skip
    message = event_message(hit, 2000.0)
    assert [k for k in message if k in CSV_COLUMNS] == CSV_COLUMNS
    assert message["x_m"] is None  # NaN -> null
    back = event_from_message(json.loads(json.dumps(message)))
    assert back[:22] == hit[:22] and back.event_id == -1 and math.isnan(back.x_m)
    sparse = event_from_message({"sample_index": 7, "channel": 1, "type": "hit"})
    assert (sparse.sample_index, sparse.counts, sparse.detector) == (7, -1, "")
    assert math.isnan(sparse.amplitude_dBAE) and math.isnan(sparse.time_s)
    assert len(event_row(hit)) == len(CSV_COLUMNS)
