"""WaveLine acquisition settings: TOML file, flags over the file, and refusals."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from aemon.drivers.source_factory import add_source_arguments, source_from_args, source_kind
from aemon.drivers.waveline_open import parse_linwave
from aemon.drivers.waveline_settings import WaveLineSettings, read_settings_file
from aemon.errors import ConfigError


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    add_source_arguments(parser)
    return parser.parse_args(list(argv))


def test_toml_file_and_flags_over_it(tmp_path: Path) -> None:
    config = tmp_path / "lab.toml"
    config.write_text(
        'channels = [2]\ninput_range = "5 V"\nhighpass_hz = 25e3\nlowpass_hz = "none"\n'
        "filter_order = 4\ndecimation = 2\nstall_timeout_s = 3.0\n"
    )
    settings = read_settings_file(config)
    assert settings == WaveLineSettings(
        channels=(2,), input_range="5 V", highpass_hz=25e3, lowpass_hz=None, filter_order=4,
        decimation=2, stall_timeout_s=3.0,
    )  # fmt: skip
    source = source_from_args(
        "linwave://10.0.0.7", _args("linwave://10.0.0.7", "--device-config", str(config),
                                    "--decimation", "10", "--lowpass", "400000"),
    )  # fmt: skip
    assert source.settings.decimation == 10  # type: ignore[attr-defined]
    assert source.settings.lowpass_hz == 400e3  # type: ignore[attr-defined]
    assert source.settings.channels == (2,)  # type: ignore[attr-defined]
    assert (source.host, source.port) == ("10.0.0.7", 5432)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("decimations = 5\n", "unknown key 'decimations'"),
        ("channels = 2\n", "channels must be a list"),
        ("highpass_hz = -5\n", "highpass_hz must be a frequency"),
        ("decimation = \n", "--device-config"),
    ],
)
def test_bad_files_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_settings_file(config)


def test_rate_range_and_decimation_rules() -> None:
    assert WaveLineSettings(rate_hz=2e6).resolve_decimation(10e6, 5) == 5
    assert WaveLineSettings().resolve_decimation(10e6, 5) == 5
    with pytest.raises(ConfigError, match="not 10 MHz / a whole decimation"):
        WaveLineSettings(rate_hz=3e6).resolve_decimation(10e6, 5)
    with pytest.raises(ConfigError, match="means decimation 5, not 2"):
        WaveLineSettings(rate_hz=2e6, decimation=2).resolve_decimation(10e6, 5)
    names = ["50 mV", "5 V"]
    assert WaveLineSettings(input_range="5V").range_index(names) == 1
    assert WaveLineSettings(input_range="0.05").range_index(names) == 0
    assert WaveLineSettings(input_range=1).range_index(names) == 1
    with pytest.raises(ConfigError, match="input range '10 V' unknown"):
        WaveLineSettings(input_range="10 V").range_index(names)


def test_device_flags_are_refused_for_other_sources() -> None:
    with pytest.raises(ConfigError, match="apply only to linwave:// and spotwave://"):
        source_from_args("tcp://127.0.0.1:5555", _args("tcp://127.0.0.1:5555", "--highpass", "1e4"))
    with pytest.raises(ConfigError, match="--realtime cannot be used with a WaveLine device"):
        source_from_args("linwave://h", _args("linwave://h", "--realtime"))


def test_source_strings() -> None:
    assert source_kind("linwave://192.168.0.100") == "waveline"
    assert source_kind("spotwave:///dev/ttyACM0") == "waveline"
    assert parse_linwave("linwave://127.0.0.1:6000") == ("127.0.0.1", 6000)
    with pytest.raises(ConfigError, match="expected linwave://HOST"):
        parse_linwave("linwave://")
