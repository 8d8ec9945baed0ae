"""Event CSV files and the conversion of events to and from the HDF5 ``/events`` table.

One row per event, one header line with the column names (units in the names), comma
separated, ``.`` as decimal point, UTF-8, CRLF line ends (the ``csv`` module's Excel dialect),
no comment lines: pandas (``pd.read_csv(path)``) and Excel open it as is. The columns are
:data:`CSV_COLUMNS`, in that order; ``docs/events.md`` documents each one.

Example:
    >>> write_event_csv("events.csv", events)
    >>> with EventCsvWriter("live.csv") as out:   # live: one flush per write
    ...     out.write(new_events)
    >>> events = read_event_csv("events.csv")
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from aemon.errors import FileFormatError
from aemon.events.hit import Hit
from aemon.events.records import format_cell, missing_value, parse_cell, record_columns
from aemon.io.schema import EVENT_DTYPE, decode_text, encode_text
from aemon.utc import format_utc, parse_utc

logger = logging.getLogger(__name__)

CSV_COLUMNS: list[str] = list(Hit._fields)
"""Header of the event CSV, in column order (the :class:`~aemon.events.hit.Hit` fields)."""
_COLUMNS = list(record_columns(Hit).values())
"""Each CSV column's :class:`~aemon.events.records.Column` (type and number format), in order."""
LEGACY_CSV_COLUMNS: list[str] = CSV_COLUMNS[: CSV_COLUMNS.index("event_id")]
"""Header of event CSVs written before the location columns; still read (location empty)."""


def event_row(event: Hit) -> list[str]:
    """The CSV cells of one event, formatted as in the file."""
    return [format_cell(column, value) for column, value in zip(_COLUMNS, event, strict=True)]


class EventCsvWriter:
    """Appends events to a CSV file, header first; a context manager.

    Args:
        path: File to write. An existing file is replaced unless ``append`` is True and its
            header matches, in which case rows are added after the existing ones.
        append: Keep an existing file with the same header and add to it.

    Raises:
        FileFormatError: ``append`` to a file whose header differs, or a file that cannot be
            opened for writing.
    """

    def __init__(self, path: str | os.PathLike[str], *, append: bool = False) -> None:
        self.path = os.fspath(path)
        add = append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        if add:
            with open(self.path, newline="", encoding="utf-8") as f:
                _check_header(next(csv.reader(f), []), self.path)
        try:
            mode = "a" if add else "w"
            self._file: IO[str] = open(self.path, mode, newline="", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise FileFormatError(f"cannot write event CSV {self.path}: {exc.strerror}") from None
        self._writer = csv.writer(self._file)
        if not add:
            self._writer.writerow(CSV_COLUMNS)
            self._file.flush()
        self.rows = 0

    def write(self, events: Iterable[Hit]) -> int:
        """Append ``events`` and flush; returns the number of rows written."""
        rows = [event_row(e) for e in events]
        self._writer.writerows(rows)
        self._file.flush()
        self.rows += len(rows)
        return len(rows)

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._file.close()

    def __enter__(self) -> EventCsvWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def write_event_csv(path: str | os.PathLike[str], events: Iterable[Hit]) -> int:
    """Write ``events`` to a new CSV file at ``path``; returns the number of rows."""
    with EventCsvWriter(path) as out:
        return out.write(events)


def _check_header(header: Sequence[str], path: str, *, legacy: bool = False) -> None:
    if list(header) != CSV_COLUMNS and not (legacy and list(header) == LEGACY_CSV_COLUMNS):
        raise FileFormatError(
            f"{path} is not an aemon event CSV: its header does not match "
            f"({','.join(header)[:80]}...); expected {','.join(CSV_COLUMNS[:4])},..."
        )


def read_event_csv(path: str | os.PathLike[str]) -> list[Hit]:
    """Read an event CSV written by :class:`EventCsvWriter`.

    Files with the older header (:data:`LEGACY_CSV_COLUMNS`, no location columns) are read
    too; their events get the location defaults (``event_id`` -1, NaN, status "").

    Raises:
        FileFormatError: Missing file, wrong header, or a malformed row (with its line).
    """
    name = os.fspath(path)
    try:
        with open(name, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            _check_header(header, name, legacy=True)
            width = len(header)
            events = []
            for row in reader:
                if not row:
                    continue
                try:
                    if len(row) != width:
                        raise ValueError(f"{len(row)} cells, expected {width}")
                    cells = zip(_COLUMNS, row, strict=False)  # legacy rows are shorter
                    events.append(Hit(*(parse_cell(col, cell) for col, cell in cells)))
                except ValueError as exc:
                    raise FileFormatError(
                        f"{name} line {reader.line_num}: malformed event row ({exc})"
                    ) from None
    except OSError as exc:
        raise FileFormatError(f"cannot read event CSV {name}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise FileFormatError(f"{name} is not a UTF-8 text file (event CSV expected)") from None
    return events


def events_to_array(events: Sequence[Hit]) -> npt.NDArray[np.void]:
    """Events as rows of :data:`aemon.io.schema.EVENT_DTYPE` (the HDF5 ``/events`` table).

    Every table column is filled from the event field of the same name; event fields the
    table lacks (``utc``, which follows from ``time_s`` and the recording start time, and
    any others) are not stored.
    """
    rows = np.zeros(len(events), dtype=EVENT_DTYPE)
    for name in EVENT_DTYPE.names or ():
        values = [getattr(e, name) for e in events]
        if EVENT_DTYPE.fields[name][0].kind == "S":  # type: ignore[index]
            values = [encode_text(v) for v in values]
        rows[name] = values
    return rows


def array_to_events(
    rows: npt.NDArray[np.void], start_time_utc: datetime | str | None = None
) -> list[Hit]:
    """Rows of the ``/events`` table back to events.

    Args:
        rows: Structured array with (a subset of) the :data:`CSV_COLUMNS` fields; missing
            float columns become NaN, missing integer columns -1, missing text "".
        start_time_utc: Recording start (``RecordingInfo.start_time_utc``); gives ``utc``
            as start + ``time_s``. None leaves ``utc`` empty unless the rows have it.
    """
    start = parse_utc(start_time_utc)
    rows = rows.reshape(-1)
    names = set(rows.dtype.names or ())
    n = rows.shape[0]
    columns: list[list[Any]] = []  # column by column: one conversion per column, not per cell
    for name, column in zip(CSV_COLUMNS, _COLUMNS, strict=True):
        if name not in names:
            columns.append([missing_value(column)] * n)
        elif column.kind == "S":
            columns.append([decode_text(v) for v in rows[name].tolist()])
        elif column.kind == "i":
            columns.append(rows[name].astype(np.int64).tolist())
        else:
            columns.append(rows[name].astype(np.float64).tolist())
    if start is not None:  # utc from the start time, where time_s is known
        times, utc = columns[CSV_COLUMNS.index("time_s")], columns[CSV_COLUMNS.index("utc")]
        columns[CSV_COLUMNS.index("utc")] = [
            format_utc(start + timedelta(seconds=t)) if math.isfinite(t) else u
            for t, u in zip(times, utc, strict=True)
        ]
    return [Hit(*values) for values in zip(*columns, strict=True)]
