"""The checks of what a technician gives ``aemon adapt --background`` (:mod:`aemon.site.checks`)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from aemon.errors import ConfigError
from aemon.site.checks import check_noise_match, warn_short_background

RATE = 1_562_500.0


def test_a_short_background_is_warned_once_with_the_length_to_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="aemon.site.checks"):
        assert warn_short_background(7.0, 1.0, 0.7) is True
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "7.0 s of background cannot show 1 false alarm(s)/min" in message
    assert "(9 /min)" in message  # one in 7 s
    assert "at least 86 s" in message  # 60 s learnt from is 60 / 0.7 recorded


def test_a_background_long_enough_is_not_warned(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="aemon.site.checks"):
        assert warn_short_background(60.0, 1.0, 0.7) is False
        assert warn_short_background(7.0, 10.0, 0.7) is False
    assert not caplog.records


def test_the_same_noise_passes_and_another_sensor_is_refused() -> None:
    rng = np.random.default_rng(3)
    background = [rng.standard_normal(200_000)]
    same = [rng.standard_normal(150_000)]
    assert check_noise_match(background, same, RATE) < 1.0
    sos = butter(4, [100e3, 160e3], "bandpass", fs=RATE, output="sos")
    resonant = same[0] + 30 * sosfilt(sos, rng.standard_normal(150_000))
    with pytest.raises(ConfigError, match=r"does not sound like .* dB at 100-160 kHz"):
        check_noise_match(background, [resonant], RATE)
