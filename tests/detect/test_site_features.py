"""Site features: relative, finite, and telling a ringing impact from a broadband burst."""

from __future__ import annotations

import numpy as np

from aemon.detect.site_features import FEATURE_NAMES, site_features

RATE = 1_562_500.0


def _signal(wave: np.ndarray, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(4000) * 1e-3
    x[2000 : 2000 + wave.size] += wave
    return x


def _impact() -> np.ndarray:
    t = np.arange(600) / RATE
    return 5e-3 * np.exp(-t / 100e-6) * np.sin(2 * np.pi * 60e3 * t)


def _burst() -> np.ndarray:
    rng = np.random.default_rng(3)
    spectrum = np.fft.rfft(rng.standard_normal(1200))
    freqs = np.fft.rfftfreq(1200, 1 / RATE)
    spectrum[(freqs < 100e3) | (freqs > 600e3)] = 0
    wave = np.fft.irfft(spectrum, 1200) * np.exp(-np.arange(1200) / RATE / 150e-6)
    return 5e-3 * wave / np.max(np.abs(wave))


def test_features_are_finite_and_scale_free() -> None:
    x = _signal(_burst())
    f = site_features(x, 2000, 2600, RATE, 0.8)
    assert f.shape == (len(FEATURE_NAMES),) and np.all(np.isfinite(f))
    np.testing.assert_allclose(site_features(x * 1000, 2000, 2600, RATE, 0.8), f, atol=1e-6)
    assert 10 < f[FEATURE_NAMES.index("snr_db")] < 20  # 5 mV over 1 mV of noise: 14 dB


def test_a_ringing_impact_and_a_broadband_burst_differ_where_expected() -> None:
    impact = site_features(_signal(_impact()), 2000, 2600, RATE, 0.9)
    burst = site_features(_signal(_burst()), 2000, 2600, RATE, 0.9)

    def value(features: np.ndarray, name: str) -> float:
        return float(features[FEATURE_NAMES.index(name)])

    # the impact's energy sits in the 30-60 kHz band; the burst spreads over 100-600 kHz
    assert value(impact, "band1_over_noise_db") > value(burst, "band1_over_noise_db") + 6
    assert value(burst, "centroid_log_hz") > value(impact, "centroid_log_hz") + 0.2
    assert value(burst, "spectral_flatness") > 1.5 * value(impact, "spectral_flatness")
    assert value(impact, "decay_db") > value(burst, "decay_db")  # longer ring, slower fall


def test_the_background_stretch_shows_an_impulsive_machine() -> None:
    """Impacts every millisecond before the onset raise the background's frame peaks, so the
    same burst stands less far above them; Gaussian noise peaks about 10 dB over its RMS in
    each 0.25 ms frame."""
    quiet = np.random.default_rng(5).standard_normal(20000) * 1e-3
    busy = quiet.copy()
    t = np.arange(600) / RATE
    ring = 20e-3 * np.exp(-t / 30e-6) * np.sin(2 * np.pi * 150e3 * t)
    for at in range(1000, 17000, 1560):  # a 150 kHz ring each ~1 ms in the 10 ms stretch
        busy[at : at + 600] += ring
    burst = _burst()
    features = []
    for x in (quiet, busy):
        x = x.copy()
        x[17000 : 17000 + burst.size] += 4 * burst
        features.append(site_features(x, 17000, 17600, RATE, 0.9, recent_candidates=7))

    def value(features: np.ndarray, name: str) -> float:
        return float(features[FEATURE_NAMES.index(name)])

    calm, machine = features
    assert 9 < value(calm, "background_peak_median_db") < 13
    assert value(machine, "background_peak_p90_db") > value(calm, "background_peak_p90_db") + 6
    assert (value(machine, "peak_over_background_peaks_db")
            < value(calm, "peak_over_background_peaks_db") - 6)  # fmt: skip
    assert value(calm, "log_recent_candidates") == np.log1p(7)


def test_without_a_background_stretch_the_context_features_are_zero() -> None:
    x = _signal(_burst())
    f = site_features(x[1900:], 100, 700, RATE, 0.8)
    assert np.all(np.isfinite(f))
    for name in ("background_peak_median_db", "background_peak_p90_db",
                 "peak_over_background_peaks_db", "log_recent_candidates"):  # fmt: skip
        assert f[FEATURE_NAMES.index(name)] == 0.0
