"""Replay: max speed finds what ``aemon detect`` finds; paced speeds take their time."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from aemon.cli import main
from aemon.detect.options import DetectOptions
from aemon.detect.replay import parse_speed, replay_file
from aemon.errors import ConfigError
from aemon.io.event_csv import array_to_events, read_event_csv
from aemon.io.event_tables import list_event_tables, open_tables, table_dataset
from aemon.io.recording import RecordingWriter
from aemon.types import ChannelInfo, Gap, StreamFormat
from tests.detect_models import RATE, burst, energy_model


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "energy"
    energy_model(path)
    return path


def make_recording(path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 200_000)) * 10.0
    for i, (onset, ch) in enumerate([(40_000, 0), (95_000, 1), (150_013, 0)]):
        x[ch, onset : onset + 300] += burst(300, 1000.0, seed=i)
    x = np.round(x).astype(np.int16)
    fmt = StreamFormat(RATE, 2, "int16", 1e-6)
    with RecordingWriter(path, fmt, [ChannelInfo("a"), ChannelInfo("b")]) as rec:
        rec.push(0, x[:, :60_000])
        rec.gap(Gap(60_000, 70_000, "sequence"))
        rec.push(70_000, x[:, 70_000:])


@pytest.mark.parametrize("detector", ["nn", "threshold"])
def test_max_speed_replay_gives_the_events_of_detect(
    model: Path, tmp_path: Path, detector: str
) -> None:
    path = tmp_path / "rec.h5"
    make_recording(path)
    options = ["--detector", detector, "--model", str(model), "--threshold"]
    options.append("0.5" if detector == "nn" else "45")
    assert main(["detect", str(path), "-o", str(tmp_path / "d.csv"), *options]) == 0
    assert main(["replay", str(path), "--speed", "max", "--table", "r1", *options]) == 0
    assert main(["replay", str(path), "--table", "r2", "--detector", "threshold"]) == 0
    detected = read_event_csv(tmp_path / "d.csv")
    with open_tables(path) as f:
        replayed = array_to_events(table_dataset(f, "r1")[()])
        tables = {t.name: t for t in list_event_tables(f)}
    assert len(detected) >= 3
    assert len(replayed) == len(detected)
    for r, d in zip(replayed, detected, strict=True):  # CSV text vs float32 table columns
        for name, a, b in zip(d._fields, r, d, strict=True):
            if isinstance(b, str):
                assert a == b or name == "utc", name
            else:
                tol = 5e-3 if name.endswith("_pct") else 1e-6  # the CSV keeps 0.01 %
                assert a == pytest.approx(b, rel=1e-3, abs=tol, nan_ok=True), name
    assert tables["r1"].detector == detector and tables["r1"].threshold in (0.5, 45.0)
    assert tables["r1"].model == ("energy" if detector == "nn" else "")
    assert tables["r2"].threshold == 40.0 and "events" in tables


def test_paced_replay_of_a_wav_takes_signal_time_over_speed(tmp_path: Path) -> None:
    wav = tmp_path / "a.wav"
    rate = 48_000
    noise = np.random.default_rng(1).normal(0, 100, rate // 2).astype(np.int16)  # 0.5 s
    sf.write(wav, noise, rate, subtype="PCM_16")
    options = DetectOptions(detector="threshold")
    replay_file(wav, options=options, speed=math.inf, out_csv=tmp_path / "warm.csv")  # JIT
    started = time.monotonic()
    summary = replay_file(wav, options=options, speed=4.0)
    assert time.monotonic() - started >= 0.5 / 4 - 0.03
    assert summary.output == str(tmp_path / "a.wav.replay.csv")
    assert (tmp_path / "a.wav.replay.csv").read_text().startswith("time_s,")
    with pytest.raises(ConfigError, match="exists"):
        replay_file(wav, options=options, speed=4.0)
    with pytest.raises(ConfigError, match="--table is for aemon"):
        replay_file(wav, options=options, table="x", out_csv=tmp_path / "b.csv")


def test_paced_replay_reports_the_speed_it_achieved(tmp_path: Path) -> None:
    wav = tmp_path / "b.wav"
    rate = 48_000
    noise = np.random.default_rng(2).normal(0, 100, 2 * rate).astype(np.int16)  # 2 s
    sf.write(wav, noise, rate, subtype="PCM_16")
    options = DetectOptions(detector="threshold", x_noise=6.0)
    for speed in (4.0, 8.0):
        out = tmp_path / f"{speed:g}.csv"
        started = time.monotonic()
        summary = replay_file(wav, options=options, speed=speed, out_csv=out)
        assert time.monotonic() - started >= 0.9 * 2.0 / speed  # paced to the end of the signal
        achieved = summary.seconds / summary.wall_s  # start-up (file, detector) not counted
        assert achieved == pytest.approx(speed, rel=0.05), summary.line()
        assert f"at {speed:g}× ({achieved:.2f}× real time)" in summary.line()


def test_speed_parsing() -> None:
    assert parse_speed("max") == math.inf and parse_speed("4") == 4.0 and parse_speed("1x") == 1
    for bad in ("0", "-1", "fast", "nan"):
        with pytest.raises(ConfigError):
            parse_speed(bad)
