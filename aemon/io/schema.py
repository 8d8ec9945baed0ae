"""Layout constants and table dtypes of the aemon HDF5 recording format (version 1).

The full layout is described in ``docs/recording-format.md``. This module holds what both
the writer and the reader need: dataset names, compound dtypes, the compression presets and
the conversion of user-supplied events and simulator ground truth into table rows.
"""

from __future__ import annotations

import enum
import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from aemon.errors import ConfigError
from aemon.events.hit import Hit
from aemon.events.records import TruthRow, record_dtype
from aemon.types import ChannelInfo, StreamFormat
from aemon.utc import format_utc

logger = logging.getLogger(__name__)

FORMAT_NAME = "aemon-recording"
"""Value of the root attribute ``format``."""
FORMAT_VERSION = 1
"""Value of the root attribute ``format_version``; readers refuse newer versions."""

RAW_CHUNK_SAMPLES = 131072
"""Samples per channel in one chunk of ``/raw`` (chunk shape ``(1, RAW_CHUNK_SAMPLES)``).

Chosen by measurement (``bench/bench_recording.py``): per-channel chunks of 2**17 samples
appended fastest with Blosc-LZ4 and compressed best (byte shuffle sees one channel at a time).
"""

SUPPORTED_DTYPES = ("int16", "float32")
COMPRESSIONS = ("blosc-lz4", "gzip", "none")

# Dataset names.
RAW = "raw"
CHANNELS = "channels"
GAPS = "gaps"
SEGMENTS = "segments"
EVENTS = "events"
TRUTH = "truth"
STATUS = "status"
INCIDENTS = "incidents"
REQUIRED_DATASETS = (RAW, CHANNELS, GAPS, SEGMENTS, EVENTS, TRUTH, STATUS)
"""Datasets every recording of format version 1 has."""
OPTIONAL_DATASETS = (INCIDENTS,)
"""Datasets newer writers create; readers of older files do without them."""

STATE_RECORDING = 0
"""``/status`` state while the writer has the file open (or after it died)."""
STATE_CLOSED = 1
"""``/status`` state written by ``RecordingWriter.close`` after a clean run."""
STATE_ABORTED = 2
"""``/status`` state of a file the writer closed early after an error (disk full, I/O error):
readable, complete up to ``raw_samples``; ``/incidents`` says what happened."""
STATE_REPAIRED = 3
"""``/status`` state written by ``aemon repair`` to a file whose writer was killed."""
STATE_NAMES = {
    STATE_RECORDING: "being written, or the writer was killed",
    STATE_CLOSED: "closed cleanly",
    STATE_ABORTED: "closed early after an error",
    STATE_REPAIRED: "repaired after the writer was killed",
}

CHANNEL_DTYPE = np.dtype(
    [("name", "S64"), ("sensor", "S64"), ("gain_db", "<f8"), ("volts_per_count", "<f8")]
)
GAP_DTYPE = np.dtype([("start_sample", "<i8"), ("stop_sample", "<i8"), ("reason", "S16")])
SEGMENT_DTYPE = np.dtype([("raw_start", "<i8"), ("first_sample", "<i8")])
STATUS_DTYPE = np.dtype([("state", "u1"), ("raw_samples", "<i8"), ("last_flush_unix_s", "<f8")])
INCIDENT_DTYPE = np.dtype(
    [
        ("start_sample", "<i8"),  # first sample concerned (absolute index), -1 if none
        ("stop_sample", "<i8"),  # one past the last one, -1 if open-ended or none
        ("unix_s", "<f8"),  # wall clock when it was recorded (s since 1970, UTC)
        ("kind", "S16"),  # restart, nonfinite, rejected, disk_full, writer_error, ...
        ("detail", "S256"),  # one line of UTF-8 text
    ]
)
"""Rows of ``/incidents``: what happened to the stream besides plain gaps."""
TRUTH_DTYPE = record_dtype(TruthRow)
"""Rows of ``/truth``, derived from :class:`aemon.events.records.TruthRow` (its HDF5 names)."""
TRUTH_COLUMNS: list[str] = list(TRUTH_DTYPE.names or ())

EVENT_DTYPE = record_dtype(Hit)
"""Rows of ``/events`` and the named event tables, derived from the hit row
:class:`aemon.events.hit.Hit` (every field but ``utc``)."""
EVENT_COLUMNS: list[str] = list(EVENT_DTYPE.names or ())
"""Names of the ``/events`` columns, in table order."""

# Table chunk lengths (rows).
SMALL_TABLE_CHUNK = 256
EVENT_TABLE_CHUNK = 4096


def raw_compression_options(compression: str) -> dict[str, Any]:
    """Return ``create_dataset`` keyword arguments for the ``/raw`` filter preset.

    Args:
        compression: ``"blosc-lz4"`` (Blosc LZ4, level 5, byte shuffle; needs hdf5plugin to
            read), ``"gzip"`` (deflate level 1 + shuffle; readable everywhere, slow) or
            ``"none"``.

    Raises:
        ValueError: For an unknown preset name.
    """
    if compression == "blosc-lz4":
        import hdf5plugin

        return dict(hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE))
    if compression == "gzip":
        return {"compression": "gzip", "compression_opts": 1, "shuffle": True}
    if compression == "none":
        return {}
    raise ValueError(f"unknown compression {compression!r}; use one of {', '.join(COMPRESSIONS)}")


def table_compression_options(compression: str) -> dict[str, Any]:
    """Return the filter for the event and truth tables: gzip (portable) unless "none"."""
    if compression == "none":
        return {}
    return {"compression": "gzip", "compression_opts": 4, "shuffle": True}


def encode_text(value: Any) -> bytes:
    """Encode a label (str, bytes, enum member or number) as UTF-8 bytes for an ``S`` field."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, enum.Enum):
        return value.name.encode("utf-8")
    return str(value).encode("utf-8")


def decode_text(value: bytes | str) -> str:
    """Decode an ``S`` field value written by :func:`encode_text` (invalid bytes replaced)."""
    if isinstance(value, str):
        return value
    return value.decode("utf-8", errors="replace")


def _default_row(dtype: np.dtype[Any], n: int) -> npt.NDArray[np.void]:
    """Rows of ``dtype`` filled with "unknown": NaN for floats, -1 for ints, b"" for text."""
    rows = np.zeros(n, dtype=dtype)
    for name in dtype.names or ():
        kind = dtype.fields[name][0].kind  # type: ignore[index]
        if kind == "f":
            rows[name] = np.nan
        elif kind == "i":
            rows[name] = -1
    return rows


def _set_column(rows: npt.NDArray[np.void], name: str, values: Any) -> None:
    """Assign ``values`` to column ``name``, encoding text for ``S`` columns."""
    if rows.dtype.fields[name][0].kind == "S":  # type: ignore[index]
        rows[name] = [encode_text(v) for v in np.asarray(values, dtype=object).ravel()]
    else:
        rows[name] = values


def to_event_rows(
    events: npt.NDArray[Any] | Sequence[Mapping[str, Any]],
) -> npt.NDArray[np.void]:
    """Convert events to rows of :data:`EVENT_DTYPE`.

    Args:
        events: A structured array whose field names are a subset of :data:`EVENT_COLUMNS`,
            or a sequence of mappings with such keys. Missing columns are "unknown": NaN for
            float columns, -1 for integer columns, empty for text columns.

    Raises:
        ValueError: For a column name that is not in :data:`EVENT_COLUMNS`.
    """
    if isinstance(events, np.ndarray) and events.dtype == EVENT_DTYPE:
        return np.ascontiguousarray(events.reshape(-1))
    if isinstance(events, np.ndarray):
        if events.dtype.names is None:
            raise ValueError("events must be a structured array or a list of dicts")
        flat = events.reshape(-1)
        rows = _default_row(EVENT_DTYPE, len(flat))
        for name in events.dtype.names:
            _check_column(name, EVENT_COLUMNS, "event")
            _set_column(rows, name, flat[name])
        return rows
    records = list(events)
    rows = _default_row(EVENT_DTYPE, len(records))
    for i, record in enumerate(records):
        for name, value in record.items():
            _check_column(name, EVENT_COLUMNS, "event")
            is_text = EVENT_DTYPE.fields[name][0].kind == "S"  # type: ignore[index]
            rows[name][i] = encode_text(value) if is_text else value
    return rows


def _check_column(name: str, columns: list[str], what: str) -> None:
    if name not in columns:
        raise ValueError(f"unknown {what} column {name!r}; known: {', '.join(columns)}")


def to_truth_rows(rows: npt.NDArray[np.void]) -> npt.NDArray[np.void]:
    """Rows of a ``/truth`` table as :data:`TRUTH_DTYPE`, column by column by name (files
    written before :class:`~aemon.events.records.TruthRow` have the columns in another order).

    Raises:
        ValueError: A column of :data:`TRUTH_COLUMNS` is missing.
    """
    if rows.dtype == TRUTH_DTYPE:
        return rows
    out = np.zeros(rows.shape[0], dtype=TRUTH_DTYPE)
    for name in TRUTH_COLUMNS:
        if name not in (rows.dtype.names or ()):
            raise ValueError(f"the truth table lacks column {name!r}")
        out[name] = rows[name]
    return out


def truth_to_array(bursts: Iterable[Any]) -> npt.NDArray[np.void]:
    """Convert simulator ground truth (objects with :data:`TRUTH_COLUMNS` attributes) to rows.

    Each burst is duck-typed: any object with attributes ``onset_sample``, ``end_sample``,
    ``channel``, ``burst_type``, ``peak_amplitude_v`` and ``snr_db``
    (``aemon.sim.simulator.BurstTruth``) or a mapping with those keys. ``burst_type`` is stored
    as text: the object's ``type_name`` where it has one, else the value itself.

    Raises:
        ValueError: If a burst lacks one of the fields.
    """
    items = list(bursts)
    rows = np.zeros(len(items), dtype=TRUTH_DTYPE)
    for i, burst in enumerate(items):
        for name in TRUTH_COLUMNS:
            if isinstance(burst, Mapping):
                if name not in burst:
                    raise ValueError(f"ground-truth burst lacks field {name!r}")
                value = burst[name]
            else:
                if not hasattr(burst, name):
                    raise ValueError(f"ground-truth burst lacks field {name!r}")
                value = getattr(burst, name)
            if name == "burst_type":
                value = encode_text(getattr(burst, "type_name", value))
            rows[name][i] = value
    return rows


def check_format(fmt: StreamFormat, channels: Sequence[ChannelInfo], compression: str) -> None:
    """Raise ConfigError unless ``fmt``, ``channels`` and ``compression`` can be recorded."""
    if fmt.dtype not in SUPPORTED_DTYPES:
        raise ConfigError(f"cannot record dtype {fmt.dtype!r}; use int16 or float32")
    if fmt.channels < 1 or len(channels) != fmt.channels:
        raise ConfigError(
            f"stream has {fmt.channels} channels but {len(channels)} channel descriptions "
            "were given; give one ChannelInfo per channel"
        )
    if not fmt.sample_rate_hz > 0:
        raise ConfigError(f"sample rate must be positive, got {fmt.sample_rate_hz} Hz")
    if compression not in COMPRESSIONS:
        raise ConfigError(
            f"unknown compression {compression!r}; use one of {', '.join(COMPRESSIONS)}"
        )


def append_rows(dataset: h5py.Dataset, rows: npt.NDArray[np.void]) -> None:
    """Append ``rows`` to the resizable 1-D table ``dataset``."""
    if len(rows) == 0:
        return
    n = dataset.shape[0]
    dataset.resize(n + len(rows), axis=0)
    dataset[n:] = rows


def create_layout(
    f: h5py.File,
    fmt: StreamFormat,
    channels: Sequence[ChannelInfo],
    *,
    first_sample: int,
    sample_dtype: np.dtype[Any],
    start_time_utc: datetime | str | None,
    config: Mapping[str, Any] | None,
    compression: str,
    software_version: str,
) -> None:
    """Create every dataset and attribute of a new recording (nothing can be created once
    SWMR is on). See docs/recording-format.md. ``start_time_utc`` None means now, ""
    unknown (stored as "")."""
    when = (
        start_time_utc
        if isinstance(start_time_utc, str)
        else format_utc(start_time_utc or datetime.now(UTC))
    )
    f.attrs.update(
        {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "software_version": software_version,
            "start_time_utc": when,
            "sample_rate_hz": float(fmt.sample_rate_hz),
            "channels": int(fmt.channels),
            "dtype": fmt.dtype,
            "volts_per_count": float(fmt.volts_per_count),
            "first_sample": int(first_sample),
            "compression": compression,
            "config_json": json.dumps(dict(config or {}), default=str, sort_keys=True),
        }
    )
    raw = f.create_dataset(
        RAW,
        shape=(fmt.channels, 0),
        maxshape=(fmt.channels, None),
        chunks=(1, RAW_CHUNK_SAMPLES),
        dtype=sample_dtype.newbyteorder("<"),
        fillvalue=0,
        **raw_compression_options(compression),
    )
    raw.attrs["units"] = "counts" if fmt.dtype == "int16" else "V"
    table = np.zeros(len(channels), dtype=CHANNEL_DTYPE)
    for i, ch in enumerate(channels):
        table[i] = (
            encode_text(ch.name),
            encode_text(ch.sensor),
            ch.gain_db,
            ch.volts_per_count,
        )
    f.create_dataset(CHANNELS, data=table)
    small = {"maxshape": (None,), "chunks": (SMALL_TABLE_CHUNK,)}
    f.create_dataset(GAPS, shape=(0,), dtype=GAP_DTYPE, **small)
    f.create_dataset(
        SEGMENTS,
        data=np.array([(0, first_sample)], dtype=SEGMENT_DTYPE),
        **small,
    )
    big = {
        "maxshape": (None,),
        "chunks": (EVENT_TABLE_CHUNK,),
        **table_compression_options(compression),
    }
    f.create_dataset(EVENTS, shape=(0,), dtype=EVENT_DTYPE, **big)
    f.create_dataset(TRUTH, shape=(0,), dtype=TRUTH_DTYPE, **big)
    f.create_dataset(INCIDENTS, shape=(0,), dtype=INCIDENT_DTYPE, **small)
    status = np.array([(STATE_RECORDING, 0, time.time())], dtype=STATUS_DTYPE)
    f.create_dataset(STATUS, data=status)


def incident_row(kind: str, start: int, stop: int, detail: str) -> npt.NDArray[np.void]:
    """One ``/incidents`` row stamped with the wall clock now; text longer than the field is
    cut at a character boundary."""
    text = detail.encode("utf-8")[:256].decode("utf-8", errors="ignore").encode("utf-8")
    return np.array(
        [(start, stop, time.time(), encode_text(kind)[:16], text)], dtype=INCIDENT_DTYPE
    )
