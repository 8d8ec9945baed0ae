"""PUB JSON messages carry the location columns (null where not located)."""

from __future__ import annotations

import json

from aemon.events.hit import Hit
from aemon.io.event_csv import CSV_COLUMNS
from aemon.io.event_publisher import SCHEMA, event_message


def _event(**location) -> Hit:
    return Hit(
        1.0, "", 1562500, 1, "hit", 1.0, "threshold", 1.0, 100.0, 1e-4, 40.0, 2.0, 5,
        1.0, 1e-5, 1.0, 150.0, 160.0, 1.0, 2.0, 3.0, 4.0, **location,
    )  # fmt: skip


def test_json_message_has_every_column_with_location() -> None:
    located = _event(
        event_id=7, x_m=0.123, y_m=0.0, location_uncertainty_m=0.0007,
        location_residual_us=0.0, location_status="inside",
    )  # fmt: skip
    message = json.loads(json.dumps(event_message(located, 1_562_500.0)))
    assert message["schema"] == SCHEMA and set(CSV_COLUMNS) <= set(message)
    assert message["event_id"] == 7 and message["x_m"] == 0.123
    assert message["location_status"] == "inside"
    assert message["end_sample"] == 1562500 + round(100e-6 * 1_562_500.0)


def test_json_message_of_an_unlocated_hit_has_nulls() -> None:
    message = json.loads(json.dumps(event_message(_event(), 1_562_500.0)))
    assert message["x_m"] is None and message["location_residual_us"] is None
    assert message["event_id"] == -1 and message["location_status"] == ""
