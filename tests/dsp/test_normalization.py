"""Input normalisation: scale invariance, robustness to bursts, the live tracker."""

from __future__ import annotations

import numpy as np
import pytest

from aemon.dsp.normalization import (
    NoiseFloorTracker,
    NormalizationParams,
    apply_scale,
    noise_floor,
    normalize_window,
)
from aemon.errors import ConfigError
from aemon.sim.simulator import SimConfig, make_background, make_burst

RATE = 1_562_500.0


def ae_window(seed: int = 0, n: int = 32768) -> np.ndarray:
    """Simulator background (volts) with a loud burst in it, shape (1, n)."""
    rng = np.random.default_rng(seed)
    config = SimConfig()
    x, _ = make_background(rng, n, config)
    burst = make_burst(rng, 1, RATE) * config.noise_rms_v * 300.0
    x[1000 : 1000 + burst.size] += burst
    return x[None, :]


def test_volts_counts_and_wav_scaling_give_the_same_input() -> None:
    params = NormalizationParams()
    volts = ae_window()
    counts = np.round(volts / 2e-7)  # a 16-bit ADC at 0.2 µV per count
    wav = volts / np.max(np.abs(volts))  # normalised WAV
    ref = normalize_window(volts, params)
    assert ref.dtype == np.float32
    np.testing.assert_allclose(normalize_window(wav, params), ref, rtol=1e-4, atol=1e-5)
    # quantisation adds a little noise; the result still agrees to a small fraction
    assert np.max(np.abs(normalize_window(counts, params) - ref)) < 0.1


def test_noise_floor_is_the_noise_rms_despite_bursts_and_spikes() -> None:
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(65536) * 3.0
    assert noise_floor(noise) == pytest.approx(3.0, rel=0.02)
    dirty = noise.copy()
    dirty[:2000] += 200.0 * np.sin(np.arange(2000) * 0.7)  # a burst 3 % of the window
    dirty[5000] = 1e4  # an electrical spike
    assert noise_floor(dirty) == pytest.approx(3.0, rel=0.06)
    assert float(np.sqrt(np.mean(dirty**2))) > 30.0  # while the plain RMS is ruined


def test_asinh_compresses_loud_bursts_but_keeps_noise_linear() -> None:
    x = np.array([[0.0, 0.1, -0.1, 1000.0, -1000.0]])
    y = apply_scale(x, np.array([0.1]), NormalizationParams())
    assert y[0, 1] == pytest.approx(np.arcsinh(1.0), rel=1e-6)
    assert y[0, 2] == pytest.approx(-y[0, 1])
    assert 9.0 < y[0, 3] < 10.5  # asinh(1e4)
    linear = apply_scale(x, np.array([0.1]), NormalizationParams(compress="none"))
    assert linear[0, 3] == pytest.approx(1e4)


def test_digital_silence_stays_finite() -> None:
    y = normalize_window(np.zeros((2, 1024)), NormalizationParams())
    assert np.all(np.isfinite(y)) and not np.any(y)


def test_batches_normalise_each_window_on_its_own() -> None:
    a, b = ae_window(2), ae_window(3) * 50.0
    batch = normalize_window(np.stack([a, b]), NormalizationParams())
    np.testing.assert_allclose(batch[1], normalize_window(b, NormalizationParams()), rtol=1e-6)
    np.testing.assert_allclose(batch[0], normalize_window(a, NormalizationParams()), rtol=1e-6)


def test_tracker_first_update_equals_training_normalisation() -> None:
    params = NormalizationParams()
    window = ae_window(4)
    tracker = NoiseFloorTracker(params, channels=1, sample_rate_hz=RATE)
    assert tracker.floor is None
    np.testing.assert_allclose(
        tracker.normalize(window), normalize_window(window, params), rtol=1e-6
    )


def test_tracker_follows_gain_changes_but_ignores_a_burst() -> None:
    params = NormalizationParams(time_constant_s=0.01)
    tracker = NoiseFloorTracker(params, channels=2, sample_rate_hz=RATE)
    rng = np.random.default_rng(5)
    block = 4096  # 2.6 ms
    for _ in range(10):
        floor = tracker.update(rng.standard_normal((2, block)))
    np.testing.assert_allclose(floor, np.ones(2), rtol=0.05)
    loud = rng.standard_normal((2, block))
    loud[:, :300] *= 100.0  # a 200 µs burst at 40 dB
    assert np.all(tracker.update(loud) < 1.05)
    for _ in range(40):  # gain x10 on channel 1 for ~100 ms = 10 time constants
        floor = tracker.update(rng.standard_normal((2, block)) * np.array([[1.0], [10.0]]))
    np.testing.assert_allclose(floor, np.array([1.0, 10.0]), rtol=0.08)
    tracker.reset()
    assert tracker.floor is None


def test_params_round_trip_and_validation() -> None:
    params = NormalizationParams(time_constant_s=0.2)
    raw = params.to_dict()
    assert "asinh" in raw["description"]
    assert NormalizationParams.from_dict(raw) == params
    with pytest.raises(ConfigError):
        NormalizationParams(method="zscore")
    with pytest.raises(ConfigError):
        NoiseFloorTracker(params, channels=1, sample_rate_hz=RATE).update(np.zeros((3, 10)))
    passthrough = NormalizationParams(method="none")
    x = np.arange(6.0).reshape(1, 6)
    np.testing.assert_array_equal(normalize_window(x, passthrough), x.astype(np.float32))
