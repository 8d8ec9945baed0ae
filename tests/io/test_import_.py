"""Import: WAV -> HDF5 -> CSV, tradb -> HDF5 -> tradb, raw, and bad inputs in one line."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import vallenae.io as vio

from aemon.cli import main
from aemon.detect.offline import detect_file
from aemon.errors import FileFormatError
from aemon.io.event_csv import read_event_csv
from aemon.io.event_tables import open_tables, table_dataset
from aemon.io.import_ import import_file
from aemon.io.recording import RecordingReader
from aemon.io.recording_export import export_csv, export_vallen
from aemon.types import Gap

RATE = 192_000


def burst_signal(seconds: float = 1.0, seed: int = 1) -> np.ndarray:
    """Quiet int16 noise with three loud 2 ms bursts, one channel."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    x = rng.standard_normal(n) * 30
    t = np.arange(400) / RATE
    for onset in (30_000, 90_000, 150_000):
        x[onset : onset + 400] += 12_000 * np.sin(2 * np.pi * 40_000 * t) * np.exp(-t / 4e-4)
    return np.round(x).astype(np.int16)


def test_wav_to_hdf5_keeps_counts_and_scale_and_gives_the_same_events(tmp_path: Path) -> None:
    wav = tmp_path / "lab.wav"
    x = burst_signal()
    sf.write(wav, x, RATE, subtype="PCM_16")
    h5 = tmp_path / "lab.h5"
    summary = import_file(wav, h5, volts_per_count=0.02)  # 20 mV at full scale
    assert (summary.samples, summary.dtype) == (x.size, "int16")
    with RecordingReader(h5) as rec:
        assert rec.format.volts_per_count == pytest.approx(0.02 / 32768)
        assert np.array_equal(rec.read(0, x.size)[0], x)
    # events straight from the WAV == events from the imported recording, via a CSV export
    direct = tmp_path / "direct.csv"
    detect_file(wav, direct, detector="threshold", volts_per_count=0.02, progress=False)
    assert main(["replay", str(h5), "--detector", "threshold", "--table", "thr"]) == 0
    exported = tmp_path / "exported.csv"
    export_csv(h5, exported, table="thr")
    a, b = read_event_csv(direct), read_event_csv(exported)
    assert len(a) == 3
    assert [(e.sample_index, e.channel) for e in a] == [(e.sample_index, e.channel) for e in b]
    assert [e.amplitude_V for e in a] == pytest.approx([e.amplitude_V for e in b], rel=1e-6)
    # a WAV carries no start time: the recording's is unknown, not the time of the import
    assert all(e.utc == "" for e in b)
    with RecordingReader(h5) as rec:
        assert rec.info.start_time_utc == ""
    stamped = tmp_path / "stamped.h5"
    import_file(wav, stamped, volts_per_count=0.02, start_time_utc="2026-03-01T08:00:00Z")
    with RecordingReader(stamped) as rec:
        assert rec.info.start_time_utc.startswith("2026-03-01T08:00:00")


def test_a_wav_cut_short_is_read_with_a_warning_that_gives_its_real_length(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    whole = tmp_path / "whole.wav"
    sf.write(whole, burst_signal(), RATE, subtype="PCM_16")  # 192 000 frames declared
    wav = tmp_path / "cut.wav"
    wav.write_bytes(whole.read_bytes()[: 44 + 2 * 100_000])  # the data chunk runs past EOF
    with caplog.at_level(logging.WARNING):
        detect_file(wav, tmp_path / "cut.csv", detector="threshold", progress=False)
    detected = [r.message for r in caplog.records if "truncated" in r.message]
    assert len(detected) == 1 and "192,000 frames (1 s)" in detected[0]
    assert "ends after 100,000 (0.520833 s)" in detected[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        summary = import_file(wav, tmp_path / "cut.h5")
    assert summary.samples == 100_000
    assert any("ends after 100,000" in r.message for r in caplog.records)
    with RecordingReader(tmp_path / "cut.h5") as rec:
        notes = [(i[0], i[3], i[4]) for i in rec.incidents()]
    assert notes == [(100_000, "truncated", detected[0])]


def write_tradb(path: Path, records: list[tuple[float, int, int, int]], tr_mv: float = 0.05):
    """(time s, channel, pretrigger, samples) records of random int16 data; returns the data."""
    vio.TraDatabase.create(str(path))
    rng = np.random.default_rng(3)
    data = []
    with vio.TraDatabase(str(path), mode="rw") as db:
        con = db.connection()
        for ch in (1, 2, 3):
            con.execute(
                "INSERT INTO tr_params (ID, SetupID, Chan, ADC_µV, TR_mV) VALUES (?, 1, ?, 1, ?)",
                (ch, ch, tr_mv),
            )
        con.commit()
        for trai, (t, ch, pre, n) in enumerate(records, start=1):
            counts = rng.integers(-3000, 3000, n).astype(np.int16)
            data.append(counts)
            db.write(vio.TraRecord(
                time=t, channel=ch, param_id=ch, pretrigger=pre, threshold=1e-3,
                samplerate=RATE, samples=n, data=counts * tr_mv / 1e3, trai=trai,
            ))  # fmt: skip
    return data


def test_tradb_to_hdf5_to_tradb_gives_the_same_samples(tmp_path: Path) -> None:
    records = [(0.5, 1, 100, 1024), (0.5001, 2, 100, 1024), (0.75, 1, 100, 1024), (2.0, 3, 50, 512)]
    src = tmp_path / "in.tradb"
    data = write_tradb(src, records)
    h5 = tmp_path / "in.h5"
    assert main(["import", str(src), "-o", str(h5)]) == 0
    with RecordingReader(h5) as rec:
        assert rec.format == rec.format._replace(dtype="int16", channels=3)
        assert rec.format.volts_per_count == pytest.approx(0.05e-3)
        assert any(g.reason == "no-record" for g in rec.gaps())
        assert rec.samples == 1024 + 19 + 1024 + 512  # overlapping records share columns
    out = tmp_path / "out.tradb"
    export_vallen(h5, tmp_path / "out.pridb", out, table="records")
    with vio.TraDatabase(str(out)) as db:
        back = list(db.iread(raw=True))
    assert len(back) == len(records)
    for rec_back, (t, ch, pre, n), counts in zip(back, records, data, strict=True):
        assert (rec_back.channel, rec_back.pretrigger, rec_back.samples) == (ch, pre, n)
        assert rec_back.time == pytest.approx(t, abs=1 / RATE)
        assert np.array_equal(rec_back.data, counts)
    again = tmp_path / "again.h5"  # out.tradb with its pridb beside it
    summary = import_file(out, again)
    assert summary.tables == {"records": 4, "pridb": 4}
    with open_tables(again) as f:
        hits = table_dataset(f, "pridb")[()]
    assert hits["channel"].tolist() == [ch - 1 for _, ch, _, _ in records]
    assert hits["time_s"] == pytest.approx([t for t, _, _, _ in records], abs=2 / RATE)


def test_bad_inputs_get_one_line_and_leave_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mixed = tmp_path / "mixed.tradb"
    write_tradb(mixed, [(0.1, 1, 10, 100)])
    with vio.TraDatabase(str(mixed), mode="rw") as db:
        db.write(vio.TraRecord(
            time=0.2, channel=1, param_id=1, pretrigger=10, threshold=1e-3, samplerate=96_000,
            samples=100, data=np.zeros(100), trai=2,
        ))  # fmt: skip
    wav = tmp_path / "cut.wav"
    sf.write(wav, burst_signal(1.0)[:40_000], RATE, subtype="PCM_16")
    (tmp_path / "cut-short.wav").write_bytes(wav.read_bytes()[:30])
    h5 = tmp_path / "ok.h5"
    import_file(wav, h5)
    (tmp_path / "cut.h5").write_bytes(h5.read_bytes()[: h5.stat().st_size // 2])
    cases = {
        "mixed.tradb": "different sample rates",
        "cut-short.wav": "cannot be read as audio",
        "cut.h5": "already an aemon recording",
    }
    for name, message in cases.items():
        out = tmp_path / f"{name}.out.h5"
        assert main(["import", str(tmp_path / name), "-o", str(out)]) == 2, name
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and message in err, err
        assert not out.exists()
    for command in (
        ["replay", str(tmp_path / "cut.h5")],
        ["export", str(tmp_path / "cut.h5"), "--csv", "x.csv"],
    ):
        assert main(command) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "truncated" in err, err
    assert main(["import", str(wav), "-o", str(h5)]) == 2
    assert "exists" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_raw_int16_keeps_counts_and_float_raw_becomes_volts(tmp_path: Path) -> None:
    x = np.arange(-5000, 5000, dtype=np.int16).reshape(-1, 2)  # interleaved frames, 2 ch
    raw = tmp_path / "dump.raw"
    x.tofile(raw)
    h5 = tmp_path / "dump.h5"
    import_file(raw, h5, sample_rate_hz=1e6, dtype="int16", channels=2, volts_per_count=3e-4)
    with RecordingReader(h5) as rec:
        assert rec.format.volts_per_count == pytest.approx(3e-4) and rec.format.dtype == "int16"
        assert np.array_equal(rec.read(0, 10_000), x.T)
    f32 = tmp_path / "f.bin"
    (x.astype(np.float32) * 0.5).tofile(f32)
    import_file(f32, tmp_path / "f.h5", sample_rate_hz=1e6, dtype="float32", channels=2)
    with RecordingReader(tmp_path / "f.h5") as rec:
        assert rec.format.dtype == "float32"
        np.testing.assert_array_equal(rec.read(0, 10_000), x.T * 0.5)
    assert Gap(0, 1, "x").samples == 1
    with pytest.raises(FileFormatError):
        import_file(tmp_path / "nope.wav", tmp_path / "n.h5")
