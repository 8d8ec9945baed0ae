"""The background-stretch kernel equals its plain-numpy twin."""

from __future__ import annotations

import numpy as np
import pytest

from aemon.detect._site_kernels import background_peaks, background_peaks_numpy


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
