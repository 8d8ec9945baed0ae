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

    def events(*extra: str) -> list[int]:
        out = tmp_path / f"events{len(extra)}.csv"
        argv = ["monitor", str(wav), "--model", str(model), "--csv", str(out), "-q", *extra]
        assert main([*argv, "--overwrite"]) == 0
        with out.open(newline="") as handle:
            return [int(row["sample_index"]) for row in csv.DictReader(handle)]

    plain = events()
    learnt = events("--learn-background", "1.5", "--fa-per-min", "30")
    assert all(i >= int(1.5 * RATE) - 65536 for i in learnt)  # withheld while learning
    after = [i for i in plain if i >= int(1.6 * RATE)]
    assert len(learnt) < len(after)  # the learnt threshold is quieter on the noise
    for onset in onsets:  # and still finds the bursts
        assert any(abs(i - onset) < 0.00025 * RATE for i in learnt)
