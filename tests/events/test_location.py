"""Linear and planar source location against analytic arrival times."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aemon.events.location import GUARD, INSIDE, OUTSIDE, UNLOCATED, locate
from aemon.events.location_config import LocationConfig, Sensor

V = 5000.0  # m/s


def arrivals(config: LocationConfig, x: float, y: float = 0.0, t0: float = 12.5) -> dict:
    """Exact arrival time (s) at every sensor of a source at (x, y) emitting at t0."""
    return {s.channel: t0 + math.hypot(x - s.x_m, y - s.y_m) / V for s in config.sensors}


def bar(**options) -> LocationConfig:
    return LocationConfig((Sensor(0, 0.0), Sensor(1, 0.2)), V, **options)


@pytest.mark.parametrize("x", [0.013, 0.1, 0.1234, 0.19])
def test_linear_two_sensors_recovers_the_position(x: float) -> None:
    found = locate(arrivals(bar(), x), bar())
    assert found.x_m == pytest.approx(x, abs=1e-9)
    assert found.status == INSIDE
    # v/2 · √2 · 0.2 µs
    assert found.uncertainty_m == pytest.approx(V / 2 * math.sqrt(2) * 0.2e-6)


@pytest.mark.parametrize("x", [-0.05, -0.001, 0.25])
def test_linear_source_beyond_a_sensor_locates_at_it_and_is_outside(x: float) -> None:
    found = locate(arrivals(bar(), x), bar())
    assert found.x_m == pytest.approx(0.0 if x < 0 else 0.2, abs=1e-9)
    assert found.status == OUTSIDE


def test_linear_gauge_interval_decides_inside() -> None:
    config = bar(gauge_m=(0.05, 0.15))
    assert locate(arrivals(config, 0.04), config).status == OUTSIDE
    assert locate(arrivals(config, 0.06), config).status == INSIDE


def test_linear_time_difference_formula() -> None:
    # t0 - t1 = -10 µs: x = 0.1 + 5000 * (-10e-6) / 2 = 0.075 m
    found = locate({0: 1.0, 1: 1.0 + 10e-6}, bar())
    assert found.x_m == pytest.approx(0.075)


def test_guard_sensor_first_hit_rejects_the_event() -> None:
    config = LocationConfig(
        (Sensor(0, 0.0), Sensor(1, 0.2), Sensor(2, -0.05, guard=True), Sensor(3, 0.25, guard=True)),
        V,
    )
    assert locate(arrivals(config, -0.08), config).status == GUARD
    assert locate(arrivals(config, 0.3), config).status == GUARD
    inside = locate(arrivals(config, 0.07), config)
    assert inside.status == INSIDE and inside.x_m == pytest.approx(0.07)


def test_linear_three_sensors_uses_the_first_hit_and_its_next_neighbour() -> None:
    config = LocationConfig((Sensor(0, 0.0), Sensor(1, 0.1), Sensor(2, 0.3)), V)
    for x in (0.02, 0.09, 0.11, 0.28):
        found = locate(arrivals(config, x), config)
        assert found.x_m == pytest.approx(x, abs=1e-9)
        assert found.residual_us == pytest.approx(0.0, abs=1e-6)
    # An arrival inconsistent with the others shows in the residual.
    times = arrivals(config, 0.05)
    times[2] += 3e-6
    assert locate(times, config).residual_us > 1.0


def test_linear_single_hit_is_unlocated() -> None:
    found = locate({0: 1.0}, bar())
    assert found.status == UNLOCATED and math.isnan(found.x_m)
    assert locate({7: 1.0}, bar()).status == UNLOCATED  # a channel without a sensor


def plate(**options) -> LocationConfig:
    corners = [(0.05, 0.05), (0.45, 0.05), (0.45, 0.45), (0.05, 0.45)]
    sensors = tuple(Sensor(i, x, y) for i, (x, y) in enumerate(corners))
    return LocationConfig(sensors, V, mode="planar", **options)


@pytest.mark.parametrize("xy", [(0.25, 0.25), (0.1, 0.37), (0.44, 0.06), (0.3, 0.2)])
def test_planar_four_sensors_recovers_the_position(xy: tuple[float, float]) -> None:
    found = locate(arrivals(plate(), *xy), plate())
    assert (found.x_m, found.y_m) == pytest.approx(xy, abs=1e-7)
    assert found.residual_us == pytest.approx(0.0, abs=1e-4)
    assert found.status == INSIDE
    assert 0 < found.uncertainty_m < 0.01


def test_planar_outside_the_sensors_and_residual_of_noisy_times() -> None:
    config = plate(max_residual_us=1.0)
    outside = locate(arrivals(config, 0.02, 0.3), config)
    assert outside.status == OUTSIDE and outside.x_m == pytest.approx(0.02, abs=1e-6)
    rng = np.random.default_rng(3)
    times = {ch: t + rng.normal(0, 0.3e-6) for ch, t in arrivals(config, 0.2, 0.3).items()}
    noisy = locate(times, config)
    assert 0.01 < noisy.residual_us < 1.0
    assert math.hypot(noisy.x_m - 0.2, noisy.y_m - 0.3) < 0.005
    times[2] += 20e-6  # one wrong arrival: residual beyond the maximum
    assert locate(times, config).status == UNLOCATED


def test_planar_three_sensors_exact_and_two_unlocated() -> None:
    config = LocationConfig(
        (Sensor(0, 0.0, 0.0), Sensor(1, 0.4, 0.0), Sensor(2, 0.2, 0.35)), V, mode="planar"
    )
    found = locate(arrivals(config, 0.2, 0.12), config)
    assert (found.x_m, found.y_m) == pytest.approx((0.2, 0.12), abs=1e-6)
    times = arrivals(config, 0.2, 0.12)
    del times[2]
    assert locate(times, config).status == UNLOCATED
