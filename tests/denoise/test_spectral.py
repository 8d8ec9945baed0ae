"""STFT helpers and the two baselines of the denoiser."""

from __future__ import annotations

import numpy as np

from aemon.denoise.spectral import (
    FREQUENCY_BINS,
    PADDED_BINS,
    bandpass,
    crop_mask,
    istft,
    network_input,
    noise_floor,
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
