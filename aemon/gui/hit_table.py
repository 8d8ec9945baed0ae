"""Qt-free data of the hit table: every event so far, newest first or sorted by a column.

Events are kept in a growing structured array (:data:`aemon.io.schema.EVENT_DTYPE`, amortised
doubling), so appending is O(1) and sorting 100 000 rows is one ``argsort`` (a few ms). The
table shows the event CSV columns (:data:`aemon.io.event_csv.CSV_COLUMNS`), formatted as the
CSV writes them, and a ``label`` column with the reviewer's verdict (:mod:`aemon.gui.labels`),
in the order of an AE hit table (:data:`TABLE_COLUMNS`, as in Vallen VisualAE).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import numpy.typing as npt

from aemon.events.hit import Hit
from aemon.io.event_csv import CSV_COLUMNS, array_to_events, event_row, events_to_array
from aemon.io.schema import EVENT_DTYPE
from aemon.utc import parse_utc

logger = logging.getLogger(__name__)

_AE_FIRST = ["time_s", "label", "channel", "amplitude_dBAE", "rise_time_us", "duration_us",
             "counts", "energy_eu", "type", "detector", "score"]  # fmt: skip
HIDDEN_COLUMNS = ("utc", "sample_index")
"""Columns the window hides until asked (a right click on the header shows them)."""
TABLE_COLUMNS: list[str] = [
    *_AE_FIRST,
    *(c for c in CSV_COLUMNS if c not in _AE_FIRST and c not in HIDDEN_COLUMNS),
    *HIDDEN_COLUMNS,
]
"""Columns of the hit table: time and review label, then the AE hit features (channel,
amplitude, rise time, duration, counts, energy), type and detector, the other event CSV
columns, and last the :data:`HIDDEN_COLUMNS`."""
_CSV_INDEX = [CSV_COLUMNS.index(c) if c != "label" else -1 for c in TABLE_COLUMNS]


class HitTable:
    """All events, with a display order (newest first by default).

    Args:
        start_time_utc: ISO 8601 time of the stream start, for the ``utc`` column of events
            that arrive without one (recordings); "" if unknown.
    """

    def __init__(self, start_time_utc: str = "") -> None:
        self._rows = np.zeros(1024, dtype=EVENT_DTYPE)
        self._n = 0
        self._start = parse_utc(start_time_utc) if start_time_utc else None
        self._labels: dict[int, str] = {}
        self.sort_column: str | None = None
        self.descending = True
        self._order: npt.NDArray[np.intp] | None = None
        self._cells: dict[int, list[str]] = {}  # formatted rows, by stored index

    def __len__(self) -> int:
        return self._n

    @property
    def rows(self) -> npt.NDArray[np.void]:
        """The stored events in arrival order (a view; do not keep across appends)."""
        return self._rows[: self._n]

    # -- input --------------------------------------------------------------------------------

    def append(self, events: Sequence[Hit] | npt.NDArray[np.void]) -> int:
        """Add events; returns how many. Re-sorts when sorted by a column."""
        if self._start is None and not isinstance(events, np.ndarray):
            self._start_from(events)
        rows = events if isinstance(events, np.ndarray) else events_to_array(list(events))
        k = len(rows)
        if not k:
            return 0
        need = self._n + k
        if need > len(self._rows):
            grown = np.zeros(max(need, 2 * len(self._rows)), dtype=EVENT_DTYPE)
            grown[: self._n] = self._rows[: self._n]
            self._rows = grown
        self._rows[self._n : need] = rows
        self._n = need
        self._order = None
        return k

    def _start_from(self, events: Sequence[Hit]) -> None:
        """Learn the stream start time from an event that carries its UTC (live events)."""
        for e in events:
            when = parse_utc(e.utc) if e.utc else None
            if when is not None and math.isfinite(e.time_s):
                self._start = when - timedelta(seconds=e.time_s)
                return

    def clear(self) -> None:
        """Drop every event and label."""
        self._n = 0
        self._labels.clear()
        self._order = None
        self._cells.clear()

    def set_label(self, index: int, label: str) -> None:
        """Set the review label of stored event ``index`` ("" clears it)."""
        if label:
            self._labels[index] = label
        else:
            self._labels.pop(index, None)

    def label(self, index: int) -> str:
        """The review label of stored event ``index``."""
        return self._labels.get(index, "")

    # -- order --------------------------------------------------------------------------------

    def sort(self, column: str | None, descending: bool = True) -> None:
        """Order by ``column`` (None: arrival order; descending = newest first)."""
        if column is not None and column not in TABLE_COLUMNS:
            raise ValueError(f"unknown column {column!r}")
        self.sort_column, self.descending = column, descending
        self._order = None

    def index(self, row: int) -> int:
        """Stored index of display row ``row``."""
        if self.sort_column is None:
            return self._n - 1 - row if self.descending else row
        return int(self._sorted()[row])

    def row_of(self, index: int) -> int:
        """Display row of stored event ``index``."""
        if self.sort_column is None:
            return self._n - 1 - index if self.descending else index
        return int(np.flatnonzero(self._sorted() == index)[0])

    def _sorted(self) -> npt.NDArray[np.intp]:
        if self._order is None or len(self._order) != self._n:
            column = self.sort_column or "sample_index"
            if column == "utc":
                column = "time_s"
            if column == "label":
                keys: npt.NDArray[np.generic] = np.array(
                    [self._labels.get(i, "") for i in range(self._n)]
                )
            else:
                keys = self.rows[column]
            order = np.argsort(keys, kind="stable")
            self._order = order[::-1].copy() if self.descending else order
        return self._order

    # -- output -------------------------------------------------------------------------------

    def event(self, index: int) -> Hit:
        """Stored event ``index`` as a :class:`Hit` (``utc`` from the start time)."""
        return array_to_events(self._rows[index : index + 1], self._start)[0]

    def cells(self, row: int) -> list[str]:
        """Display row ``row`` in :data:`TABLE_COLUMNS` order, as the CSV would write it."""
        return [self.cell(row, column) for column in range(len(TABLE_COLUMNS))]

    def cell(self, row: int, column: int) -> str:
        """One cell of display row ``row`` (``column`` indexes :data:`TABLE_COLUMNS`)."""
        index = self.index(row)
        where = _CSV_INDEX[column]
        return self.label(index) if where < 0 else self._formatted(index)[where]

    def label_of_row(self, row: int) -> str:
        """The review label of display row ``row``."""
        return self.label(self.index(row))

    def _formatted(self, index: int) -> list[str]:
        cells = self._cells.get(index)
        if cells is None:
            if len(self._cells) > 4096:
                self._cells.clear()
            cells = self._cells[index] = event_row(self.event(index))
        return cells

    def events(self) -> list[Hit]:
        """Every event in arrival order."""
        return array_to_events(self._rows[: self._n], self._start)
