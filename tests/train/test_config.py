"""Model configurations and model cards: loading, shape checks, one-line errors (no torch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aemon.detect.model_card import ModelCard, read_model_card, write_model_card
from aemon.errors import ConfigError, FileFormatError
from aemon.train.config import (
    load_model_config,
    model_config_from_dict,
    with_overrides,
)

CONFIG_DIR = Path(__file__).parents[2] / "aemon" / "models" / "configs"
CONFIGS = sorted(p for p in CONFIG_DIR.rglob("*.toml") if p.parent.name != "embedding")
"""Detector configs (the autoencoder presets in configs/embedding/ are another format)."""

MINIMAL = """
name = "t"
architecture = "inceptiontime"
[signal]
window = {window}
[[blocks]]
kernels = [3, 5]
filters = 4
bottleneck = 4
modules = 1
pool = {pool}
"""


def write(tmp_path: Path, text: str, name: str = "m.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_configs_load_with_consistent_shapes() -> None:
    assert len(CONFIGS) >= 6
    for path in CONFIGS:
        config = load_model_config(path)
        assert config.signal.window == config.output_bins * config.decimation
        assert 0 < config.hop <= config.signal.window
        assert config.hop % config.decimation == 0


def test_thesis_inceptiontime_geometry() -> None:
    small = load_model_config(CONFIG_DIR / "inceptiontime-small.toml")
    middle = load_model_config(CONFIG_DIR / "inceptiontime-middle.toml")
    big = load_model_config(CONFIG_DIR / "inceptiontime-big.toml")
    assert [b.kernels for b in small.blocks] == [(63, 127, 255)]
    assert [b.pool for b in small.blocks] == [16]
    assert [b.kernels for b in middle.blocks] == [(63, 127, 255), (11, 21, 41)]
    assert [b.pool for b in middle.blocks] == [4, 4]
    assert [b.pool for b in big.blocks] == [2, 2, 4]
    for config in (small, middle, big):
        assert config.decimation == 16
        assert config.output_bins == 2048
        assert all(b.filters == 32 and b.bottleneck == 32 and b.residual for b in config.blocks)
        assert all(b.activation == "mish" for b in config.blocks)
    # receptive field of the small model: 3 modules of 255 taps plus the pool
    assert small.receptive_field == 1 + 3 * 254 + 15


def test_window_not_divisible_by_pooling_is_one_clear_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.format(window=1000, pool=16))
    with pytest.raises(ConfigError) as info:
        load_model_config(path)
    message = str(info.value)
    assert "not divisible by the total pooling 16" in message
    assert "multiple of 16" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (MINIMAL.format(window=4096, pool=2) + "\n[frontend]\nkernel = 4\nstride = 8\n", "stride"),
        (
            MINIMAL.format(window=4096, pool=2).replace("kernels = [3, 5]", "kernals = [3]"),
            "kernals",
        ),
        (MINIMAL.format(window=4096, pool=2).replace("pool = 2", "pool = 0"), "pool"),
        (MINIMAL.format(window=4096, pool=2) + "activation = 'swish9'\n", "activation"),
        (
            MINIMAL.format(window=4096, pool=2).replace("inceptiontime", "transformer"),
            "architecture",
        ),
        (MINIMAL.format(window=64, pool=2).replace("[3, 5]", "[63, 127]"), "too short"),
        (
            MINIMAL.format(window=4096, pool=2).replace("filters = 4", "filters = 'four'"),
            "whole number",
        ),
        (
            'name = "s"\narchitecture = "spec2map"\n[stft]\nn_fft = 128\nhop = 13\n[[conv2d]]\n',
            "even",
        ),
        ('name = "s"\narchitecture = "spec2map"\n[stft]\nn_fft = 128\nhop = 16\n', "conv2d"),
    ],
)
def test_impossible_configs_are_rejected(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_model_config(write(tmp_path, text))


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_model_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_model_config(write(tmp_path, "name = [unclosed"))


def test_json_and_dict_round_trip(tmp_path: Path) -> None:
    config = load_model_config(CONFIGS[0])
    path = write(tmp_path, json.dumps(config.to_dict()), "m.json")
    again = load_model_config(path)
    assert again == config
    assert model_config_from_dict(config.to_dict()) == config


def test_overrides_revalidate() -> None:
    config = load_model_config(CONFIGS[0])
    changed = with_overrides(config, sample_rate_hz=192000, epochs=3, batch_size=None)
    assert changed.signal.sample_rate_hz == 192000.0
    assert changed.training.epochs == 3
    assert changed.training.batch_size == config.training.batch_size
    with pytest.raises(ConfigError, match="positive"):
        with_overrides(config, sample_rate_hz=-1.0)


def _card() -> ModelCard:
    return ModelCard(
        name="m",
        architecture={"architecture": "inceptiontime", "description": "d"},
        classes=["low", "high"],
        sample_rate_hz=1_562_500.0,
        window=4096,
        hop=3840,
        output_bins=256,
        bin_samples=16,
        margin_bins=8,
        normalization={"method": "noise_floor", "compress": "asinh", "time_constant_s": 0.05},
        metrics={
            "heldout": {
                "map": {
                    "accuracy": 0.99,
                    "precision": 0.9,
                    "recall": 0.8,
                    "f1": 0.85,
                    "roc_auc": 0.99,
                },
                "events": {
                    "precision": 0.97,
                    "recall": 0.96,
                    "f1": 0.965,
                    "true_bursts": 100,
                    "median_onset_error_us": 3.5,
                },
            }
        },
        reproduce="aemon train x.toml --out m",
    )


def test_model_card_round_trip_and_markdown(tmp_path: Path) -> None:
    card = _card()
    write_model_card(card, tmp_path)
    back = read_model_card(tmp_path)
    assert back == card
    assert back.bin_us == pytest.approx(10.24)
    assert back.normalization_params().compress == "asinh"
    markdown = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "aemon train x.toml --out m" in markdown
    assert "| heldout | 0.99000 | 0.90000 | 0.80000 | 0.85000 |" in markdown
    assert "3.5 |" in markdown


def test_bad_model_cards_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="no model card"):
        read_model_card(tmp_path)
    (tmp_path / "model_card.json").write_text('{"name": "x"}', encoding="utf-8")
    with pytest.raises(FileFormatError, match="lacks"):
        read_model_card(tmp_path)
    raw = _card().to_dict()
    raw["output_bins"] = 100
    (tmp_path / "model_card.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(FileFormatError, match="window"):
        read_model_card(tmp_path)
