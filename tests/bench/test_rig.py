"""The benchmark's "same rig" rendering: a family's parameters from one seed, noise from another."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from bench.independent import FS_HZ, render_parts
from bench.independent.rig import RigRandom


def _spectrum_db(x: np.ndarray) -> np.ndarray:
    return np.asarray(10 * np.log10(sps.welch(x, FS_HZ, nperseg=2048)[1]))


@pytest.mark.parametrize("family", ["resonant_sensor", "machine"])
def test_same_rig_shares_the_spectrum_but_not_the_noise(family: str) -> None:
    rig = render_parts(family, "mid", 1, 0.3).background
    same = render_parts(family, "mid", 1001, 0.3, rig_seed=1).background
    other = render_parts(family, "mid", 1001, 0.3).background
    assert abs(np.corrcoef(rig, same)[0, 1]) < 0.1  # other noise
    same_db = np.median(np.abs(_spectrum_db(rig) - _spectrum_db(same)))
    other_db = np.median(np.abs(_spectrum_db(rig) - _spectrum_db(other)))
    assert same_db < 0.5 < other_db  # the rig's sensor/machine, not another one


def test_scalar_draws_follow_the_rig_and_arrays_the_recording() -> None:
    plain = np.random.default_rng(5)
    expected = [plain.uniform(), plain.standard_normal(4), plain.integers(0, 100)]
    routed = RigRandom(np.random.default_rng(5), np.random.default_rng(6))
    first, noise, third = routed.uniform(), routed.standard_normal(4), routed.integers(0, 100)
    assert first == expected[0] and third == expected[2]  # aligned with the plain stream
    assert not np.allclose(noise, expected[1])
    assert np.allclose(noise, np.random.default_rng(6).standard_normal(4))
    with pytest.raises(AttributeError, match="does not route"):
        routed.gamma(1.0)
