"""The AIC kernel picks what vallenae's AIC picks."""

from __future__ import annotations

import numpy as np
import pytest

from aemon.events._aic import aic_pick, aic_pick_numpy


def _onset(rng: np.random.Generator, n: int, at: int, gain: float) -> np.ndarray:
    x = rng.standard_normal(n) * 1e-4
    x[at:] += gain * 1e-4 * rng.standard_normal(n - at) * np.exp(-np.arange(n - at) / 80)
    return x


@pytest.mark.parametrize("seed", range(40))
def test_the_kernel_picks_as_vallenae_does(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 400))
    at = int(rng.integers(1, n - 1))
    x = _onset(rng, n, at, float(rng.uniform(0.5, 100.0)))
    assert aic_pick(x) == aic_pick_numpy(x)
    counts = np.round(x / 3e-5)  # a coarse ADC: integer counts, ties in the sums
    assert aic_pick(counts) == aic_pick_numpy(counts)


def test_it_finds_a_clear_onset() -> None:
    x = _onset(np.random.default_rng(1), 234, 150, 50.0)
    assert abs(aic_pick(x) - 150) <= 3


@pytest.mark.parametrize("x", [np.zeros(16), np.full(16, 7.0), np.r_[np.zeros(8), np.ones(8)]])
def test_flat_and_stepped_windows(x: np.ndarray) -> None:
    assert aic_pick(x) == aic_pick_numpy(x)
