"""Hit table data without Qt: newest first, sorting, labels, 100 000 rows."""

from __future__ import annotations

import time

import numpy as np

from aemon.events.hit import Hit
from aemon.gui.hit_table import TABLE_COLUMNS, HitTable
from aemon.io.event_csv import CSV_COLUMNS
from aemon.io.schema import EVENT_DTYPE


def event(i: int, dbae: float, kind: str = "low") -> Hit:
    values = dict.fromkeys(CSV_COLUMNS, 1.0)
    values.update(
        time_s=i * 0.1, utc="", sample_index=i * 1000, channel=i % 2, type=kind,
        detector="nn", counts=3, amplitude_dBAE=dbae,
    )  # fmt: skip
    return Hit(**values)


def test_newest_first_sort_and_labels() -> None:
    table = HitTable("2024-05-01T12:00:00Z")
    table.append([event(i, 50 + (i * 7) % 11) for i in range(10)])
    assert len(table) == 10
    assert table.cell(0, TABLE_COLUMNS.index("sample_index")) == "9000"
    assert table.cell(9, TABLE_COLUMNS.index("sample_index")) == "0"
    assert table.cells(0)[TABLE_COLUMNS.index("utc")] == "2024-05-01T12:00:00.900000Z"
    table.sort("amplitude_dBAE", descending=True)
    amps = [float(table.cell(r, TABLE_COLUMNS.index("amplitude_dBAE"))) for r in range(10)]
    assert amps == sorted(amps, reverse=True)
    table.set_label(3, "rejected")
    assert table.cells(table.row_of(3))[1] == "rejected"  # beside the time
    table.sort(None, descending=False)
    assert table.row_of(3) == 3 and table.index(3) == 3
    table.append([event(10, 99.0)])
    table.sort("amplitude_dBAE")
    assert table.index(0) == 10


def test_columns_read_like_an_ae_hit_table() -> None:
    ae = ["time_s", "label", "channel", "amplitude_dBAE", "rise_time_us", "duration_us",
          "counts", "energy_eu"]  # fmt: skip
    assert TABLE_COLUMNS[: len(ae)] == ae
    assert TABLE_COLUMNS[-2:] == ["utc", "sample_index"]
    assert sorted(TABLE_COLUMNS) == sorted([*CSV_COLUMNS, "label"])
    table = HitTable()
    table.append([event(1, 61.5)])
    cells = dict(zip(TABLE_COLUMNS, table.cells(0), strict=True))
    assert cells["amplitude_dBAE"] == "61.50" and cells["counts"] == "3"
    assert cells["sample_index"] == "1000" and cells["label"] == ""


def test_hundred_thousand_rows_append_sort_and_read_fast() -> None:
    table = HitTable()
    rows = np.zeros(100_000, dtype=EVENT_DTYPE)
    rows["sample_index"] = np.arange(100_000) * 100
    rows["amplitude_dBAE"] = np.random.default_rng(0).uniform(40, 90, 100_000)
    rows["type"] = b"high"
    t0 = time.perf_counter()
    for chunk in np.array_split(rows, 100):
        table.append(chunk)
    table.sort("amplitude_dBAE")
    visible = [table.cells(r) for r in range(40)]
    elapsed = time.perf_counter() - t0
    assert len(table) == 100_000
    assert float(visible[0][TABLE_COLUMNS.index("amplitude_dBAE")]) >= 89.99
    assert elapsed < 2.0  # generous: typically ~50 ms
