"""MISTRAS DTA import through the MistrasDTA package, on a DTA file written here.

The writer below follows the message layout that MistrasDTA parses (AEwin manual, appendix
II): test start time (99), hardware setup (42: hit features, gains, per-channel rate and
pretrigger), hits (1) and waveforms (173).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from aemon.cli import main
from aemon.errors import FileFormatError
from aemon.io.event_tables import open_tables, table_dataset
from aemon.io.mistras import read_dta
from aemon.io.recording import RecordingReader

pytest.importorskip("MistrasDTA")

RATE_KHZ = 5000
PRETRIGGER = 256
GAIN_DB = 20
FEATURES = (6, 5, 3, 1, 21)  # AMP, DURATION, COUN, RISE, ABS-ENERGY


def _message(msg_id: int, body: bytes) -> bytes:
    return struct.pack("<HB", len(body) + 1, msg_id) + body


def _rtot(seconds: float) -> bytes:
    ticks = round(seconds / 0.25e-6)
    return struct.pack("<IH", ticks & 0xFFFFFFFF, ticks >> 32)


def write_dta(path: Path, hits: list[tuple[float, int, np.ndarray]], filler: bool = True) -> None:
    """(trigger time s, channel, int16 waveform) per hit."""
    subs = [bytes([5, len(FEATURES), *FEATURES])]
    for ch in (1, 2):
        subs.append(bytes([23, ch, GAIN_DB]))
        hw = struct.pack(
            "<BBBBxHBH2xHHHhHH", 1, 42, 0, 0, 0, ch, 0, RATE_KHZ, 0, 0, -PRETRIGGER, 0, 0
        )
        subs.append(bytes([173, 42]) + hw)
    body = b"\x00" + struct.pack("<H", 1) + b"".join(struct.pack("<H", len(s)) + s for s in subs)
    out = _message(99, b"Mon May 31 12:00:00 2021\n\x00")
    out += _message(42, body)
    if filler:  # AEwin writes status messages here; MistrasDTA swallows what follows 42
        out += _message(128, _rtot(0.0)) * 2
    for t, ch, wave in hits:
        feats = struct.pack("<BiHHf", 60, 150, 12, 20, 1234.5)
        out += _message(1, _rtot(t) + bytes([ch]) + feats)
        out += _message(173, bytes([1]) + _rtot(t) + bytes([ch, 0]) + wave.astype("<i2").tobytes())
    path.write_bytes(out)


def test_dta_waveforms_become_a_recording_with_counts_times_and_hits(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    waves = [rng.integers(-2000, 2000, 1024).astype(np.int16) for _ in range(3)]
    hits = [(0.25, 1, waves[0]), (0.25002, 2, waves[1]), (1.5, 1, waves[2])]
    dta = tmp_path / "test.DTA"
    write_dta(dta, hits)
    contents = read_dta(dta)
    step = 10.0 / (10 ** (GAIN_DB / 20) * 32768)
    assert contents.layout.sample_rate_hz == RATE_KHZ * 1000 and contents.layout.channels == 2
    assert contents.layout.volts_per_count == pytest.approx((step, step))
    assert [r.pretrigger for r in contents.records] == [PRETRIGGER] * 3
    out = tmp_path / "test.h5"
    assert main(["import", str(dta), "-o", str(out)]) == 0
    fs = RATE_KHZ * 1000
    with RecordingReader(out) as rec, open_tables(out) as f:
        assert rec.format.volts_per_count == pytest.approx(step)
        for t, ch, wave in hits:
            column = rec.raw_index(round(t * fs) - PRETRIGGER)
            assert column is not None
            assert np.array_equal(rec.read(column, 1024)[ch - 1], wave)
        table = table_dataset(f, "dta")[()]
        assert table["channel"].tolist() == [0, 1, 0]
        assert table["amplitude_dBAE"].tolist() == [60, 60, 60]
        assert table["duration_us"].tolist() == [150, 150, 150]
        assert table["counts"].tolist() == [12, 12, 12]
        assert table["energy_eu"] == pytest.approx([1234.5 * 9.31e-4] * 3, rel=1e-6)  # aJ
        assert table["time_s"] == pytest.approx([t for t, _, _ in hits], abs=1 / fs)


def test_a_cut_dta_file_is_one_line(tmp_path: Path) -> None:
    dta = tmp_path / "cut.DTA"
    write_dta(dta, [(0.1, 1, np.zeros(64, np.int16))])
    dta.write_bytes(dta.read_bytes()[:-40])
    with pytest.raises(FileFormatError, match="cut inside a message"):
        read_dta(dta)


def test_hits_the_package_swallows_are_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dta = tmp_path / "bare.DTA"
    write_dta(dta, [(0.1, 1, np.ones(64, np.int16)), (0.2, 2, np.ones(64, np.int16))], filler=False)
    contents = read_dta(dta)
    assert len(contents.records) == 2
    assert "lost 1 of 2 hits" in caplog.text
