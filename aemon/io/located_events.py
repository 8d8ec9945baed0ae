"""The multi-channel event table as CSV: one row per located event (``--event-table``).

The hit CSV keeps one row per hit and links the hits of one event by ``event_id``; this table
has one row per event (:class:`aemon.events.grouping.LocatedEvent`), for counting events and
plotting positions without grouping the hits again. Columns (:data:`LOCATED_EVENT_COLUMNS`,
declared by :class:`aemon.events.records.EventRow`):

``event_id, time_s, sample_index, first_channel, hits, channels, delays_us, x_m, y_m,
location_uncertainty_m, location_residual_us, location_status``; ``channels`` and
``delays_us`` are ``;``-separated lists (arrival order; delay of each channel behind the first
hit in µs). Same CSV dialect as the event CSV (comma, ``.``, UTF-8, CRLF).
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Iterable

from aemon.errors import FileFormatError
from aemon.events.grouping import LocatedEvent
from aemon.events.records import EventRow, format_cell, record_columns

logger = logging.getLogger(__name__)

LOCATED_EVENT_COLUMNS: tuple[str, ...] = EventRow._fields
"""Header of the event-table CSV (the :class:`~aemon.events.records.EventRow` fields)."""
_COLUMNS = list(record_columns(EventRow).values())


def event_row(event: LocatedEvent) -> EventRow:
    """The row of one located event."""
    loc = event.location
    return EventRow(
        event_id=event.event_id,
        time_s=event.time_s,
        sample_index=event.sample_index,
        first_channel=event.first_channel,
        hits=event.hits,
        channels=";".join(str(c) for c in event.channels),
        delays_us=";".join(f"{d:.4f}" for d in event.delays_us),
        x_m=loc.x_m,
        y_m=loc.y_m,
        location_uncertainty_m=loc.uncertainty_m,
        location_residual_us=loc.residual_us,
        location_status=loc.status,
    )


def located_event_row(event: LocatedEvent) -> list[str]:
    """The CSV cells of one located event."""
    row = event_row(event)
    return [format_cell(column, value) for column, value in zip(_COLUMNS, row, strict=True)]


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
