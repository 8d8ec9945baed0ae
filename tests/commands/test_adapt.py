"""``aemon adapt`` end to end on a small unlabelled recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from aemon.cli import main
from tests.detect_models import RATE, burst, torch_model

torch = pytest.importorskip("torch")


def test_fine_tuning_harvests_bursts_and_the_guard_refuses_a_model_no_better(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from aemon.detect.onnx_runtime import OnnxDetector
    from aemon.site.harvest import harvest

    start = tmp_path / "start"
    head, _card = torch_model(start)
    torch.save(head.net.state_dict(), start / "model.pt")
    rng = np.random.default_rng(2)
    x = rng.standard_normal(int(0.6 * RATE)) * 1e-3
    onsets = list(range(20_000, 900_000, 40_000))  # 22 isolated bursts, ~40 dB above the noise
    for i, onset in enumerate(onsets):
        x[onset : onset + 400] += burst(400, 0.1, seed=i)
    recording = tmp_path / "plb.wav"
    sf.write(recording, x.astype(np.float32), int(RATE), subtype="FLOAT")
    found = harvest(OnnxDetector(start), [recording]).summary()
    assert found["bursts"] >= len(onsets) // 2  # the threshold harvest finds the clear bursts
    assert found["snr_db_min"] >= 20.0
    assert found["background_s"] > 0.1
    out = tmp_path / "adapted"
    argv = ["adapt", str(recording), "--model", str(start), "-o", str(out)]
    argv += ["--steps", "3", "--batch-size", "2", "--eval-bursts", "10", "--no-progress"]
    # an untrained network fine-tuned for 3 steps is no better: nothing is written
    assert main(argv) == 2
    assert not out.exists() and not out.with_name("adapted.partial").exists()
    captured = capsys.readouterr()
    assert "old:" in captured.out and "new:" in captured.out
    assert "kept the old model" in captured.err


def test_adapt_refuses_a_recording_without_bursts(tmp_path: Path) -> None:
    start = tmp_path / "start"
    head, _card = torch_model(start)
    torch.save(head.net.state_dict(), start / "model.pt")
    quiet = tmp_path / "quiet.wav"
    noise = np.random.default_rng(3).standard_normal(int(0.2 * RATE)) * 1e-3
    sf.write(quiet, noise.astype(np.float32), int(RATE), subtype="FLOAT")
    argv = ["adapt", str(quiet), "--model", str(start), "-o", str(tmp_path / "x"), "--steps", "1"]
    assert main(argv) == 2


def test_adapt_takes_an_impulsive_machines_weak_transients_as_background(tmp_path: Path) -> None:
    from aemon.detect.onnx_runtime import OnnxDetector
    from aemon.site.harvest import harvest

    start = tmp_path / "start"
    torch_model(start)
    rng = np.random.default_rng(4)
    x = rng.standard_normal(int(0.6 * RATE)) * 1e-3
    t = np.arange(200) / RATE
    ring = np.exp(-t / 30e-6) * np.sin(2 * np.pi * 60e3 * t) * 5e-3  # 5 x the noise RMS
    for at in range(500, x.size - 200, int(1e-3 * RATE)):  # a gear mesh: 1000 impacts/s
        x[at : at + 200] += ring
    for i, onset in enumerate(range(20_000, 900_000, 40_000)):
        x[onset : onset + 400] += burst(400, 0.1, seed=i)
    recording = tmp_path / "machine.wav"
    sf.write(recording, x.astype(np.float32), int(RATE), subtype="FLOAT")
    found = harvest(OnnxDetector(start), [recording])
    assert found.background_rules == ["below-hits"]
    assert found.background_s > 0.1  # the stretches between the clear bursts, impacts and all
    assert found.summary()["background_rule"] == "below-hits"
    assert len(found.bursts) >= 5
