"""The event-table CSV: one row per multi-channel event, lists joined by ';'."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from aemon.events.grouping import LocatedEvent
from aemon.events.location import Location
from aemon.io.located_events import LOCATED_EVENT_COLUMNS, write_located_events_csv


def test_located_event_rows(tmp_path: Path) -> None:
    inside = Location(0.05, 0.0, 7e-4, 0.0, "inside")
    events = [
        LocatedEvent(0, 1.5, 100, 1, (1, 0), (0.0, 12.3456), 3, inside),
        LocatedEvent(1, 2.0, 200, 0, (0,), (0.0,), 1, Location()),
    ]
    path = tmp_path / "table.csv"
    assert write_located_events_csv(path, events) == 2
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == LOCATED_EVENT_COLUMNS
    first = dict(zip(LOCATED_EVENT_COLUMNS, rows[1], strict=True))
    assert first["channels"] == "1;0" and first["delays_us"] == "0.0000;12.3456"
    assert float(first["x_m"]) == 0.05 and first["location_status"] == "inside"
    second = dict(zip(LOCATED_EVENT_COLUMNS, rows[2], strict=True))
    assert second["x_m"] == "" and second["location_status"] == "unlocated"
    assert math.isnan(Location().x_m)
    assert not (tmp_path / "table.csv.tmp").exists()
