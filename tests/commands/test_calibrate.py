"""``aemon calibrate``: a threshold for a target false-alarm rate, stored beside the model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from aemon.cli import main
from aemon.detect.calibration import CALIBRATION_FILE, count_runs, read_site_calibration
from aemon.detect.onnx_runtime import OnnxDetector
from aemon.detect.signal_detection import background_map
from tests.detect_models import RATE, energy_model

SECONDS = 3.0


def noise(path: Path, seed: int) -> Path:
    """Heavy-tailed noise (Student t, 3 degrees of freedom): many candidate runs."""
    x = np.random.default_rng(seed).standard_t(3, int(SECONDS * RATE)) * 0.01
    sf.write(path, x.astype(np.float32), int(RATE), subtype="FLOAT")
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "energy"
    energy_model(path)
    return path


@pytest.mark.parametrize("fa_per_min", [300.0, 1200.0])
def test_calibration_meets_its_target_on_a_second_noise_file(
    model: Path, tmp_path: Path, fa_per_min: float, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = noise(tmp_path / "a.wav", 1), noise(tmp_path / "b.wav", 2)
    status = main(
        ["calibrate", str(first), "--model", str(model), "--fa-per-min", str(fa_per_min), "--json"]
    )
    assert status == 0
    printed = json.loads(capsys.readouterr().out)
    calibration = read_site_calibration(model)
    assert calibration is not None and calibration.threshold == printed["threshold"]
    assert calibration.measured_fa_per_min <= fa_per_min

    uncalibrated = OnnxDetector(model, site_calibration=False)
    assert OnnxDetector(model).card.threshold == calibration.threshold
    probabilities, bins, rate, _ = background_map(uncalibrated, [second])
    rate_on_second = count_runs(
        probabilities, bins, rate, uncalibrated.card, calibration.threshold
    ) / (SECONDS / 60)
    assert fa_per_min / 2 <= rate_on_second <= fa_per_min * 2
    # the card's default threshold fires far more often on this noise: calibration mattered
    default_rate = count_runs(probabilities, bins, rate, uncalibrated.card, 0.5) / (SECONDS / 60)
    assert default_rate > 2 * fa_per_min or calibration.threshold <= 0.5


def test_detect_uses_the_site_calibration(model: Path, tmp_path: Path) -> None:
    calibrated = tmp_path / "calibrated"
    shutil.copytree(model, calibrated)
    (calibrated / CALIBRATION_FILE).unlink(missing_ok=True)
    background = noise(tmp_path / "a.wav", 3)
    out_before, out_after = tmp_path / "before.csv", tmp_path / "after.csv"
    assert main(["detect", str(background), "-o", str(out_before), "--model", str(calibrated)]) == 0
    assert (
        main(["calibrate", str(background), "--model", str(calibrated), "--fa-per-min", "60"]) == 0
    )
    assert main(["detect", str(background), "-o", str(out_after), "--model", str(calibrated)]) == 0
    before = len(out_before.read_text().splitlines()) - 1
    after = len(out_after.read_text().splitlines()) - 1
    assert after <= max(60 * SECONDS / 60, 1) < before


def test_calibrate_refuses_a_bad_target(model: Path, tmp_path: Path) -> None:
    status = main(
        ["calibrate", str(noise(tmp_path / "a.wav", 4)), "--model", str(model), "--fa-per-min", "0"]
    )
    assert status == 2


def impacts(path: Path, seed: int, bursts_at_s: tuple[float, ...] = ()) -> Path:
    """Gaussian noise with a bearing-like train of ringing impacts (150 per second, peaks 4-10 ×
    the noise RMS) that the energy model takes for bursts, plus optional bursts at 100 ×."""
    rng = np.random.default_rng(seed)
    n = int(SECONDS * RATE)
    x = rng.standard_normal(n)
    t = np.arange(int(200e-6 * RATE)) / RATE
    ring = np.exp(-t / 40e-6) * np.sin(2 * np.pi * 120e3 * t)
    for at in np.arange(int(0.002 * RATE), n - t.size, int(RATE / 150)):
        x[at : at + t.size] += rng.uniform(4.0, 10.0) * ring
    for at_s in bursts_at_s:
        at = int(at_s * RATE)
        x[at : at + t.size] += 100.0 * ring
    sf.write(path, (x * 0.01).astype(np.float32), int(RATE), subtype="FLOAT")
    return path


def test_calibration_sets_an_snr_gate_where_the_machine_convinces_the_network(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fa_per_min = 600.0
    calibrated = tmp_path / "calibrated"
    shutil.copytree(model, calibrated)
    (calibrated / CALIBRATION_FILE).unlink(missing_ok=True)
    first = impacts(tmp_path / "a.wav", 1)
    args = ["calibrate", str(first), "--model", str(calibrated), "--fa-per-min", str(fa_per_min)]
    assert main([*args, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert "snr-gate" in printed["method"] and printed["min_snr_db"] > 10.0
    # a second background of the same machine: within 2x of the target
    second = impacts(tmp_path / "b.wav", 2)
    out = tmp_path / "second.csv"
    assert main(["detect", str(second), "-o", str(out), "--model", str(calibrated)]) == 0
    rate = (len(out.read_text().splitlines()) - 1) / (SECONDS / 60)
    assert fa_per_min / 2 <= rate <= fa_per_min * 2
    # uncalibrated, the impacts fire far more often
    raw_out = tmp_path / "raw.csv"
    assert main(["detect", str(second), "-o", str(raw_out), "--model", str(model)]) == 0
    assert len(raw_out.read_text().splitlines()) - 1 > 4 * fa_per_min * SECONDS / 60
    # bursts far above the machine's transients still pass the gate
    with_bursts = impacts(tmp_path / "c.wav", 3, bursts_at_s=(0.5011, 1.5013, 2.5017))
    out = tmp_path / "bursts.csv"
    assert main(["detect", str(with_bursts), "-o", str(out), "--model", str(calibrated)]) == 0
    onsets = np.array([float(r.split(",")[0]) for r in out.read_text().splitlines()[1:]])
    for at_s in (0.5011, 1.5013, 2.5017):
        assert np.min(np.abs(onsets - at_s)) < 50e-6


def test_calibrate_out_writes_a_calibrated_copy_and_leaves_the_model_alone(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    background = noise(tmp_path / "bg.wav", 5)
    (model / CALIBRATION_FILE).unlink(missing_ok=True)
    out = tmp_path / "rig-cal"
    argv = ["calibrate", str(background), "--model", str(model), "--fa-per-min", "600"]
    assert main([*argv, "--out", str(out)]) == 0
    assert not (model / CALIBRATION_FILE).exists()  # the source model is untouched
    assert read_site_calibration(out) is not None and not out.with_name("rig-cal.partial").exists()
    assert json.loads((out / "model_card.json").read_text())["name"] == "rig-cal"
    assert OnnxDetector(out).card.threshold == read_site_calibration(out).threshold
    capsys.readouterr()
    assert main(["calibrate", str(background), "--model", "aemon-rt-1m5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "shipped with aemon" in err[0] and "--out DIR" in err[0]
