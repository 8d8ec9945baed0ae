"""The site-feature kernels equal their plain-numpy twins."""

from __future__ import annotations

import numpy as np
import pytest

from aemon.detect._site_kernels import (
    background_peaks,
    background_peaks_numpy,
    band_spectrum,
    band_spectrum_numpy,
    span_levels,
    span_levels_numpy,
)


@pytest.mark.parametrize("seed", range(6))
def test_the_kernel_equals_its_numpy_twin(seed: int) -> None:
    rng = np.random.default_rng(seed)
    frame = int(rng.integers(4, 400))
    frames = int(rng.integers(2, 45))
    first = int(rng.integers(1, 50))
    stop = first + frames * frame + int(rng.integers(0, 2000))
    x = rng.standard_normal(stop + 10) * rng.uniform(1e-6, 1.0)
    x[rng.integers(0, x.size, 5)] += 20 * rng.standard_normal(5)  # impacts in the stretch
    np.testing.assert_allclose(background_peaks(x, first, frames, frame, stop),
                               background_peaks_numpy(x, first, frames, frame, stop),
                               rtol=1e-12)  # fmt: skip


def test_no_samples_after_the_stretch_give_a_zero_peak() -> None:
    x = np.arange(100.0) ** 2
    assert background_peaks(x, 1, 3, 10, 31)[3] == 0.0
    assert background_peaks_numpy(x, 1, 3, 10, 31)[3] == 0.0


@pytest.mark.parametrize("seed", range(8))
def test_the_span_levels_equal_their_numpy_twin(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(300, 5000))
    x = rng.standard_normal(n) * rng.uniform(1e-6, 1.0) + rng.uniform(-1, 1)
    onset = int(rng.integers(0, n - 1))
    stop = int(rng.integers(onset + 1, n + 1))
    x[onset : onset + 50] += 30 * rng.standard_normal(min(50, n - onset))
    args = (onset, stop, int(rng.integers(0, onset + 1)), int(rng.integers(1, 3000)),
            int(rng.integers(0, 100)), int(rng.integers(0, 100)))  # fmt: skip
    fast, twin = span_levels(x, *args), span_levels_numpy(x, *args)
    assert fast.peak_at == twin.peak_at
    np.testing.assert_allclose(fast, twin, rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("seed", range(8))
def test_the_band_spectrum_equals_its_numpy_twin(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(64, 2000))
    power = rng.exponential(1.0, n) * 10 ** rng.uniform(-20, 5, n)
    noise_power = rng.exponential(1.0, n)
    freqs = np.linspace(0, 800e3, n)
    edges = np.sort(rng.integers(0, n, 9)).astype(np.int64)
    edges[-1] = max(edges[-1], edges[0] + 1)
    edges[3] = edges[4]  # an empty band (an edge over Nyquist)
    fast, twin = (
        band_spectrum(power, noise_power, freqs, edges),
        band_spectrum_numpy(power, noise_power, freqs, edges),
    )
    for a, b in zip(fast, twin, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert fast[0][3] == 0.0 and fast[1][3] == 0.0
