"""Named event tables in an aemon HDF5 recording.

The recorder and the live monitor write ``/events``; every replay (and every import that
brings its own hits) adds a table ``/event_tables/NAME`` of the same row type
(:data:`aemon.io.schema.EVENT_DTYPE`) with attributes that say how it was made:

============== =====================================================================
attribute      meaning
============== =====================================================================
``detector``   ``nn``, ``threshold``, ``cascade``, or an importer (``vallen-pridb``)
``model``      model name ("" for the threshold detector)
``threshold``  the detector threshold (probability for nn, dBAE otherwise; NaN: default)
``source``     what made it, e.g. ``aemon replay --speed max``
``created_utc`` ISO 8601 UTC time the table was committed
============== =====================================================================

Earlier tables are never touched. The raw samples are never touched either: a new table is
staged in a temporary HDF5 file beside the recording, copied into the recording under a
hidden name and renamed in one step only when the run finished, so an interrupted run
leaves the recording as it was.

Public API: :data:`LIVE_TABLE`, :class:`EventTableInfo`, :func:`check_table_name`,
:func:`list_event_tables`, :func:`open_tables`, :func:`table_dataset`,
:func:`iter_table_rows`, :class:`EventTableWriter`.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

import h5py
import hdf5plugin  # noqa: F401  (registers the Blosc filter of /raw)
import numpy as np
import numpy.typing as npt

from aemon.errors import ConfigError, FileFormatError
from aemon.events.hit import Hit
from aemon.io import schema
from aemon.io.atomic_output import TEMP_MARK, remove_quietly
from aemon.io.event_csv import events_to_array
from aemon.utc import format_utc

logger = logging.getLogger(__name__)

GROUP = "event_tables"
"""HDF5 group holding the named tables."""
LIVE_TABLE = "events"
"""Name under which the live ``/events`` table is listed and selected."""
_PARTIAL = ".partial-"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
CHUNK_ROWS = 65536
"""Rows read or copied at a time (about 10 MB)."""


class EventTableInfo(NamedTuple):
    """One event table as ``aemon info`` lists it.

    Attributes:
        name: Table name (``events`` for the live table).
        rows: Number of events.
        detector: Detector (or importer) that made it ("" when unknown).
        model: Model name ("" when none).
        threshold: Detector threshold (None when the detector's default was used).
        source: What made it (e.g. ``aemon replay --speed max``).
        created_utc: When it was committed ("" for the live table).
    """

    name: str
    rows: int
    detector: str
    model: str
    threshold: float | None
    source: str
    created_utc: str


def check_table_name(name: str) -> str:
    """Return ``name`` if it can name a new table, else raise ConfigError."""
    if name == LIVE_TABLE:
        raise ConfigError(
            f"table name {LIVE_TABLE!r} is the live event table; choose another --table name"
        )
    if not _NAME.match(name):
        raise ConfigError(
            f"table name {name!r} is not allowed; use up to 64 letters, digits, '_', '-', '.'"
            " starting with a letter or digit"
        )
    return name


def open_tables(path: str | os.PathLike[str]) -> h5py.File:
    """Open a recording read-only to read its tables (SWMR when a writer has it open).

    Raises:
        FileFormatError: Missing, not HDF5, or not an aemon recording.
    """
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise FileFormatError(f"{name}: no such file; check the path")
    try:
        try:
            f = h5py.File(name, "r")
        except OSError:
            f = h5py.File(name, "r", swmr=True)
    except OSError as exc:
        raise FileFormatError(
            f"{name}: not a readable HDF5 recording ({_first_line(exc)})"
        ) from None
    if f.attrs.get("format") != schema.FORMAT_NAME:
        f.close()
        raise FileFormatError(f"{name}: not an aemon recording; give an .h5 file aemon wrote")
    return f


def _info(name: str, dataset: h5py.Dataset) -> EventTableInfo:
    attrs = dataset.attrs
    threshold = float(attrs.get("threshold", math.nan))
    return EventTableInfo(
        name=name,
        rows=int(dataset.shape[0]),
        detector=str(attrs.get("detector", "")),
        model=str(attrs.get("model", "")),
        threshold=None if math.isnan(threshold) else threshold,
        source=str(attrs.get("source", "live" if name == LIVE_TABLE else "")),
        created_utc=str(attrs.get("created_utc", "")),
    )


def list_event_tables(f: h5py.File) -> list[EventTableInfo]:
    """The live table first, then the named tables in creation order (hidden ones skipped)."""
    tables = [_info(LIVE_TABLE, f[schema.EVENTS])] if schema.EVENTS in f else []
    if GROUP in f:
        named = [
            _info(name, ds)
            for name, ds in f[GROUP].items()
            if not name.startswith(".") and isinstance(ds, h5py.Dataset)
        ]
        tables += sorted(named, key=lambda t: (t.created_utc, t.name))
    return tables


def table_dataset(f: h5py.File, name: str | None) -> h5py.Dataset:
    """The dataset of table ``name`` (None or ``events``: the live table).

    Raises:
        ConfigError: No such table (the message lists the tables there are).
    """
    if name is None or name == LIVE_TABLE:
        return f[schema.EVENTS]
    if GROUP in f and name in f[GROUP] and not name.startswith("."):
        return f[GROUP][name]
    known = ", ".join(t.name for t in list_event_tables(f))
    raise ConfigError(f"{f.filename}: no event table {name!r}; tables: {known}")


def iter_table_rows(
    dataset: h5py.Dataset, chunk_rows: int = CHUNK_ROWS
) -> Iterator[npt.NDArray[np.void]]:
    """Yield the rows of an event table in chunks of at most ``chunk_rows`` rows."""
    total = int(dataset.shape[0])
    for start in range(0, total, chunk_rows):
        rows = dataset[start : min(start + chunk_rows, total)]
        yield schema.to_event_rows(rows)  # a table written before a column was added: defaults


class EventTableWriter:
    """Stage events for a new named table and commit them into a recording; a context manager.

    Leaving the ``with`` block normally commits; an exception discards the staged rows and
    leaves the recording untouched.

    Args:
        recording: The aemon ``.h5`` recording that gets the table. It must be closed by its
            writer (not being recorded) when :meth:`commit` runs.
        name: Table name (see :func:`check_table_name`).
        attrs: ``detector``, ``model``, ``threshold``, ``source`` and any further attributes
            (numbers, text or arrays).
        overwrite: Replace an existing table of that name instead of refusing.

    Raises:
        ConfigError: Bad name, or a table of that name exists (without ``overwrite``).
        FileFormatError: The recording cannot be read.
    """

    def __init__(
        self,
        recording: str | os.PathLike[str],
        name: str,
        attrs: Mapping[str, Any],
        *,
        overwrite: bool = False,
    ) -> None:
        self.recording = Path(recording)
        self.name = check_table_name(name)
        self.attrs = dict(attrs)
        self.overwrite = overwrite
        with open_tables(self.recording) as f:
            exists = GROUP in f and name in f[GROUP]
            status = f[schema.STATUS][0]["state"] if schema.STATUS in f else None
        if status != schema.STATE_CLOSED:
            raise FileFormatError(
                f"{self.recording}: the recording is still being written (or its recorder "
                "died); wait for it to close, or replay it into a CSV with --out"
            )
        if exists and not overwrite:
            raise ConfigError(
                f"{self.recording}: event table {name!r} exists; choose another --table name "
                "or pass --overwrite"
            )
        self._stage_path = self.recording.with_name(
            f".{self.recording.name}.{name}{TEMP_MARK}{os.getpid()}"
        )
        self._stage = h5py.File(self._stage_path, "w")
        self._rows = self._stage.create_dataset(
            "events",
            shape=(0,),
            maxshape=(None,),
            dtype=schema.EVENT_DTYPE,
            chunks=(schema.EVENT_TABLE_CHUNK,),
        )
        self.rows = 0
        self._done = False

    def write(self, events: Iterable[Hit]) -> int:
        """Stage events; returns how many."""
        batch = list(events)
        return self.write_rows(events_to_array(batch)) if batch else 0

    def write_rows(self, rows: npt.NDArray[np.void]) -> int:
        """Stage rows of :data:`~aemon.io.schema.EVENT_DTYPE` fields; returns how many."""
        table = schema.to_event_rows(rows)
        schema.append_rows(self._rows, table)
        self.rows += len(table)
        return len(table)

    def commit(self) -> None:
        """Copy the staged rows into the recording and give them their name in one step.

        Raises:
            FileFormatError: The recording cannot be opened for writing (still being recorded,
                read-only, or corrupt).
        """
        if self._done:
            return
        self._done = True
        try:
            self._copy_into_recording()
        finally:
            self._stage.close()
            remove_quietly(self._stage_path)
        logger.info("event table %s: %d events in %s", self.name, self.rows, self.recording)

    def _copy_into_recording(self) -> None:
        try:
            f = h5py.File(self.recording, "r+")
        except OSError as exc:
            raise FileFormatError(
                f"{self.recording}: cannot add an event table ({_first_line(exc)}); the "
                "recording must be closed by its recorder and writable"
            ) from None
        with f:
            group = f.require_group(GROUP)
            hidden = f"{_PARTIAL}{self.name}"
            if hidden in group:
                del group[hidden]
            table = group.create_dataset(
                hidden,
                shape=(self.rows,),
                maxshape=(None,),
                dtype=schema.EVENT_DTYPE,
                chunks=(schema.EVENT_TABLE_CHUNK,),
                **schema.table_compression_options("gzip"),
            )
            for start in range(0, self.rows, CHUNK_ROWS):
                stop = min(start + CHUNK_ROWS, self.rows)
                table[start:stop] = self._rows[start:stop]
            table.attrs.update(_attr_values(self.attrs))
            table.attrs["created_utc"] = format_utc(datetime.now(UTC))
            if self.name in group:
                del group[self.name]
            group.move(hidden, self.name)

    def discard(self) -> None:
        """Drop the staged rows; the recording stays as it was."""
        if self._done:
            return
        self._done = True
        self._stage.close()
        remove_quietly(self._stage_path)

    def __enter__(self) -> EventTableWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def _attr_values(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """HDF5-storable attribute values: None → NaN for numbers, "" otherwise."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if value is None:
            out[key] = math.nan if key == "threshold" else ""
        elif isinstance(value, Path):
            out[key] = str(value)
        else:
            out[key] = value
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
