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
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from aemon.errors import FileFormatError
from aemon.events.event import Event
from aemon.io.schema import EVENT_DTYPE, decode_text, encode_text
from aemon.utc import format_utc, parse_utc

logger = logging.getLogger(__name__)

CSV_COLUMNS: list[str] = list(Event._fields)
"""Header of the event CSV, in column order (the :class:`~aemon.events.event.Event` fields)."""

_FORMATS: dict[str, str] = {
    "time_s": ".9f",
    "sample_index": "d",
    "channel": "d",
    "score": ".4f",
    "onset_s": ".9f",
    "duration_us": ".3f",
    "amplitude_V": ".6e",
    "amplitude_dBAE": ".2f",
    "rise_time_us": ".3f",
    "counts": "d",
    "energy_eu": ".6g",
    "rms_V": ".6e",
    "signal_strength_nVs": ".6g",
    "peak_freq_kHz": ".3f",
    "centroid_kHz": ".3f",
    "pp1_pct": ".2f",
    "pp2_pct": ".2f",
    "pp3_pct": ".2f",
    "pp4_pct": ".2f",
    "event_id": "d",
    "x_m": ".5f",
    "y_m": ".5f",
    "location_uncertainty_m": ".5f",
    "location_residual_us": ".3f",
}
"""Number format per column: finer than what the measurement resolves (1 ns, 0.01 dB, ...)."""
_TEXT = ("utc", "type", "detector", "location_status")
_INTS = ("sample_index", "channel", "counts", "event_id")
LEGACY_CSV_COLUMNS: list[str] = CSV_COLUMNS[: CSV_COLUMNS.index("event_id")]
"""Header of event CSVs written before the location columns; still read (location empty)."""


def _format(name: str, value: Any) -> str:
    if name in _TEXT:
        return str(value)
    if name in _INTS:
        return str(int(value))
    number = float(value)
    if not math.isfinite(number):
        return "" if math.isnan(number) else ("inf" if number > 0 else "-inf")
    return format(number, _FORMATS[name])


def event_row(event: Event) -> list[str]:
    """The CSV cells of one event, formatted as in the file."""
    return [_format(name, value) for name, value in zip(CSV_COLUMNS, event, strict=True)]


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

    def write(self, events: Iterable[Event]) -> int:
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


def write_event_csv(path: str | os.PathLike[str], events: Iterable[Event]) -> int:
    """Write ``events`` to a new CSV file at ``path``; returns the number of rows."""
    with EventCsvWriter(path) as out:
        return out.write(events)


def _check_header(header: Sequence[str], path: str, *, legacy: bool = False) -> None:
    if list(header) != CSV_COLUMNS and not (legacy and list(header) == LEGACY_CSV_COLUMNS):
        raise FileFormatError(
            f"{path} is not an aemon event CSV: its header does not match "
            f"({','.join(header)[:80]}...); expected {','.join(CSV_COLUMNS[:4])},..."
        )


def _parser(name: str) -> Callable[[str], Any]:
    if name in _TEXT:
        return str
    if name in _INTS:
        return int
    return lambda text: math.nan if text == "" else float(text)


_PARSERS = [_parser(name) for name in CSV_COLUMNS]


def read_event_csv(path: str | os.PathLike[str]) -> list[Event]:
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
                    cells = zip(_PARSERS, row, strict=False)  # legacy rows are shorter
                    events.append(Event(*(parse(cell) for parse, cell in cells)))
                except ValueError as exc:
                    raise FileFormatError(
                        f"{name} line {reader.line_num}: malformed event row ({exc})"
                    ) from None
    except OSError as exc:
        raise FileFormatError(f"cannot read event CSV {name}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise FileFormatError(f"{name} is not a UTF-8 text file (event CSV expected)") from None
    return events


def events_to_array(events: Sequence[Event]) -> npt.NDArray[np.void]:
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
) -> list[Event]:
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
    for name in CSV_COLUMNS:
        if name not in names:
            fill = -1 if name in _INTS else "" if name in _TEXT else math.nan
            columns.append([fill] * n)
        elif name in _TEXT:
            columns.append([decode_text(v) for v in rows[name].tolist()])
        elif name in _INTS:
            columns.append(rows[name].astype(np.int64).tolist())
        else:
            columns.append(rows[name].astype(np.float64).tolist())
    if start is not None:  # utc from the start time, where time_s is known
        times, utc = columns[CSV_COLUMNS.index("time_s")], columns[CSV_COLUMNS.index("utc")]
        columns[CSV_COLUMNS.index("utc")] = [
            format_utc(start + timedelta(seconds=t)) if math.isfinite(t) else u
            for t, u in zip(times, utc, strict=True)
        ]
    return [Event(*values) for values in zip(*columns, strict=True)]
