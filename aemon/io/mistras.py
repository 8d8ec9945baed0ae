"""MISTRAS AEwin ``.DTA`` files through the ``MistrasDTA`` package (PyPI ``mistrasdta``).

``MistrasDTA.read_bin`` returns the hit table (time ``SSSSSSSS.mmmuuun`` in s, channel
``CH``, AEwin's features) and the waveforms (trigger time, channel, sample rate ``SRATE``
in Hz, ``TDLY`` = −pretrigger in samples, float64 volts computed as
``counts × 10 V / (gain × 32768)``). This module turns them into
:class:`~aemon.io.transients.TransientRecord` objects (the counts are recovered exactly from
that scale) and hit rows.

Limits of the package (0.1.7), checked on its own test file (8 hits, 5 channels, 10 MHz):
it passes its regression test, but it reads the whole file into memory (no streaming),
it overruns the hardware setup message by two bytes per sub-record and so swallows the
messages that follow it (in its test file five status messages; a hit or waveform right after
the setup is lost without a word), it returns a cut last waveform from a truncated file,
assumes a ±10 V input range for every board, raises ``KeyError`` on AE characteristics it
does not know and on waveforms of a channel without a gain message, and stamps hits with
the local time zone. Import therefore walks the message framing itself (refusing cut files
and counting hits and waveforms: lost waveforms are an error, lost hits a warning), refuses
DTA files larger than :data:`MAX_DTA_BYTES`, and turns the package's errors into one-line
messages.
"""

from __future__ import annotations

import logging
import math
import os
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.errors import FileFormatError
from aemon.io.schema import EVENT_DTYPE
from aemon.io.transients import TransientLayout, TransientRecord

logger = logging.getLogger(__name__)

MAX_DTA_BYTES = 512 * 1024 * 1024
"""Largest DTA file read (the package holds all of it in memory, several times over)."""
MAX_INPUT_V = 10.0
"""Input range the package assumes (V)."""


class DtaContents(NamedTuple):
    """A DTA file read into memory.

    Attributes:
        layout: Rate, channels, scale and time span of the waveforms.
        records: The waveforms as transient records, in file order.
        hits: Hit rows (:data:`~aemon.io.schema.EVENT_DTYPE`; ``sample_index`` from the rate).
        start_time_utc: Test start, if the file says (AEwin writes local time; taken as UTC).
    """

    layout: TransientLayout
    records: list[TransientRecord]
    hits: npt.NDArray[np.void]
    start_time_utc: datetime | None


def read_dta(path: str | os.PathLike[str]) -> DtaContents:
    """Read a DTA file.

    Raises:
        FileFormatError: Missing, too large, unreadable, or without waveforms.
    """
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise FileFormatError(f"{name}: no such file; check the path")
    size = os.path.getsize(name)
    if size > MAX_DTA_BYTES:
        raise FileFormatError(
            f"{name}: {size / 2**20:.0f} MiB is more than the MISTRAS reader can hold "
            f"({MAX_DTA_BYTES / 2**20:.0f} MiB); split the file in AEwin first"
        )
    messages = _check_framing(name, size)
    import MistrasDTA

    try:
        rec, wfm = MistrasDTA.read_bin(name)
    except (KeyError, struct.error, ValueError, IndexError, UnboundLocalError) as exc:
        raise FileFormatError(
            f"{name}: the MISTRAS DTA reader cannot parse this file ({type(exc).__name__}: "
            f"{exc}); it may be truncated or use features the reader does not know"
        ) from None
    if len(wfm) == 0:
        raise FileFormatError(
            f"{name}: the DTA file holds no waveforms, only hit features; aemon recordings "
            "need samples (enable waveform storage in AEwin)"
        )
    if len(wfm) != messages[173]:
        raise FileFormatError(
            f"{name}: the MISTRAS DTA reader returned {len(wfm)} of {messages[173]} waveforms "
            "(it skips the messages after the hardware setup); the file cannot be imported "
            "reliably"
        )
    if len(rec) != messages[1]:
        logger.warning(
            "%s: the MISTRAS DTA reader lost %d of %d hits (a fault of MistrasDTA 0.1.7 after "
            "the hardware setup message); the waveforms are complete",
            name,
            messages[1] - len(rec),
            messages[1],
        )
    records = [_record(row) for row in wfm]
    rates = sorted({r.sample_rate_hz for r in records})
    if len(rates) > 1:
        raise FileFormatError(
            f"{name}: waveforms at different sample rates ({', '.join(f'{r:g}' for r in rates)}"
            " Hz); a recording has one rate"
        )
    channels = max(r.channel for r in records)
    scale = {r.channel: r.volts_per_count for r in records}
    layout = TransientLayout(
        sample_rate_hz=rates[0],
        channels=channels,
        volts_per_count=tuple(scale.get(c, MAX_INPUT_V / 32768) for c in range(1, channels + 1)),
        first_time_s=min(r.time_s for r in records),
        last_time_s=max(r.time_s for r in records),
        max_pretrigger=max(r.pretrigger for r in records),
    )
    start = None
    if len(rec) and "TIMESTAMP" in (rec.dtype.names or ()):
        first = rec[0]
        stamp = float(first["TIMESTAMP"]) - float(first["SSSSSSSS.mmmuuun"])
        start = datetime.fromtimestamp(stamp).replace(tzinfo=UTC)
    return DtaContents(layout, records, _hit_rows(rec, rates[0]), start)


def _check_framing(name: str, size: int) -> dict[int, int]:
    """Walk the message lengths; returns messages per ID.

    A cut file ends inside a message (MistrasDTA then returns the cut waveform without
    complaint).
    """
    pos, counts = 0, dict.fromkeys((1, 173), 0)
    with open(name, "rb") as f:
        while pos + 3 <= size:
            f.seek(pos)
            length, msg_id = struct.unpack("<HB", f.read(3))
            counts[msg_id] = counts.get(msg_id, 0) + 1
            pos += 2 + length
    if pos != size:
        raise FileFormatError(
            f"{name}: the DTA file is cut inside a message ({size:,} bytes, the last message "
            f"needs {pos:,}); copy it again"
        )
    return counts


def _record(row: Any) -> TransientRecord:
    volts = np.frombuffer(row["WAVEFORM"], dtype=np.float64)
    peak = float(np.max(np.abs(volts))) if volts.size else 0.0
    step = _step(volts)
    counts = np.rint(volts / step).astype(np.int16) if step > 0 else np.zeros(volts.size, np.int16)
    if peak and not np.allclose(counts * step, volts, rtol=0, atol=step * 1e-3):
        logger.warning("waveform at %.6f s is not on an ADC grid", float(row["SSSSSSSS.mmmuuun"]))
    return TransientRecord(
        time_s=float(row["SSSSSSSS.mmmuuun"]),
        channel=int(row["CH"]),
        pretrigger=-int(row["TDLY"]),
        sample_rate_hz=float(row["SRATE"]),
        counts=counts,
        volts_per_count=step,
        threshold_v=None,
        trai=None,
    )


def _step(volts: npt.NDArray[np.float64]) -> float:
    """The package's volts per count: ``10 / (gain × 32768)`` for gains 0..99 dB."""
    nonzero = np.abs(volts[volts != 0])
    if not nonzero.size:
        return MAX_INPUT_V / 32768
    smallest = float(nonzero.min())
    best, best_err = MAX_INPUT_V / 32768, math.inf
    for gain_db in range(0, 100):
        step = MAX_INPUT_V / (10 ** (gain_db / 20) * 32768)
        err = float(np.max(np.abs(nonzero / step - np.rint(nonzero / step))))
        if err < 1e-6 and smallest / step >= 0.999:
            return step
        if err < best_err:
            best, best_err = step, err
    return best


_HIT_FIELDS = {  # AEwin column -> (event column, factor)
    "AMP": ("amplitude_dBAE", 1.0),
    "RISE": ("rise_time_us", 1.0),
    "DURATION": ("duration_us", 1.0),
    "COUN": ("counts", 1),
    "RMS": ("rms_V", 1.0),
    "SIG STRENGTH": ("signal_strength_nVs", 1e-3),  # pVs -> nVs
    "ABS-ENERGY": ("energy_eu", 1.0),  # aJ into 10 kΩ: 1 aJ = 1e-14 V²s = 1 eu
    "FRQ-C": ("centroid_kHz", 1.0),
    "P-FRQ": ("peak_freq_kHz", 1.0),
}


def _hit_rows(rec: Any, rate: float) -> npt.NDArray[np.void]:
    rows = np.zeros(len(rec), dtype=EVENT_DTYPE)
    for name in EVENT_DTYPE.names or ():
        kind = EVENT_DTYPE.fields[name][0].kind  # type: ignore[index]
        rows[name] = math.nan if kind == "f" else (-1 if kind == "i" else b"")
    if not len(rec):
        return rows
    names = set(rec.dtype.names or ())
    times = np.asarray(rec["SSSSSSSS.mmmuuun"], dtype=np.float64)
    rows["time_s"] = times
    rows["onset_s"] = times
    rows["sample_index"] = np.rint(times * rate).astype(np.int64)
    rows["channel"] = np.asarray(rec["CH"], dtype=np.int64) - 1
    rows["type"] = b"hit"
    rows["score"] = 1.0
    rows["detector"] = b"mistras-dta"
    for column, (field, factor) in _HIT_FIELDS.items():
        if column in names:
            rows[field] = np.asarray(rec[column], dtype=np.float64) * factor
    if "AMP" in names:
        rows["amplitude_V"] = 1e-6 * 10 ** (rows["amplitude_dBAE"] / 20)
    return rows


def iter_records(contents: DtaContents) -> Iterator[TransientRecord]:
    """The waveforms in time order of their first sample."""
    fs = contents.layout.sample_rate_hz
    yield from sorted(contents.records, key=lambda r: round(r.time_s * fs) - r.pretrigger)
