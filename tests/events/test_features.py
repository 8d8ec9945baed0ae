"""AE features of a waveform: dBAE conversion, time-domain features against vallenae and
first principles, spectral features against a numpy spectrum."""

from __future__ import annotations

import math

import numpy as np
import pytest
from vallenae import features as vae

from aemon.errors import ConfigError
from aemon.events.features import (
    check_bands,
    dbae_to_volts,
    default_partial_power_bands,
    fft_length,
    hit_features,
    spectral_features,
    volts_to_dbae,
)
from aemon.sim.bursts import make_burst

RATE = 1_562_500.0
RATE_INT = 1_562_500  # vallenae annotates the rate as int


def test_dbae_conversion_uses_1_microvolt_reference() -> None:
    assert volts_to_dbae(1e-6) == pytest.approx(0.0)
    assert volts_to_dbae(100e-6) == pytest.approx(40.0)
    assert volts_to_dbae(-1.0) == pytest.approx(120.0)
    assert dbae_to_volts(40.0) == pytest.approx(1e-4)
    assert volts_to_dbae(0.0) == -math.inf
    levels = np.array([-10.0, 0.0, 33.3, 100.0])
    np.testing.assert_allclose(volts_to_dbae(dbae_to_volts(levels)), levels)


def _burst(seed: int = 4, peak_v: float = 2e-3, noise_v: float = 10e-6) -> np.ndarray:
    rng = np.random.default_rng(seed)
    wave = make_burst(rng, 0, RATE) * peak_v
    x = rng.normal(0.0, noise_v, wave.size + 300)
    x[100 : 100 + wave.size] += wave
    return x


def test_time_domain_features_agree_with_vallenae_and_definitions() -> None:
    x = _burst()
    thr = dbae_to_volts(40.0)
    f = hit_features(x, RATE, thr)

    first = vae.first_threshold_crossing(x, thr)
    last = vae.last_threshold_crossing(x, thr)
    assert first is not None and last is not None
    assert (f.first_crossing, f.last_crossing) == (first, last)
    assert 100 <= first < 140  # the burst starts at 100; noise alone stays far below 100 µV
    span = x[first : last + 1]
    assert f.amplitude_v == pytest.approx(vae.peak_amplitude(x))
    assert f.amplitude_dbae == pytest.approx(vae.amplitude_to_db(vae.peak_amplitude(x)))
    assert f.peak_index == vae.peak_amplitude_index(x)
    assert f.rise_time_us == pytest.approx(vae.rise_time(x, thr, RATE_INT) * 1e6)
    assert f.duration_us == pytest.approx(vae.duration(x, thr, RATE_INT) * 1e6)
    assert f.counts == vae.counts(x, thr)
    assert f.energy_eu == pytest.approx(vae.energy(span, RATE_INT))
    assert f.signal_strength_nvs == pytest.approx(vae.signal_strength(span, RATE_INT))
    assert f.rms_v == pytest.approx(vae.rms(span))
    # The same from the definitions, so a unit slip in the glue cannot hide.
    assert f.duration_us == pytest.approx((last - first) / RATE * 1e6)
    assert f.rise_time_us == pytest.approx((f.peak_index - first) / RATE * 1e6)
    assert f.energy_eu == pytest.approx(np.sum(span**2) / RATE / 1e-14)
    assert f.signal_strength_nvs == pytest.approx(np.sum(np.abs(span)) / RATE / 1e-9)
    assert f.rms_v == pytest.approx(np.sqrt(np.mean(span**2)))
    rising = np.count_nonzero((x[:-1] < thr) & (x[1:] >= thr))
    assert f.counts == rising > 5


def test_peak_index_given_by_the_caller_sets_amplitude_and_rise_time() -> None:
    x = _burst()
    thr = dbae_to_volts(40.0)
    free = hit_features(x, RATE, thr)
    early = free.first_crossing + 3
    f = hit_features(x, RATE, thr, peak_index=early)
    assert f.amplitude_v == pytest.approx(abs(x[early])) and f.amplitude_v < free.amplitude_v
    assert f.rise_time_us == pytest.approx(3 / RATE * 1e6)
    assert f.energy_eu == pytest.approx(free.energy_eu)
    with pytest.raises(ConfigError, match="outside"):
        hit_features(x, RATE, thr, peak_index=x.size)


def test_waveform_below_threshold_has_no_duration_counts_or_rise() -> None:
    x = np.random.default_rng(0).normal(0.0, 1e-6, 1000)
    f = hit_features(x, RATE, dbae_to_volts(40.0))
    assert (f.first_crossing, f.duration_us, f.counts, f.rise_time_us) == (-1, 0.0, 0, 0.0)
    assert f.energy_eu == pytest.approx(np.sum(x**2) / RATE / 1e-14)  # whole waveform


def test_spectral_features_of_tones() -> None:
    t = np.arange(1024) / RATE
    x = np.sin(2 * np.pi * 150e3 * t) + 0.5 * np.sin(2 * np.pi * 450e3 * t)
    f = hit_features(x, RATE, 0.1)
    span = x[f.first_crossing : f.last_crossing + 1]
    resolution_khz = RATE / fft_length(span.size) / 1e3
    assert f.peak_freq_khz == pytest.approx(150.0, abs=resolution_khz)
    spectrum = np.abs(np.fft.rfft(span, fft_length(span.size))) ** 2
    freqs_khz = np.fft.rfftfreq(fft_length(span.size), 1 / RATE) / 1e3
    assert f.centroid_khz == pytest.approx(np.sum(freqs_khz * spectrum) / np.sum(spectrum), 1e-3)
    assert 200 < f.centroid_khz < 300  # power 1 : 0.25 between 150 and 450 kHz
    pp = f.partial_powers_pct
    assert pp[1] > 70 and pp[3] > 15 and pp[0] < 5 and pp[2] < 5
    assert sum(pp) == pytest.approx(100.0, abs=0.5)
    expected = [
        100 * spectrum[(freqs_khz >= lo / 1e3) & (freqs_khz < hi / 1e3)].sum() / spectrum.sum()
        for lo, hi in default_partial_power_bands(RATE)
    ]
    np.testing.assert_allclose(pp, expected, atol=0.2)


def test_spectral_features_of_silence_are_nan() -> None:
    peak, centroid, pp = spectral_features(np.zeros(64), RATE, default_partial_power_bands(RATE))
    assert math.isnan(peak) and math.isnan(centroid) and all(math.isnan(p) for p in pp)


def test_partial_power_bands() -> None:
    assert default_partial_power_bands(RATE) == (
        (0.0, 100e3),
        (100e3, 200e3),
        (200e3, 400e3),
        (400e3, RATE / 2),
    )
    audio = default_partial_power_bands(48_000.0)
    assert audio[0] == (0.0, 6000.0) and audio[-1] == (18000.0, 24000.0)
    with pytest.raises(ConfigError, match="exactly 4"):
        check_bands([(0, 1e3)], RATE)
    with pytest.raises(ConfigError, match="invalid"):
        check_bands([(0, 1e3), (2e3, 1e3), (3e3, 4e3), (5e3, 6e3)], RATE)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ConfigError, match="empty"):
        hit_features(np.zeros(0), RATE, 1e-4)
    with pytest.raises(ConfigError, match="positive"):
        hit_features(np.ones(10), RATE, 0.0)


def test_a_zero_length_hit_has_no_spectrum() -> None:
    """One sample above the threshold is a hit without a spectrum: NaN, not a flat one."""
    x = np.zeros(400)
    x[100] = 1e-3  # a spike: first crossing == last crossing
    f = hit_features(x, RATE, threshold_v=1e-4)
    assert f.duration_us == 0.0 and f.counts == 1
    assert f.amplitude_v == pytest.approx(1e-3)
    assert math.isnan(f.peak_freq_khz) and math.isnan(f.centroid_khz)
    assert all(math.isnan(p) for p in f.partial_powers_pct)
    # a real burst keeps its spectrum
    assert math.isfinite(hit_features(_burst(), RATE, threshold_v=1e-4).centroid_khz)


def test_whole_span_measures_the_waveform_given() -> None:
    """A detection's own extent: duration is its length, rise time onset to peak."""
    wave = _burst()
    f = hit_features(wave, RATE, threshold_v=1e-4, whole_span=True)
    peak = int(np.argmax(np.abs(wave)))
    assert f.duration_us == pytest.approx(wave.size / RATE * 1e6)
    assert f.rise_time_us == pytest.approx(peak / RATE * 1e6)
    assert f.energy_eu == pytest.approx(float(np.sum(wave**2)) / RATE / 1e-14, rel=1e-9)
    assert f.counts == int(vae.counts(wave, 1e-4))
    # the threshold span of the same waveform is shorter: the two are different measures
    assert hit_features(wave, RATE, threshold_v=1e-4).duration_us < f.duration_us


def test_a_slow_background_does_not_put_the_peak_at_0_khz() -> None:
    """Hum looks like an offset over a burst's few hundred µs; it is not the burst's spectrum."""
    t = np.arange(300) / RATE
    tone = 20e-6 * np.sin(2 * np.pi * 150e3 * t)
    hum = 200e-6 * np.sin(2 * np.pi * 60.0 * t + 1.0)  # ten times the burst, 60 Hz
    f = hit_features(tone + hum, RATE, threshold_v=1e-6, whole_span=True)
    assert f.peak_freq_khz == pytest.approx(150.0, abs=6.2)  # one FFT bin at 512 points
