"""The multi-channel event table as CSV: one row per located event (``--event-table``).

The hit CSV keeps one row per hit and links the hits of one event by ``event_id``; this table
has one row per event (:class:`aemon.events.grouping.LocatedEvent`), for counting events and
plotting positions without grouping the hits again. Columns (:data:`LOCATED_EVENT_COLUMNS`):

``event_id, time_s, sample_index, first_channel, hits, channels, delays_us, x_m, y_m,
location_uncertainty_m, location_residual_us, location_status``; ``channels`` and
``delays_us`` are ``;``-separated lists (arrival order; delay of each channel behind the first
hit in µs). Same CSV dialect as the event CSV (comma, ``.``, UTF-8, CRLF).
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Iterable

from aemon.errors import FileFormatError
from aemon.events.grouping import LocatedEvent

logger = logging.getLogger(__name__)

LOCATED_EVENT_COLUMNS = (
    "event_id", "time_s", "sample_index", "first_channel", "hits", "channels", "delays_us",
    "x_m", "y_m", "location_uncertainty_m", "location_residual_us", "location_status",
)  # fmt: skip
"""Header of the event-table CSV."""


def _number(value: float, spec: str) -> str:
    return "" if math.isnan(value) else format(value, spec)


def located_event_row(event: LocatedEvent) -> list[str]:
    """The CSV cells of one located event."""
    loc = event.location
    return [
        str(event.event_id),
        f"{event.time_s:.9f}",
        str(event.sample_index),
        str(event.first_channel),
        str(event.hits),
        ";".join(str(c) for c in event.channels),
        ";".join(f"{d:.4f}" for d in event.delays_us),
        _number(loc.x_m, ".6f"),
        _number(loc.y_m, ".6f"),
        _number(loc.uncertainty_m, ".6f"),
        _number(loc.residual_us, ".4f"),
        loc.status,
    ]


def write_located_events_csv(path: str | os.PathLike[str], events: Iterable[LocatedEvent]) -> int:
    """Write the event table to ``path`` (the caller makes it atomic, e.g. ``AtomicOutput``).

    Returns:
        The number of rows written.

    Raises:
        FileFormatError: The file cannot be written.
    """
    name = os.fspath(path)
    try:
        with open(name, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(LOCATED_EVENT_COLUMNS)
            rows = [located_event_row(e) for e in events]
            writer.writerows(rows)
    except OSError as exc:
        raise FileFormatError(f"cannot write event table {name}: {exc.strerror}") from None
    return len(rows)
