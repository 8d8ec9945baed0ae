"""The preprocessing kernels' helpers: the closed-form high-pass design equals scipy's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from aemon.dsp.kernels import butter2_highpass


@pytest.mark.parametrize(
    ("corner_hz", "rate_hz"), [(20e3, 1_562_500.0), (2e3, 192_000.0), (1.0, 48_000.0), (9e3, 20e3)]
)
def test_butter2_highpass_is_scipys_butter(corner_hz: float, rate_hz: float) -> None:
    sos = sps.butter(2, corner_hz, "highpass", fs=rate_hz, output="sos")[0]
    expected = np.array([sos[0], sos[1], sos[2], sos[4], sos[5]]) / sos[3]
    np.testing.assert_allclose(
        butter2_highpass(corner_hz, rate_hz), expected, rtol=1e-9, atol=1e-15
    )
