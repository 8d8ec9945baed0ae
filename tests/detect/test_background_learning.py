"""``monitor --learn-background``: the first seconds set the threshold, then detection runs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from aemon.cli import main
from tests.detect_models import RATE, burst, energy_model


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "energy"
    energy_model(path)
    return path


def test_learnt_threshold_quiets_noise_but_keeps_bursts(model: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_t(3, int(4 * RATE)) * 0.01  # heavy-tailed noise: the card's 0.5 fires
    onsets = [int(s * RATE) for s in (2.2, 2.9, 3.5)]
    for i, onset in enumerate(onsets):
        x[onset : onset + 300] += burst(300, 3.0, seed=i)
    wav = tmp_path / "run.wav"
    sf.write(wav, x.astype(np.float32), int(RATE), subtype="FLOAT")

    plain = _monitor_events(wav, model)
    learnt = _monitor_events(wav, model, "--learn-background", "1.5", "--fa-per-min", "30")
    assert all(i >= int(1.5 * RATE) - 65536 for i in learnt)  # withheld while learning
    after = [i for i in plain if i >= int(1.6 * RATE)]
    assert len(learnt) < len(after)  # the learnt threshold is quieter on the noise
    for onset in onsets:  # and still finds the bursts
        assert any(abs(i - onset) < 0.00025 * RATE for i in learnt)


def test_a_classifier_is_kept_with_its_decision_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.site.site_data import NOISE_RMS_V, crack_burst, machine

    energy_model(tmp_path / "energy", window=4096)
    model = tmp_path / "day-one"
    argv = ["train-classifier", "--model", str(tmp_path / "energy"), "--out", str(model)]
    assert main([*argv, "--seconds", "1.5", "--no-progress"]) == 0
    rng = np.random.default_rng(3)
    x = machine(rng, 4.0)
    onsets = [int(s * RATE) for s in (2.2, 2.9, 3.5)]
    for onset in onsets:
        wave = crack_burst(rng, NOISE_RMS_V * 10 ** (45 / 20))
        x[onset : onset + wave.size] += wave
    wav = tmp_path / "run.wav"
    sf.write(wav, x.astype(np.float32), int(RATE), subtype="FLOAT")

    plain = [i for i in _monitor_events(wav, model) if i >= int(1.6 * RATE)]
    with caplog.at_level("WARNING"):
        learnt = _monitor_events(wav, model, "--learn-background", "1.5", "--fa-per-min", "120")
    assert "classifier decision" in caplog.text  # the classifier stays, raised
    assert "network alone" not in caplog.text
    assert len(learnt) < len(plain)  # quieter on the machine
    for onset in onsets:  # and still finds the bursts
        assert any(abs(i - onset) < 0.00025 * RATE for i in learnt)


def _monitor_events(wav: Path, model: Path, *extra: str) -> list[int]:
    """Sample indices of the events ``aemon monitor`` writes for ``wav``."""
    out = wav.with_name(f"events{len(extra)}.csv")
    argv = ["monitor", str(wav), "--model", str(model), "--csv", str(out), "-q", *extra]
    assert main([*argv, "--overwrite"]) == 0
    with out.open(newline="") as handle:
        return [int(row["sample_index"]) for row in csv.DictReader(handle)]
