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


def test_electrical_spikes_are_not_harvested(detector: OnnxDetector, tmp_path: Path) -> None:
    # ten bursts, and between them 30 spikes of 1-4 samples at 30-45 dB over the noise
    rng = np.random.default_rng(5)
    x = rng.standard_normal(int(1.0 * RATE)) * NOISE_RMS_V
    onsets = [int((0.05 + 0.09 * k) * RATE) for k in range(10)]
    for at in onsets:
        wave = crack_burst(rng, NOISE_RMS_V * 10 ** (40 / 20))
        x[at : at + wave.size] += wave
    spikes = [at + int(0.045 * RATE) + int(rng.integers(-500, 500)) for at in onsets[:-1]]
    spikes += [int(s + 0.015 * RATE) for s in spikes] + [int(s + 0.03 * RATE) for s in spikes]
    for at in spikes[:30]:
        width = int(rng.integers(1, 5))
        peak = NOISE_RMS_V * 10 ** (rng.uniform(30, 45) / 20) * rng.choice([-1.0, 1.0])
        x[at : at + width] += peak * np.exp(-np.arange(width) / 1.5)
    found = harvest(detector, [write_wav(tmp_path / "plb.wav", x)])
    starts = np.sort(np.round(np.array(found.onset_s) * RATE))
    assert starts.size == 10
    assert np.all(np.abs(starts - onsets) < 0.1e-3 * RATE)
    assert found.skipped_glitches >= 20  # the threshold hits on the spikes
    assert found.summary()["skipped_glitches"] == found.skipped_glitches


def test_a_short_burst_is_not_a_glitch(detector: OnnxDetector, tmp_path: Path) -> None:
    # bursts that ring only ~25 µs over the noise (decay 8 µs from 40 dB) are still bursts
    rng = np.random.default_rng(6)
    x = rng.standard_normal(int(0.5 * RATE)) * NOISE_RMS_V
    onsets = [int((0.05 + 0.09 * k) * RATE) for k in range(5)]
    t = np.arange(int(100e-6 * RATE)) / RATE
    for at in onsets:
        wave = np.sin(2 * np.pi * 250e3 * t) * np.exp(-t / 8e-6)
        x[at : at + t.size] += wave * NOISE_RMS_V * 10 ** (40 / 20)
    found = harvest(detector, [write_wav(tmp_path / "short.wav", x)])
    assert found.skipped_glitches == 0
    starts = np.sort(np.round(np.array(found.onset_s) * RATE))
    assert starts.size == 5 and np.all(np.abs(starts - onsets) < 0.1e-3 * RATE)


def _plant(tmp_path: Path, name: str, wave: np.ndarray, onsets: list[int]) -> Path:
    rng = np.random.default_rng(8)
    x = rng.standard_normal(int(0.5 * RATE)) * NOISE_RMS_V
    for at in onsets:
        x[at : at + wave.size] += wave * NOISE_RMS_V * 10 ** (40 / 20)
    return write_wav(tmp_path / name, x)


def test_a_burst_whose_modes_beat_is_harvested_whole(
    detector: OnnxDetector, tmp_path: Path
) -> None:
    # two modes 20 kHz apart: the envelope dips to nothing every 50 µs for ~600 µs, as a
    # burst ringing two close structural modes does; it is one burst, not a busy pair
    t = np.arange(int(0.8e-3 * RATE)) / RATE
    wave = (np.sin(2 * np.pi * 150e3 * t) + np.sin(2 * np.pi * 170e3 * t)) * np.exp(-t / 150e-6)
    onsets = [int((0.05 + 0.09 * k) * RATE) for k in range(5)]
    found = harvest(detector, [_plant(tmp_path, "beating.wav", wave / 2, onsets)])
    starts = np.sort(np.round(np.array(found.onset_s) * RATE))
    assert starts.size == 5 and np.all(np.abs(starts - onsets) < 0.1e-3 * RATE)
    assert min(b.size for b in found.bursts) > 0.4e-3 * RATE  # its ringing is kept


def test_a_burst_both_detectors_see_apart_is_harvested_once(
    detector: OnnxDetector, tmp_path: Path
) -> None:
    # an emergent onset: the model fires early on the rise, the 8 x noise threshold later
    t = np.arange(int(0.8e-3 * RATE)) / RATE
    rise = np.clip(t / 300e-6, 0, 1) ** 2  # the two onsets come ~13 µs apart
    wave = np.sin(2 * np.pi * 200e3 * t) * rise * np.exp(-np.maximum(t - 300e-6, 0) / 150e-6)
    onsets = [int((0.05 + 0.09 * k) * RATE) for k in range(5)]
    found = harvest(detector, [_plant(tmp_path, "emergent.wav", wave, onsets)])
    starts = np.sort(np.round(np.array(found.onset_s) * RATE))
    assert starts.size == 5 and np.all(np.abs(starts - onsets) < 0.15e-3 * RATE)
    assert found.skipped_overlapping == 0
