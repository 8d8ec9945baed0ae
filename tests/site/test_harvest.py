"""Harvesting bursts from busy and sparse recordings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from aemon.detect.onnx_runtime import OnnxDetector
from aemon.site.harvest import harvest
from tests.detect_models import energy_model
from tests.site.site_data import NOISE_RMS_V, RATE, crack_burst, write_wav


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory) -> OnnxDetector:
    path = tmp_path_factory.mktemp("models") / "energy"
    energy_model(path, window=4096)
    return OnnxDetector(path)


def _recording(tmp_path: Path, onsets: list[int], seconds: float, seed: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(seconds * RATE)) * NOISE_RMS_V
    for at in onsets:
        wave = crack_burst(rng, NOISE_RMS_V * 10 ** (40 / 20))
        x[at : at + wave.size] += wave[: x.size - at]
    return write_wav(tmp_path / "plb.wav", x)


def test_a_sparse_check_gives_every_burst(detector: OnnxDetector, tmp_path: Path) -> None:
    onsets = [int((0.05 + 0.09 * k) * RATE) for k in range(10)]
    found = harvest(detector, [_recording(tmp_path, onsets, 1.0)])
    assert len(found.bursts) == 10
    starts = np.round(np.array(found.onset_s) * RATE)
    assert np.all(np.abs(np.sort(starts) - onsets) < 0.1e-3 * RATE)
    assert min(found.snr_db) > 30


def test_a_busy_recording_gives_bursts_one_at_a_time(
    detector: OnnxDetector, tmp_path: Path
) -> None:
    # a burst every 2.5 ms (each rings for ~1 ms), and five pairs only 0.6 ms apart
    onsets = [int(0.02 * RATE) + k * int(2.5e-3 * RATE) for k in range(60)]
    pairs = [onsets[k] + int(0.6e-3 * RATE) for k in range(5, 55, 10)]
    path = _recording(tmp_path, sorted(onsets + pairs), 0.2)
    x = sf.read(path)[0]
    found = harvest(detector, [path])
    every = np.array(sorted(onsets + pairs))
    starts = np.round(np.array(found.onset_s) * RATE).astype(int)
    assert len(found.bursts) >= 30
    for start, wave in zip(starts, found.bursts, strict=True):
        after = every[every > start + 0.1e-3 * RATE]
        if after.size:  # a harvested burst never runs into the next one
            assert start + wave.size <= after[0] + 10e-6 * RATE
        ringing = np.sqrt(np.mean(x[start - int(0.2e-3 * RATE) : start] ** 2))
        assert ringing < 2 * NOISE_RMS_V  # nor starts while the previous one still rings
    assert found.skipped_overlapping >= 5
