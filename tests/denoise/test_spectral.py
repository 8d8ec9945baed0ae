"""STFT helpers and the two baselines of the denoiser."""

from __future__ import annotations

import numpy as np

from aemon.denoise.spectral import (
    FLOOR_HIGH_DB,
    FLOOR_LOW_DB,
    FLOOR_MASK_GATE,
    FREQUENCY_BINS,
    PADDED_BINS,
    bandpass,
    bin_snr_db,
    crop_mask,
    istft,
    network_input,
    noise_floor,
    snr_floor_gain,
    stft,
    wiener,
)

FS = 1_562_500.0


def _tone_burst(n: int, onset: int) -> np.ndarray:
    t = (np.arange(n) - onset) / FS
    return np.where(t >= 0, np.sin(2 * np.pi * 300e3 * t) * np.exp(-np.maximum(t, 0) / 60e-6), 0)


def _snr_db(clean: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(clean**2) / np.sum((estimate - clean) ** 2)))


def test_stft_round_trip_is_exact() -> None:
    x = np.random.default_rng(0).standard_normal(3001)
    z = stft(x)
    assert z.shape[0] == FREQUENCY_BINS
    np.testing.assert_allclose(istft(z, x.size), x, atol=1e-5)


def test_network_input_is_padded_and_scale_free() -> None:
    mag = np.abs(stft(np.random.default_rng(1).standard_normal(1000)))
    features = network_input(mag)
    assert features.shape[1] == PADDED_BINS and features.shape[2] % 4 == 0
    assert not features[0, FREQUENCY_BINS:].any() and not features[0, :, mag.shape[1] :].any()
    np.testing.assert_allclose(network_input(1000.0 * mag), features, rtol=1e-5)
    assert noise_floor(np.zeros((FREQUENCY_BINS, 5))).min() > 0
    assert crop_mask(features, mag.shape[1]).shape == mag.shape


def test_bandpass_removes_hum_and_wiener_removes_white_noise() -> None:
    rng = np.random.default_rng(2)
    clean = 1e-3 * _tone_burst(4096, 1000)
    hum = 5e-3 * np.sin(2 * np.pi * 50.0 * np.arange(4096) / FS + 0.3)
    assert (
        _snr_db(clean, bandpass(clean + hum, FS, (80e3, 650e3))) > _snr_db(clean, clean + hum) + 20
    )
    noisy = clean + 2e-4 * rng.standard_normal(4096)
    assert _snr_db(clean, wiener(noisy)) > _snr_db(clean, noisy) + 3


def test_snr_floor_passes_strong_bins_the_network_passes_and_nothing_else() -> None:
    rng = np.random.default_rng(5)
    noise = np.abs(
        rng.standard_normal((FREQUENCY_BINS, 200)) + 1j * rng.standard_normal((FREQUENCY_BINS, 200))
    )
    magnitude = noise.copy()
    magnitude[10, 100] = 1e3 * np.median(noise[10])  # 60 dB over the floor
    magnitude[11, 100] = np.sqrt(10.0) * np.median(noise[11]) * np.sqrt(1 / np.log(4.0))  # 5 dB
    snr = bin_snr_db(magnitude)
    assert snr[10, 100] > FLOOR_HIGH_DB and snr[11, 100] < FLOOR_LOW_DB
    assert abs(np.median(snr) - 10 * np.log10(np.log(4.0))) < 0.5  # the floor is the noise
    mask = np.full_like(magnitude, 0.7)
    gain = snr_floor_gain(mask, magnitude)
    assert gain[10, 100] == 1.0  # far above the floor: untouched
    assert gain[11, 100] == 0.7  # weak bin: the network's mask
    assert np.all(gain >= mask) and np.all(gain <= 1.0)
    closed = snr_floor_gain(np.full_like(magnitude, FLOOR_MASK_GATE / 2), magnitude)
    assert closed[10, 100] == FLOOR_MASK_GATE / 2  # the network closed it (a spike): stays closed
