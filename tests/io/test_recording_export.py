"""Export: our HDF5 -> pridb/tradb read back by vallenae, CSV with filters, WAV per event."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import vallenae.io as vio

from aemon.cli import main
from aemon.errors import ConfigError
from aemon.io.event_csv import read_event_csv
from aemon.io.recording import EVENT_DTYPE, RecordingWriter
from aemon.io.recording_export import EventFilter, export_csv, export_vallen, export_wav
from aemon.types import ChannelInfo, Gap, StreamFormat

RATE = 1_000_000.0
VPC = 2e-6  # V per count at the ADC
GAIN_DB = 20.0  # the sensor sees a tenth of the ADC volts
N = 400_000


def make_recording(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Two int16 channels with a gap; 6 events with features; returns (signal, events)."""
    rng = np.random.default_rng(5)
    x = np.round(rng.standard_normal((2, N)) * 50).astype(np.int16)
    channels = [ChannelInfo(f"ch{i + 1}", gain_db=GAIN_DB, volts_per_count=VPC) for i in range(2)]
    fmt = StreamFormat(RATE, 2, "int16", VPC)
    start = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    with RecordingWriter(path, fmt, channels, start_time_utc=start) as rec:
        rec.push(0, x[:, :200_000])
        rec.gap(Gap(200_000, 250_000, "sequence"))
        rec.push(250_000, x[:, 250_000:])
        events = np.zeros(6, dtype=EVENT_DTYPE)
        events["sample_index"] = [10_000, 60_000, 90_000, 150_000, 300_000, 380_000]
        events["time_s"] = events["sample_index"] / RATE
        events["channel"] = [0, 1, 0, 1, 0, 1]
        events["type"] = [b"burst", b"burst", b"noise", b"burst", b"burst", b"noise"]
        events["amplitude_V"] = rng.uniform(1e-4, 1e-2, 6)
        events["rise_time_us"] = rng.uniform(1, 50, 6)
        events["duration_us"] = rng.uniform(50, 500, 6)
        events["energy_eu"] = rng.uniform(1, 1e4, 6)
        events["rms_V"] = rng.uniform(1e-6, 1e-5, 6)
        events["signal_strength_nVs"] = rng.uniform(10, 1e5, 6)
        events["counts"] = rng.integers(1, 200, 6)
        rec.add_events(events[[0, 2, 1, 3, 4, 5]])  # not in time order: export sorts
    return x, events


def test_hdf5_to_pridb_and_tradb_reads_back_the_same_hits_features_and_waveforms(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rec.h5"
    x, events = make_recording(path)
    pridb, tradb = tmp_path / "out.pridb", tmp_path / "out.tradb"
    summary = export_vallen(path, pridb, tradb, pretrigger_us=100, record_us=1000)
    assert summary.events == 6
    with vio.PriDatabase(str(pridb)) as db:
        hits = list(db.iread_hits())
        stamp = db.to_datetime(0.0)
    assert stamp == datetime(2026, 3, 4, 5, 6, 7)
    with vio.TraDatabase(str(tradb)) as db:
        records = {r.trai: r for r in db.iread()}
    assert len(hits) == len(records) == 6
    for hit, ev in zip(hits, events, strict=True):
        assert hit.time == pytest.approx(ev["time_s"], abs=1e-7)
        assert hit.channel == ev["channel"] + 1
        assert hit.amplitude == pytest.approx(ev["amplitude_V"], rel=1e-6)
        assert hit.rise_time == pytest.approx(ev["rise_time_us"] * 1e-6, abs=1e-7)
        assert hit.duration == pytest.approx(ev["duration_us"] * 1e-6, abs=1e-7)
        assert hit.energy == pytest.approx(ev["energy_eu"], rel=1e-6)
        assert hit.rms == pytest.approx(ev["rms_V"], rel=1e-4)
        assert hit.signal_strength == pytest.approx(ev["signal_strength_nVs"], rel=1e-6)
        assert hit.counts == ev["counts"]
        tra = records[hit.trai]
        assert (tra.channel, tra.pretrigger, tra.samples) == (hit.channel, 100, 1000)
        assert tra.time == pytest.approx(hit.time, abs=1e-7)
        first = int(ev["sample_index"]) - 100
        want = x[ev["channel"], first : first + 1000] * VPC / 10.0  # sensor volts
        if first + 1000 > 200_000 and first < 250_000:  # window over the gap: zeros there
            want = want.copy()
            want[max(0, 200_000 - first) : 250_000 - first] = 0
        np.testing.assert_allclose(tra.data, want, rtol=0, atol=VPC / 10 * 1e-3)


def test_csv_filters_by_time_channel_and_type(tmp_path: Path) -> None:
    path = tmp_path / "rec.h5"
    _, events = make_recording(path)
    out = tmp_path / "e.csv"
    export_csv(path, out, event_filter=EventFilter(0.05, 0.35, 1, "burst"))
    got = read_event_csv(out)
    want = [e for e in events if 0.05 <= e["time_s"] < 0.35 and e["channel"] == 1]
    want = [e for e in want if e["type"] == b"burst"]
    assert (
        [e.sample_index for e in got] == [int(e["sample_index"]) for e in want] == [60_000, 150_000]
    )
    assert got[0].utc.startswith("2026-03-04T05:06:07.06")
    with pytest.raises(ConfigError, match="past the end"):
        export_csv(path, tmp_path / "x.csv", event_filter=EventFilter(start_s=5.0))
    with pytest.raises(ConfigError, match="not after"):
        export_csv(path, tmp_path / "x.csv", event_filter=EventFilter(0.2, 0.1))
    assert not (tmp_path / "x.csv").exists()


def test_wav_per_event_with_pretrigger(tmp_path: Path) -> None:
    path = tmp_path / "rec.h5"
    x, _ = make_recording(path)
    out = tmp_path / "waves"
    summary = export_wav(
        path, out, event_filter=EventFilter(channel=0), pretrigger_us=50, record_us=300
    )
    files = sorted(out.iterdir())
    assert summary.events == len(files) == 3
    data, rate = sf.read(files[0], dtype="float64")
    assert rate == RATE and len(data) == 300
    np.testing.assert_allclose(data, x[0, 10_000 - 50 : 10_000 + 250] * VPC, rtol=1e-6)
    assert files[0].name == "000001_ch0_0.010000s.wav"  # channel numbers as in the CSV


def test_cli_refuses_existing_outputs_without_overwrite_and_accepts_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rec.h5"
    make_recording(path)
    out = tmp_path / "e.csv"
    out.write_text("keep me")
    assert main(["export", str(path), "--csv", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "exists" in err and "--overwrite" in err
    assert out.read_text() == "keep me"
    assert main(["export", str(path), "--csv", str(out), "--force", "--channel", "ch2"]) == 0
    assert {e.channel for e in read_event_csv(out)} == {1}
    assert main(["export", str(path), "--csv", str(out), "--overwrite", "--to", "-1"]) == 2
    assert "before the start" in capsys.readouterr().err


def test_export_takes_o_and_without_table_the_newest_table_when_events_is_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "day.h5"
    make_recording(path)
    out = tmp_path / "all.csv"
    assert main(["export", str(path), "-o", str(out)]) == 0  # the live table: 6 events
    assert len(read_event_csv(out)) == 6
    assert capsys.readouterr().out.endswith(f"-> {out} (table events)\n")
    waves = tmp_path / "waves"
    args = ["-o", f"{waves}/", "--pretrigger-us", "50", "--record-us", "200"]
    assert main(["export", str(path), *args]) == 0
    assert len(list(waves.glob("*_ch0_*.wav"))) == 3  # channel numbers as in the CSV
    assert main(["export", str(path), "-o", str(tmp_path / "x.txt")]) == 2
    assert "cannot tell the format" in capsys.readouterr().err
    # a recording whose live table is empty (a plain `record`) with a replayed table
    sim = tmp_path / "sim.h5"
    assert main(["sim", "--duration", "0.25", "--seed", "2", "--out", str(sim)]) == 0
    assert main(["replay", str(sim), "--detector", "threshold", "--table", "thr"]) == 0
    capsys.readouterr()
    out = tmp_path / "sim.csv"
    assert main(["export", str(sim), "-o", str(out)]) == 0
    said = capsys.readouterr()
    assert "the live table events is empty; exporting the newest table, thr (" in said.err
    assert said.out.endswith("(table thr)\n") and len(read_event_csv(out)) > 0
