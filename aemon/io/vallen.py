"""Vallen pridb/tradb files through vallenae: write hits and waveforms, read transients.

Writing (:class:`VallenWriter`): one hit per event in the pridb (``SetType`` 2) with
Vallen's fields and units (time s, channel 1-based, amplitude/threshold/RMS V, rise time and
duration s, energy eu, signal strength nVs, counts) and, with a tradb, a TRAI linking the
hit to its waveform (V at the sensor, stored as 16-bit ADC values scaled by ``TR_mV``). Both
files are written under temporary names and renamed by :meth:`VallenWriter.commit`.

Conversion factors (``ae_params``): vallenae stores integers of ``value / factor``; the
factors are fine enough (1 pV, 1e-9 eu, 1e-9 nVs) that the stored hits keep the features to
float32 precision. ``TR_mV`` is the recording's own step (volts per count, sensor side) for
int16 recordings, so waveforms keep their counts exactly.

Reading (:func:`tradb_layout`, :func:`iter_tradb_records`, :func:`iter_pridb_hits`,
:func:`pridb_start_time`): the one reader of Vallen files in aemon. Transient records come
with their ADC values, pretrigger and scale (:class:`~aemon.io.transients.TransientRecord`,
whose ``volts()`` gives volts): import (:mod:`aemon.io.transients`), detection (``aemon
detect``/``replay`` of a tradb) and training (bursts in a tradb) all read them here.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.errors import FileFormatError
from aemon.io.atomic_output import check_output, remove_quietly, temp_path
from aemon.io.transients import TransientLayout, TransientRecord

logger = logging.getLogger(__name__)

ADC_UV = 1e-6
"""pridb amplitude/threshold/RMS step (µV): 1 pV."""
ADC_TE = 1e-9
"""pridb energy step (eu)."""
ADC_SS = 1e-9
"""pridb signal strength step (nVs)."""


class VallenHit(NamedTuple):
    """One hit to write, in Vallen's units.

    Attributes:
        time_s: Time since the start of the acquisition (s).
        channel: Channel number, 1-based.
        amplitude_v: Peak amplitude at the sensor (V).
        rise_time_s: Rise time (s).
        duration_s: Duration (s).
        energy_eu: Energy (eu = 1e-14 V²s).
        rms_v: RMS (V).
        signal_strength_nvs: Signal strength (nVs).
        counts: Threshold crossings.
        threshold_v: Threshold (V) or None.
    """

    time_s: float
    channel: int
    amplitude_v: float
    rise_time_s: float
    duration_s: float
    energy_eu: float
    rms_v: float
    signal_strength_nvs: float
    counts: int
    threshold_v: float | None


def _number(value: float, default: float = 0.0) -> float:
    return float(value) if math.isfinite(value) else default


class VallenWriter:
    """Write hits to a new pridb and (optionally) their waveforms to a new tradb.

    Args:
        pridb: pridb path.
        tradb: tradb path or None.
        channels: Number of channels (1-based channels 1..channels get parameters).
        tr_mv: Per channel waveform step (mV per ADC value).
        start_time_utc: Start of the acquisition (a datetime marker is written) or None.
        label: Text of a label marker (e.g. where the hits came from).
        overwrite: Replace existing files.

    Raises:
        ConfigError: An output exists (without ``overwrite``) or its directory is missing.
    """

    def __init__(
        self,
        pridb: str | os.PathLike[str],
        tradb: str | os.PathLike[str] | None,
        *,
        channels: int,
        tr_mv: Sequence[float],
        start_time_utc: datetime | None,
        label: str = "",
        overwrite: bool = False,
    ) -> None:
        import vallenae.io as vio

        self._vio = vio
        self.paths = [Path(pridb)] + ([Path(tradb)] if tradb is not None else [])
        for path, suffix in zip(self.paths, (".pridb", ".tradb"), strict=False):
            if path.suffix.lower() != suffix:
                from aemon.errors import ConfigError

                raise ConfigError(f"{path}: Vallen needs the suffix {suffix}; rename the output")
            check_output(path, overwrite=overwrite, what="Vallen file")
        self._temps = [temp_path(p).with_suffix(p.suffix) for p in self.paths]
        for tmp in self._temps:
            remove_quietly(tmp)
        self.hits = 0
        vio.PriDatabase.create(str(self._temps[0]))
        self._pridb = vio.PriDatabase(str(self._temps[0]), mode="rw")
        _fast(self._pridb)
        con = self._pridb.connection()
        for ch in range(1, channels + 1):
            con.execute(
                "INSERT INTO ae_params (ID, SetupID, Chan, ADC_µV, ADC_TE, ADC_SS) "
                "VALUES (?, 1, ?, ?, ?, ?)",
                (ch, ch, ADC_UV, ADC_TE, ADC_SS),
            )
        con.commit()
        self._tradb = None
        if tradb is not None:
            vio.TraDatabase.create(str(self._temps[1]))
            self._tradb = vio.TraDatabase(str(self._temps[1]), mode="rw")
            _fast(self._tradb)
            tcon = self._tradb.connection()
            for ch in range(1, channels + 1):
                tcon.execute(
                    "INSERT INTO tr_params (ID, SetupID, Chan, ADC_µV, TR_mV) "
                    "VALUES (?, 1, ?, ?, ?)",
                    (ch, ch, ADC_UV, float(tr_mv[ch - 1])),
                )
            tcon.commit()
        if start_time_utc is not None:
            stamp = start_time_utc.strftime("%Y-%m-%d %H:%M:%S")
            self._pridb.write_marker(
                vio.MarkerRecord(time=0.0, set_type=vio.SetType.DATETIME, data=stamp, number=1)
            )
        if label:
            self._pridb.write_marker(
                vio.MarkerRecord(time=0.0, set_type=vio.SetType.LABEL, data=label, number=1)
            )

    def add(
        self,
        hit: VallenHit,
        waveform_v: npt.NDArray[np.floating[Any]] | None = None,
        *,
        pretrigger: int = 0,
        sample_rate_hz: float = 0.0,
    ) -> None:
        """Write one hit (times must not decrease) and, with a tradb, its waveform (V).

        Raises:
            ValueError: A hit earlier than the previous one.
        """
        vio = self._vio
        trai = None
        if self._tradb is not None and waveform_v is not None:
            trai = self.hits + 1
            self._tradb.write(
                vio.TraRecord(
                    time=hit.time_s,
                    channel=hit.channel,
                    param_id=hit.channel,
                    pretrigger=int(pretrigger),
                    threshold=hit.threshold_v or 0.0,
                    samplerate=round(sample_rate_hz),
                    samples=len(waveform_v),
                    data=np.asarray(waveform_v, dtype=np.float64),
                    trai=trai,
                )
            )
        self._pridb.write_hit(
            vio.HitRecord(
                time=hit.time_s,
                channel=hit.channel,
                param_id=hit.channel,
                amplitude=_number(hit.amplitude_v),
                duration=_number(hit.duration_s),
                energy=_number(hit.energy_eu),
                rms=_number(hit.rms_v),
                threshold=hit.threshold_v,
                rise_time=_number(hit.rise_time_s),
                signal_strength=_number(hit.signal_strength_nvs),
                counts=max(int(hit.counts), 0),
                trai=trai,
            )
        )
        self.hits += 1

    def commit(self) -> None:
        """Close both files and rename them to their final names."""
        self._close()
        for tmp, path in zip(self._temps, self.paths, strict=True):
            os.replace(tmp, path)
        logger.info("wrote %d hits to %s", self.hits, ", ".join(map(str, self.paths)))

    def discard(self) -> None:
        """Close and delete the temporary files."""
        self._close()
        for tmp in self._temps:
            remove_quietly(tmp)

    def _close(self) -> None:
        for db in (self._pridb, self._tradb):
            if db is not None and db.connected:
                # a self-contained file: no -wal/-shm beside it, for readers and copies
                db.connection().execute("PRAGMA journal_mode = DELETE")
                db.close()

    def __enter__(self) -> VallenWriter:
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


def _fast(database: Any) -> None:
    """One transaction per row is vallenae's way; skip the fsync per row (the file is a
    temporary that is renamed only when complete)."""
    database.connection().execute("PRAGMA synchronous = OFF")


def _connect(path: str) -> sqlite3.Connection:
    if not os.path.isfile(path):
        raise FileFormatError(f"{path}: no such file; check the path")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        con.execute("SELECT COUNT(*) FROM tr_data").fetchone()
    except sqlite3.DatabaseError as exc:
        raise FileFormatError(f"{path}: not a Vallen tradb ({exc})") from None
    return con


def tradb_layout(path: str | os.PathLike[str]) -> TransientLayout:
    """Rate, channels, scale and time span of a tradb, from its index (no waveform read).

    Raises:
        FileFormatError: Not a tradb, no records, or records at different sample rates.
    """
    name = os.fspath(path)
    con = _connect(name)
    try:
        rates = [r[0] for r in con.execute("SELECT DISTINCT SampleRate FROM tr_data")]
        if not rates:
            raise FileFormatError(f"{name}: the tradb holds no transient records")
        if len(rates) > 1:
            listed = ", ".join(f"{r:g} Hz" for r in sorted(rates))
            raise FileFormatError(
                f"{name}: records at different sample rates ({listed}); a recording has one "
                "rate: split the tradb by rate in VisualAE first"
            )
        (timebase,) = con.execute("SELECT Value FROM tr_globalinfo WHERE Key='TimeBase'").fetchone()
        channels, t_min, t_max, pre_max = con.execute(
            "SELECT MAX(Chan), MIN(Time), MAX(Time), MAX(Pretrigger) FROM tr_data"
        ).fetchone()
        scales = {
            int(ch): float(mv) / 1e3
            for ch, mv in con.execute(
                "SELECT DISTINCT d.Chan, p.TR_mV FROM tr_data d JOIN tr_params p ON p.ID=d.ParamID"
            )
        }
    finally:
        con.close()
    return TransientLayout(
        sample_rate_hz=float(rates[0]),
        channels=int(channels),
        volts_per_count=tuple(scales.get(ch, 1.0) for ch in range(1, int(channels) + 1)),
        first_time_s=float(t_min) / float(timebase),
        last_time_s=float(t_max) / float(timebase),
        max_pretrigger=int(pre_max or 0),
    )


def iter_tradb_records(path: str | os.PathLike[str]) -> Iterator[TransientRecord]:
    """The records of a tradb in TRAI order, as ADC values with their scale (V per count).

    Raises:
        FileFormatError: Missing file, not a tradb, or a record that cannot be decoded.
    """
    import vallenae.io as vio

    name = os.fspath(path)
    if not os.path.isfile(name):
        raise FileFormatError(f"{name}: no such file; check the path")
    scales = {}
    try:
        with vio.TraDatabase(name) as tradb:
            for row in tradb.connection().execute("SELECT ID, TR_mV FROM tr_params"):
                scales[int(row[0])] = float(row[1]) / 1e3
            for rec in tradb.iread(raw=True):
                yield TransientRecord(
                    time_s=float(rec.time),
                    channel=int(rec.channel),
                    pretrigger=int(rec.pretrigger),
                    sample_rate_hz=float(rec.samplerate),
                    counts=np.asarray(rec.data, dtype=np.int16),
                    volts_per_count=scales.get(int(rec.param_id), 1.0),
                    threshold_v=None if rec.threshold is None else float(rec.threshold),
                    trai=None if rec.trai is None else int(rec.trai),
                )
    except (sqlite3.DatabaseError, OSError, ValueError, RuntimeError) as exc:
        raise FileFormatError(f"{name}: cannot read as a Vallen tradb ({exc})") from None


def iter_pridb_hits(path: str | os.PathLike[str]) -> Iterator[tuple[VallenHit, int | None]]:
    """Hits of a pridb (``(hit, TRAI)``), in the order they were written."""
    import vallenae.io as vio

    name = os.fspath(path)
    if not os.path.isfile(name):
        raise FileFormatError(f"{name}: no such file; check the path")
    try:
        with vio.PriDatabase(name) as pridb:
            for hit in pridb.iread_hits():
                yield (
                    VallenHit(
                        time_s=float(hit.time),
                        channel=int(hit.channel),
                        amplitude_v=float(hit.amplitude),
                        rise_time_s=_optional(hit.rise_time),
                        duration_s=float(hit.duration),
                        energy_eu=float(hit.energy),
                        rms_v=float(hit.rms),
                        signal_strength_nvs=_optional(hit.signal_strength),
                        counts=-1 if hit.counts is None else int(hit.counts),
                        threshold_v=hit.threshold,
                    ),
                    None if hit.trai is None else int(hit.trai),
                )
    except sqlite3.DatabaseError as exc:
        raise FileFormatError(f"{name}: not a Vallen pridb ({exc})") from None


def pridb_start_time(path: str | os.PathLike[str]) -> datetime | None:
    """UTC time of the pridb's time 0 (its acquisition start), or None when it does not say.

    Raises:
        FileFormatError: Not a pridb.
    """
    import vallenae.io as vio

    try:
        with vio.PriDatabase(os.fspath(path)) as db:
            return db.to_datetime(0.0)
    except (RuntimeError, ValueError):
        return None
    except sqlite3.DatabaseError as exc:
        raise FileFormatError(f"{os.fspath(path)}: not a Vallen pridb ({exc})") from None


def _optional(value: float | None) -> float:
    return math.nan if value is None else float(value)
