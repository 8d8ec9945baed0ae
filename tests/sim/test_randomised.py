"""Tests of the domain-randomised backgrounds and bursts (aemon.sim.randomised)."""

from __future__ import annotations

import numpy as np
import pytest

from aemon.sim.randomised import (
    BACKGROUND_FAMILIES,
    BURST_FAMILIES,
    SENSORS,
    draw_background,
    random_background,
    random_burst,
    randomised_mix_callbacks,
)
from aemon.sim.randomised_background import SPECTRAL_SHAPES, coloured_noise

RATES = (1_562_500.0, 192_000.0)
N = 32_768


@pytest.mark.parametrize("fs", RATES)
def test_deterministic_and_finite(fs: float) -> None:
    for seed in range(20):
        a = draw_background(np.random.default_rng(seed), N, fs)
        b = draw_background(np.random.default_rng(seed), N, fs)
        assert np.array_equal(a.signal, b.signal) and a.disturbances == b.disturbances
        assert a.signal.dtype == np.float32 and a.signal.shape == (N,)
        assert np.all(np.isfinite(a.signal))
        x = random_burst(np.random.default_rng(seed), fs)
        y = random_burst(np.random.default_rng(seed), fs)
        assert np.array_equal(x.wave, y.wave) and x.family == y.family
        assert x.wave.dtype == np.float32 and np.all(np.isfinite(x.wave))
    assert np.array_equal(
        random_background(np.random.default_rng(1), N, fs),
        draw_background(np.random.default_rng(1), N, fs).signal,
    )


def test_base_noise_has_unit_rms() -> None:
    for seed in range(10):
        x, shapes = coloured_noise(np.random.default_rng(seed), N, 1_562_500.0)
        assert abs(float(np.sqrt(np.mean(x**2))) - 1) < 1e-6 and shapes[0] in SPECTRAL_SHAPES


def test_every_family_is_reachable() -> None:
    rng = np.random.default_rng(7)
    bg = [draw_background(rng, 4096, 1_562_500.0) for _ in range(150)]
    assert {b.families[0] for b in bg} == set(BACKGROUND_FAMILIES)
    assert {b.shape[0] for b in bg} == set(SPECTRAL_SHAPES)
    bursts = [random_burst(rng, 1_562_500.0) for _ in range(100)]
    assert {b.family for b in bursts} == set(BURST_FAMILIES)
    assert {b.sensor for b in bursts} == set(SENSORS)


def test_disturbance_spans() -> None:
    rng = np.random.default_rng(8)
    seen = set()
    for _ in range(120):
        bg = draw_background(rng, N, 1_562_500.0)
        assert bg.disturbances == sorted(bg.disturbances)
        for lo, hi in bg.disturbances:
            assert 0 <= lo < hi <= N
        if bg.families[0] in ("rubbing", "spikes", "impacts", "machinery"):
            seen.add(bg.families[0])
            assert bg.disturbances
            peak = max(np.max(np.abs(bg.signal[lo:hi])) for lo, hi in bg.disturbances)
            assert peak > 1.5  # louder than the unit-RMS base noise
    assert seen == {"rubbing", "spikes", "impacts", "machinery"}


@pytest.mark.parametrize("fs", RATES)
def test_burst_onset_end_and_rise(fs: float) -> None:
    scale = min(1.0, fs / 1_562_500.0)
    rng = np.random.default_rng(9)
    rises = []
    for _ in range(150):
        b = random_burst(rng, fs)
        assert b.onset == 0 and b.end == b.wave.size and 0 <= b.peak < b.end
        assert np.isclose(np.max(np.abs(b.wave)), 1.0)
        assert abs(b.wave[0]) < 0.02 and np.max(np.abs(b.wave[-3:])) < 0.1  # cut at −40 dB
        rises.append(b.peak / fs * scale * 1e6)  # reference-rate µs
    assert min(rises) < 5 and max(rises) > 150


@pytest.mark.parametrize(("kind", "band"), [("low", (100e3, 250e3)), ("high", (300e3, 600e3))])
@pytest.mark.parametrize("fs", RATES)
def test_class_bands_scale_with_rate(kind: str, band: tuple[float, float], fs: float) -> None:
    scale = min(1.0, fs / 1_562_500.0)
    rng = np.random.default_rng(10)
    peaks = []
    for _ in range(40):
        w = random_burst(rng, fs, kind).wave.astype(np.float64)
        spec = np.abs(np.fft.rfft(w, 1 << 15))
        peaks.append(np.argmax(spec) * fs / (1 << 15) / scale)
    median = float(np.median(peaks))
    assert 0.7 * band[0] < median < 1.3 * band[1]


def test_mix_callbacks() -> None:
    cb = randomised_mix_callbacks(192_000.0, (0.0, 30.0))
    rng = np.random.default_rng(11)
    wave = cb.burst(rng, 1)
    assert wave.dtype == np.float64 and np.isclose(np.max(np.abs(wave)), 1.0)
    bg = cb.background(rng, 5000)
    assert bg.dtype == np.float64 and bg.shape == (5000,)
    amps = [cb.amplitude(rng) for _ in range(200)]
    assert min(amps) >= 1.0 and max(amps) <= 10**1.5
