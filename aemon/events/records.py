"""How aemon's records are stored: one declaration per record, every format derived from it.

A record is a ``NamedTuple`` whose fields are annotated with a :class:`Column`
(``Annotated[float, Column("<f4", ".3f")]``): the field's name, Python type and default, the
numpy type of its HDF5 column and the format of its CSV cell are written once, in one line.
The numpy dtype of the HDF5 table (:func:`record_dtype`), the CSV header and cells
(:func:`format_cell`, :func:`parse_cell`) and the JSON of the PUB socket (``_asdict()``) are
derived from the declaration:

* the hit row: :class:`aemon.events.hit.Hit` (HDF5 ``/events`` and named event tables,
  the event CSV, the ``aemon.event/1`` messages);
* the truth row: :class:`TruthRow` (HDF5 ``/truth``, the ``.truth.csv`` of ``aemon sim``);
* the event (group) row: :class:`EventRow` (the ``--event-table`` CSV).

A column whose name on disk differs from its field name (files already written keep their
names) says so in ``hdf5_name``.
"""

from __future__ import annotations

import logging
import math
import typing
from typing import Annotated, Any, NamedTuple

import numpy as np

logger = logging.getLogger(__name__)


class Column(NamedTuple):
    """How one field of a record is stored.

    Attributes:
        dtype: numpy type of its HDF5 column (``"<f8"``, ``"<i2"``, ``"S16"``); ``""`` for a
            field that is not stored in HDF5 (it follows from other columns there).
        csv_format: Format spec of its CSV cell (``".9f"``, ``"d"``; ``""`` for text).
        hdf5_name: Its HDF5 column name where that differs from the field name.
    """

    dtype: str
    csv_format: str = ""
    hdf5_name: str = ""

    @property
    def kind(self) -> str:
        """``"f"`` (float), ``"i"`` (integer) or ``"S"`` (text)."""
        if self.dtype:
            return np.dtype(self.dtype).kind
        return "i" if self.csv_format == "d" else "S" if not self.csv_format else "f"


def record_columns(record: type[tuple[Any, ...]]) -> dict[str, Column]:
    """The :class:`Column` of every field of a record, in field order."""
    hints = typing.get_type_hints(record, include_extras=True)
    found: dict[str, Column] = {}
    for name in record._fields:  # type: ignore[attr-defined]
        meta = [m for m in getattr(hints[name], "__metadata__", ()) if isinstance(m, Column)]
        if len(meta) != 1:
            raise TypeError(f"{record.__name__}.{name} needs one Column annotation")
        found[name] = meta[0]
    return found


def record_dtype(record: type[tuple[Any, ...]]) -> np.dtype[Any]:
    """The numpy (HDF5 table) dtype of a record: its stored fields, in field order."""
    return np.dtype(
        [(c.hdf5_name or name, c.dtype) for name, c in record_columns(record).items() if c.dtype]
    )


def missing_value(column: Column) -> Any:
    """What a column holds when unknown: NaN for floats, -1 for integers, "" for text."""
    return {"f": math.nan, "i": -1}.get(column.kind, "")


def format_cell(column: Column, value: Any) -> str:
    """One CSV cell: text as is, integers in full, floats in the column's format; NaN is
    empty and infinities ``inf``/``-inf``."""
    if column.kind == "S":
        return str(value)
    if column.kind == "i":
        return str(int(value))
    number = float(value)
    if not math.isfinite(number):
        return "" if math.isnan(number) else ("inf" if number > 0 else "-inf")
    return format(number, column.csv_format)


def parse_cell(column: Column, text: str) -> Any:
    """The value of a CSV cell written by :func:`format_cell` (empty float cells are NaN).

    Raises:
        ValueError: A cell that is not a number of the column's kind.
    """
    if column.kind == "S":
        return text
    if column.kind == "i":
        return int(text)
    return math.nan if text == "" else float(text)


class TruthRow(NamedTuple):
    """One true burst of simulator ground truth (``/truth`` and the ``.truth.csv``).

    The HDF5 ``/truth`` table keeps the names it was first written with (``onset_sample``,
    ``burst_type``, ``peak_amplitude_v``: the attributes of
    :class:`aemon.sim.simulator.BurstTruth`); the CSV uses the field names, the hit row's
    words.

    Files written before this declaration have the ``/truth`` columns in another order
    (``onset_sample, end_sample, channel, burst_type, peak_amplitude_v, snr_db``); readers go
    by name.

    Attributes:
        time_s: Onset (s since the first sample): ``(sample_index - first) / sample_rate_hz``
            (CSV only).
        sample_index: Absolute sample index of the burst onset.
        channel: Channel index (0-based).
        type: Burst class name (``low``, ``high``).
        snr_db: Peak amplitude over the noise RMS (dB).
        end_sample: Absolute index one past the burst's end.
        peak_amplitude_V: Peak |amplitude| of the burst alone (V at the sensor).
    """

    time_s: Annotated[float, Column("", ".9f")]
    sample_index: Annotated[int, Column("<i8", "d", "onset_sample")]
    channel: Annotated[int, Column("<i2", "d")]
    type: Annotated[str, Column("S16", "", "burst_type")]
    snr_db: Annotated[float, Column("<f4", ".3f")]
    end_sample: Annotated[int, Column("<i8", "d")]
    peak_amplitude_V: Annotated[float, Column("<f4", ".6e", "peak_amplitude_v")]  # noqa: N815


class EventRow(NamedTuple):
    """One multi-channel event as a row of the ``--event-table`` CSV (columns in file order).

    Made from :class:`aemon.events.grouping.LocatedEvent` by
    :func:`aemon.io.located_events.event_row`.

    Attributes:
        event_id: The ``event_id`` its hits carry.
        time_s: Refined onset of the first hit (s since the start of the input).
        sample_index: Absolute sample index of the first hit's refined onset.
        first_channel: Channel of the first hit.
        hits: Number of hit rows in the event.
        channels: ``;``-separated channels with an arrival, in arrival order.
        delays_us: ``;``-separated arrival of each of ``channels`` behind the first hit (µs).
        x_m: Located source position x (m); NaN when not located.
        y_m: Located source position y (m).
        location_uncertainty_m: 1-sigma position error (m).
        location_residual_us: RMS arrival-time misfit (µs).
        location_status: ``inside``, ``outside``, ``guard``, ``unlocated`` or "".
    """

    event_id: Annotated[int, Column("", "d")]
    time_s: Annotated[float, Column("", ".9f")]
    sample_index: Annotated[int, Column("", "d")]
    first_channel: Annotated[int, Column("", "d")]
    hits: Annotated[int, Column("", "d")]
    channels: Annotated[str, Column("")]
    delays_us: Annotated[str, Column("")]
    x_m: Annotated[float, Column("", ".6f")]
    y_m: Annotated[float, Column("", ".6f")]
    location_uncertainty_m: Annotated[float, Column("", ".6f")]
    location_residual_us: Annotated[float, Column("", ".4f")]
    location_status: Annotated[str, Column("")]
