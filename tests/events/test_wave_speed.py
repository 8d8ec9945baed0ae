"""Wave speed from breaks at known positions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aemon.errors import ConfigError
from aemon.events.hit import Hit
from aemon.events.location_config import LocationConfig, Sensor
from aemon.events.wave_speed import KnownPosition, fit_wave_speed

RATE = 1_562_500.0
V = 5000.0


def hit(t: float, channel: int) -> Hit:
    nan = math.nan
    return Hit(
        t, "", round(t * RATE), channel, "hit", 1.0, "test", t, 10.0, 1e-4, 40.0, 1.0, 3,
        1.0, 1e-5, 1.0, 150.0, 150.0, nan, nan, nan, nan,
    )  # fmt: skip


def test_calibration_recovers_the_wave_speed_and_reports_errors() -> None:
    rng = np.random.default_rng(1)
    guess = LocationConfig((Sensor(0, 0.0), Sensor(1, 0.2)), 4300.0, window_us=60.0)
    positions = [KnownPosition(0, 10, 0.03), KnownPosition(10, 20, 0.16)]
    hits = []
    for p in positions:
        for k in range(8):
            t0 = p.start_s + 1 + k
            for ch, s in ((0, 0.0), (1, 0.2)):
                hits.append(hit(t0 + abs(p.x_m - s) / V + rng.normal(0, 0.1e-6), ch))
    result = fit_wave_speed(hits, guess, positions)
    assert result.wave_speed_m_s == pytest.approx(V, rel=0.01)
    assert [row.breaks for row in result.positions] == [8, 8]
    assert all(row.median_error_m < 1e-3 for row in result.positions)


def test_calibration_without_usable_breaks_says_what_to_check() -> None:
    guess = LocationConfig((Sensor(0, 0.0), Sensor(1, 0.2)), 4300.0)
    with pytest.raises(ConfigError, match="--at"):
        fit_wave_speed([hit(5.0, 0)], guess, [KnownPosition(0, 10, 0.03)])
