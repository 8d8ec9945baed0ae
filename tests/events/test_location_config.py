"""The location TOML: round trip, derived event window, one-line errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from aemon.errors import ConfigError
from aemon.events.location_config import (
    LocationConfig,
    Sensor,
    load_location_config,
    location_config_toml,
)

V = 5000.0


def bar(**options) -> LocationConfig:
    return LocationConfig((Sensor(0, 0.0), Sensor(1, 0.2)), V, **options)


def test_toml_round_trip_and_derived_window(tmp_path: Path) -> None:
    text = """
mode = "linear"
wave_speed_m_s = 5000
window_us = 80
gauge_m = [0.02, 0.18]
[[sensors]]
channel = 0
x_m = 0.0
[[sensors]]
channel = 1
x_m = 0.2
[[sensors]]
channel = 2
x_m = -0.05
guard = true
"""
    path = tmp_path / "bar.toml"
    path.write_text(text)
    config = load_location_config(path)
    assert config.wave_speed_m_s == 5000.0 and config.event_window_s == pytest.approx(80e-6)
    assert config.sensor(2) == Sensor(2, -0.05, 0.0, True) and config.sensor(5) is None
    assert config.gauge_interval_m == (0.02, 0.18)
    path.write_text(location_config_toml(config))
    assert load_location_config(path) == config
    derived = bar()
    assert derived.event_window_s == pytest.approx(1.2 * 0.2 / V)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("wave_speed_m_s = 5000\n", "sensors"),
        ("[[sensors]]\nchannel = 0\nx_m = 0\n[[sensors]]\nchannel = 1\nx_m = 1\n", "wave_speed"),
        ("wave_speed_m_s = -1\n[[sensors]]\nchannel = 0\nx_m = 0\n"
         "[[sensors]]\nchannel = 1\nx_m = 1\n", "positive"),
        ("wave_speed_m_s = 5000\nspeed = 3\n", "unknown key"),
        ("wave_speed_m_s = 5000\n[[sensors]]\nchannel = 0\nx_m = 0\n", "at least 2"),
        ("wave_speed_m_s = 5000\n[[sensors]]\nchannel = 0\nx_m = 0\n"
         "[[sensors]]\nchannel = 0\nx_m = 1\n", "own channel"),
        ("wave_speed_m_s = 5000\nmode = \"planar\"\n[[sensors]]\nchannel = 0\nx_m = 0\n"
         "[[sensors]]\nchannel = 1\nx_m = 1\n", "at least 3"),
        ("wave_speed_m_s = 5000\n[[sensors]]\nchannel = 0\nx_m = \"a\"\n", "number"),
        ("wave_speed_m_s = [\n", "not valid TOML"),
    ],
)  # fmt: skip
def test_bad_location_files_give_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_location_config(path)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="cannot read"):
        load_location_config(tmp_path / "missing.toml")
