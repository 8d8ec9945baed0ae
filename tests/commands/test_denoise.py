"""``aemon denoise`` and ``--features-from denoised`` on detect, replay and export, end to end."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from aemon.cli import main
from aemon.denoise.event_features import DENOISED_COLUMNS, RAW_PREFIX
from aemon.io.event_csv import CSV_COLUMNS
from aemon.io.recording import RecordingReader


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dn") / "rec.h5"
    args = ["sim", "--duration", "0.15", "--burst-rate", "60", "--snr-min", "15", "--seed", "2"]
    assert main([*args, "--out", str(path)]) == 0
    return path


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def test_denoise_writes_a_quieter_recording_with_the_time_base(
    recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "clean.h5"
    assert main(["denoise", str(recording), "--out", str(out)]) == 0
    assert "denoised" in capsys.readouterr().out
    with RecordingReader(recording) as raw, RecordingReader(out) as den:
        assert den.samples == raw.samples and den.format.dtype == "float32"
        assert den.info.start_time_utc == raw.info.start_time_utc
        assert len(den.truth()) == len(raw.truth()) > 0
        before = raw.read(0, raw.samples, volts=True)[0]
        after = den.read(0, den.samples, volts=True)[0]
        first = int(raw.truth()["onset_sample"].min())
    quiet = slice(0, max(first - 200, 1000))  # background before the first burst
    assert np.std(after[quiet]) < 0.5 * np.std(before[quiet])
    assert main(["denoise", str(recording), "--out", str(out)]) == 2  # exists
    assert "--overwrite" in capsys.readouterr().err
    assert main(["denoise", str(recording), "--out", str(tmp_path / "x.wav")]) == 2


def test_detect_with_denoised_features_keeps_the_raw_ones(recording: Path, tmp_path: Path) -> None:
    plain, denoised = tmp_path / "plain.csv", tmp_path / "denoised.csv"
    common = ["detect", str(recording), "--detector", "threshold", "--no-progress"]
    assert main([*common, "-o", str(plain)]) == 0
    assert main([*common, "-o", str(denoised), "--features-from", "denoised"]) == 0
    header, rows = _rows(denoised)
    plain_header, plain_rows = _rows(plain)
    assert plain_header == CSV_COLUMNS and header == DENOISED_COLUMNS
    assert len(rows) == len(plain_rows) > 0
    for row, ref in zip(rows, plain_rows, strict=True):
        assert row["time_s"] == ref["time_s"]
        assert row[RAW_PREFIX + "energy_eu"] == ref["energy_eu"]
    assert any(r["energy_eu"] != r[RAW_PREFIX + "energy_eu"] for r in rows)
    bad = [*common, "-o", str(tmp_path / "b.csv"), "--features-from", "denoised"]
    assert main([*bad, "--denoiser", str(tmp_path / "none")]) == 2
    assert not (tmp_path / "b.csv").exists()


def test_replay_and_export_with_denoised_features(recording: Path, tmp_path: Path) -> None:
    replay = ["replay", str(recording), "--detector", "threshold", "--features-from", "denoised"]
    assert main(replay) == 2  # a table cannot hold the raw_* columns: -o is needed
    out = tmp_path / "replay.csv"
    assert main([*replay, "-o", str(out)]) == 0
    assert _rows(out)[0] == DENOISED_COLUMNS
    assert main(["replay", str(recording), "--detector", "threshold", "--table", "thr"]) == 0
    exported = tmp_path / "export.csv"
    export = ["export", str(recording), "--table", "thr", "--csv", str(exported)]
    assert main([*export, "--features-from", "denoised"]) == 0
    header, rows = _rows(exported)
    assert header == DENOISED_COLUMNS and len(rows) == len(_rows(out)[1])
    assert (
        main(["export", str(recording), "--wav", str(tmp_path), "--features-from", "denoised"]) == 2
    )


def test_train_denoiser_refuses_an_existing_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train-denoiser", "--out", str(tmp_path), "--steps", "1"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["train-denoiser", "--out", str(tmp_path / "m"), "--minutes", "0"]) == 2
    bad_rate = ["train-denoiser", "--out", str(tmp_path / "m"), "--learning-rate", "0"]
    assert main(bad_rate) == 2
    assert "--learning-rate" in capsys.readouterr().err
