"""``aemon detect`` and detect_file on real files: HDF5 with gaps, WAV, raw, Vallen tradb."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from aemon.cli import main
from aemon.detect.offline import detect_file
from aemon.io.event_csv import read_event_csv
from aemon.io.recording import RecordingWriter
from aemon.types import ChannelInfo, Gap, StreamFormat
from tests.detect_models import RATE, burst, energy_model

ONSETS = [(40_000, 0), (95_000, 1), (150_013, 0), (150_500, 1)]  # (sample, channel)
N = 200_000


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "energy"
    energy_model(path)
    return path


def signal(channels: int = 2, seed: int = 0) -> np.ndarray:
    """Noise of 10 counts RMS with 300-sample bursts at :data:`ONSETS`, int16 counts."""
    x = np.random.default_rng(seed).standard_normal((channels, N)) * 10.0
    for i, (onset, ch) in enumerate(ONSETS):
        if ch < channels:
            x[ch, onset : onset + 300] += burst(300, 1000.0, seed=i)
    return np.round(x).astype(np.int16)


def found(events: list, rate: float = RATE, tolerance_us: float = 20.0) -> list[tuple[int, int]]:
    """(onset, channel) of the true bursts that have an event within the tolerance."""
    tol = tolerance_us * 1e-6 * rate
    hits = []
    for onset, ch in ONSETS:
        if any(e.channel == ch and abs(e.sample_index - onset) <= tol for e in events):
            hits.append((onset, ch))
    return hits


def test_recording_with_a_gap_gives_each_burst_once_at_its_time(
    model: Path, tmp_path: Path
) -> None:
    x = signal()
    path = tmp_path / "rec.h5"
    fmt = StreamFormat(RATE, 2, "int16", 1e-6)
    start = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with RecordingWriter(
        path, fmt, [ChannelInfo("a"), ChannelInfo("b")], start_time_utc=start, first_sample=1000
    ) as rec:
        rec.push(1000, x[:, :60_000])
        rec.gap(Gap(61_000, 71_000, "sequence"))  # samples 60_000..70_000 of x are lost
        rec.push(71_000, x[:, 70_000:])
    out = tmp_path / "events.csv"
    summary = detect_file(path, out, model=model, progress=False)
    events = read_event_csv(out)
    assert summary.events == len(events) == 4
    assert summary.seconds == pytest.approx(N / RATE)
    shifted = [(o + 1000, c) for o, c in ONSETS]
    for e, (onset, ch) in zip(sorted(events, key=lambda e: e.sample_index), shifted, strict=True):
        assert e.channel == ch and abs(e.sample_index - onset) <= 30
        assert e.time_s == pytest.approx((e.sample_index - 1000) / RATE)
        assert e.detector == "energy" and e.type in ("low", "high") and e.score > 0.9
        assert e.utc.startswith("2026-01-02T03:04:05.")
        assert e.amplitude_V > 5e-4  # features measured on the raw samples (1000 counts)


def test_wav_and_raw_files(model: Path, tmp_path: Path) -> None:
    x = signal()
    wav = tmp_path / "two.wav"
    sf.write(wav, x.T, int(RATE), subtype="PCM_16")
    detect_file(wav, tmp_path / "wav.csv", model=model, progress=False)
    assert found(read_event_csv(tmp_path / "wav.csv")) == ONSETS
    raw = tmp_path / "two.bin"
    x.T.tofile(raw)  # interleaved frames
    detect_file(
        raw,
        tmp_path / "raw.csv",
        model=model,
        sample_rate_hz=RATE,
        dtype="int16",
        channels=2,
        progress=False,
    )
    events = read_event_csv(tmp_path / "raw.csv")
    assert found(events) == ONSETS and len(events) == 4


def test_threshold_and_cascade_detectors(model: Path, tmp_path: Path) -> None:
    x = signal(seed=1)
    x[0, 120_000] = 1000  # a one-sample electrical spike: a threshold hit, not a burst
    raw = tmp_path / "spike.raw"
    x.T.tofile(raw)
    common: dict = {
        "sample_rate_hz": RATE,
        "dtype": "int16",
        "channels": 2,
        "volts_per_count": 1e-6,
    }
    detect_file(
        raw, tmp_path / "thr.csv", detector="threshold", x_noise=8, progress=False, **common
    )
    hits = read_event_csv(tmp_path / "thr.csv")
    assert found(hits) == ONSETS
    assert any(abs(e.sample_index - 120_000) < 5 for e in hits)
    assert {e.detector for e in hits} == {"threshold"} and {e.type for e in hits} == {"hit"}
    summary = detect_file(
        raw, tmp_path / "cas.csv", model=model, detector="cascade", x_noise=8, progress=False,
        **common,
    )  # fmt: skip
    confirmed = read_event_csv(tmp_path / "cas.csv")
    assert found(confirmed) == ONSETS and summary.model == "energy"
    assert not any(abs(e.sample_index - 120_000) < 100 for e in confirmed)  # spike rejected
    assert {e.type for e in confirmed} <= {"low", "high"}


def test_tradb_records_are_detected_at_their_own_time(model: Path, tmp_path: Path) -> None:
    vae = pytest.importorskip("vallenae")
    path = tmp_path / "hits.tradb"
    vae.io.TraDatabase.create(str(path))
    rng = np.random.default_rng(2)
    with vae.io.TraDatabase(str(path), mode="rw") as tradb:
        param = tradb.connection().execute("SELECT ID FROM tr_params").fetchone()
        param_id = int(param[0]) if param else _add_params(tradb)
        for i, (t, chan) in enumerate([(1.5, 1), (2.25, 2)]):
            data = rng.standard_normal(8192) * 1e-5
            data[2000:2300] += burst(300, 1e-3, seed=i)
            record = vae.io.TraRecord(
                time=t, channel=chan, param_id=param_id, pretrigger=500, threshold=1e-4,
                samplerate=int(RATE), samples=8192, data=data.astype(np.float32), trai=i + 1,
            )  # fmt: skip
            tradb.write(record)
    out = tmp_path / "tradb.csv"
    summary = detect_file(path, out, model=model, progress=False)
    events = read_event_csv(out)
    assert summary.events == len(events) == 2
    for e, (t, chan) in zip(events, [(1.5, 1), (2.25, 2)], strict=True):
        assert e.channel == chan - 1
        assert e.time_s == pytest.approx(t + (2000 - 500) / RATE, abs=20e-6)
        assert e.sample_index == round(e.time_s * RATE)


def _add_params(tradb: object) -> int:
    con = tradb.connection()  # type: ignore[attr-defined]
    con.execute("INSERT INTO tr_params (ID, SetupID, Chan, ADC_µV, TR_mV) VALUES (1, 1, 1, 1, 1)")
    con.commit()
    return 1


def test_cli_writes_csv_and_reports_bad_input_in_one_line(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wav = tmp_path / "one.wav"
    sf.write(wav, signal(1).T, int(RATE), subtype="PCM_16")
    assert main(["detect", str(wav), "--model", str(model), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "2 events in 0.128 s of signal (1 ch)" in out and "one.wav.events.csv" in out
    assert len(read_event_csv(tmp_path / "one.wav.events.csv")) == 2
    raw = tmp_path / "x.raw"
    signal(1).tofile(raw)
    assert main(["detect", str(raw), "-o", str(tmp_path / "e.csv"), "--model", str(model)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--rate HZ and --dtype" in err
    slow = tmp_path / "slow.wav"
    sf.write(slow, signal(1).T, 192_000, subtype="PCM_16")
    assert main(["detect", str(slow), "--model", str(model), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "aemon train CONFIG --rate 192000" in err
    assert main(["detect", str(wav), "--model", str(tmp_path / "none"), "--overwrite"]) == 2
    assert "no detector model" in capsys.readouterr().err
