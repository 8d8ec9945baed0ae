"""Simulated geometry: arrival delays and attenuation follow the positions, grip noise lies
outside the sensors, breaks sit where asked, and chunking does not change the output."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aemon.errors import ConfigError
from aemon.sim.geometry import GeometrySimulator, SensorGeometry, delayed
from aemon.sim.simulator import SimConfig

FS = 1_562_500.0


def linear_sim(**options) -> GeometrySimulator:
    geometry = SensorGeometry.linear(2, 0.2, wave_speed_m_s=5000.0, grip_rate_hz=30.0, **options)
    return GeometrySimulator(SimConfig(channels=2, burst_rate_hz=60.0, seed=3), geometry)


def test_arrivals_follow_distance_over_wave_speed_and_attenuate() -> None:
    sim = linear_sim()
    block, sources = sim.render_located(int(0.5 * FS))
    assert len(sources) > 20 and len(block.bursts) >= 2 * len(sources) - 4
    by_onset = {(b.channel, b.onset_sample): b for b in block.bursts}
    kinds = {s.kind for s in sources}
    assert kinds == {"crack", "grip"}
    for s in sources:
        for channel, sensor_x in ((0, 0.0), (1, 0.2)):
            distance = abs(s.x_m - sensor_x)
            arrival = s.emission_sample + distance / 5000.0 * FS
            truth = by_onset.get((channel, round(arrival)))
            if truth is None:  # lies past the end of the block
                assert arrival >= block.first_sample + block.samples.shape[1] - 1
                continue
            assert truth.snr_db == pytest.approx(s.snr_db - 20.0 * distance, abs=1e-6)
        assert s.first_channel == (0 if abs(s.x_m) < abs(s.x_m - 0.2) else 1)
        if s.kind == "crack":
            assert 0.0 <= s.x_m <= 0.2 and s.y_m == 0.0
        else:
            assert -0.1 <= s.x_m <= -0.01 or 0.21 <= s.x_m <= 0.3


def test_output_does_not_depend_on_chunking() -> None:
    whole, sources = linear_sim().render_located(300_000)
    sim = linear_sim()
    parts, chunk_sources = [], []
    while sim.position < 300_000:
        block, new = sim.render_located(min(37_001, 300_000 - sim.position))
        parts.append(block)
        chunk_sources += new
    assert np.array_equal(np.concatenate([p.samples for p in parts], axis=1), whole.samples)
    assert [b for p in parts for b in p.bursts] == whole.bursts
    assert chunk_sources == sources


def test_background_is_the_plain_simulators_without_its_bursts() -> None:
    from aemon.sim.simulator import AESimulator

    config = SimConfig(channels=2, burst_rate_hz=0.0, seed=3)
    geometry = SensorGeometry.linear(2, 0.2)
    located = GeometrySimulator(config, geometry).render(50_000).samples
    plain = AESimulator(config).render(50_000).samples
    assert np.array_equal(located, plain)


def test_breaks_sit_at_the_given_positions_per_stretch() -> None:
    geometry = SensorGeometry.linear(
        2, 0.2, breaks_m=((0.03, 0.0), (0.15, 0.0)), break_segment_s=0.2
    )
    sim = GeometrySimulator(SimConfig(channels=2, burst_rate_hz=50.0, seed=1), geometry)
    _, sources = sim.render_located(int(0.4 * FS))
    assert sources
    for s in sources:
        expected = 0.03 if s.emission_sample / FS < 0.2 else 0.15
        assert s.x_m == expected


def test_plate_places_sensors_on_a_circle_and_sources_on_the_plate() -> None:
    geometry = SensorGeometry.plate(4, 0.5)
    radii = [math.hypot(x - 0.25, y - 0.25) for x, y in geometry.sensors_m]
    assert radii == pytest.approx([0.2] * 4)
    sim = GeometrySimulator(SimConfig(channels=4, burst_rate_hz=50.0, seed=2), geometry)
    _, sources = sim.render_located(int(0.2 * FS))
    assert sources and all(0 <= s.x_m <= 0.5 and 0 <= s.y_m <= 0.5 for s in sources)


def test_fractional_delay_shifts_a_band_limited_signal() -> None:
    t = np.arange(400)
    wave = np.sin(2 * np.pi * 0.1 * t) * np.exp(-(((t - 150) / 40.0) ** 2))
    shifted = delayed(wave, 0.25)
    expected = np.sin(2 * np.pi * 0.1 * (t - 0.25)) * np.exp(-(((t - 150.25) / 40.0) ** 2))
    assert np.max(np.abs(shifted[:400] - expected)) < 1e-3
    assert np.array_equal(delayed(wave, 0.0)[:400], wave)


def test_bad_geometry_is_refused() -> None:
    with pytest.raises(ConfigError, match="line"):
        SensorGeometry.plate(4, 0.5, grip_rate_hz=1.0)
    with pytest.raises(ConfigError, match="channels"):
        GeometrySimulator(SimConfig(channels=3), SensorGeometry.linear(2, 0.2))
    with pytest.raises(ConfigError, match="spacing"):
        SensorGeometry.linear(2, 0.0)
