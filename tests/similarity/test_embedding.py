"""Embedding autoencoder: config checks, a few training steps, ONNX export parity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from aemon.errors import ConfigError
from aemon.similarity.autoencoder import (
    DEFAULT_CONFIG,
    build_autoencoder,
    load_autoencoder_config,
)
from aemon.similarity.embedding import EmbeddingModel
from aemon.similarity.embedding_training import train_embedding


@pytest.mark.parametrize(("preset", "window"), [(2, 1024), (5, 2048)])
def test_presets_reconstruct_the_input_length(preset: int, window: int) -> None:
    import torch

    layers = {1: 2, 2: 3, 5: 2, 6: 2}[preset]
    config = load_autoencoder_config(
        DEFAULT_CONFIG, {"preset": preset, "window_samples": window, "channels": [2] * layers}
    )
    model = build_autoencoder(config)
    x = torch.zeros(3, 1, window)
    assert model(x).shape == x.shape
    assert model.encode(x).shape == (3, config.latent_size)
    assert config.compression == pytest.approx(1 - config.latent_size / window)


def test_a_preset_that_does_not_fit_the_window_is_rejected() -> None:
    with pytest.raises(ConfigError, match="does not fit"):
        load_autoencoder_config(
            DEFAULT_CONFIG, {"preset": 5, "window_samples": 1024, "channels": [2, 2]}
        )


def test_training_few_steps_exports_an_encoder_with_parity(tmp_path: Path) -> None:
    config = load_autoencoder_config(
        DEFAULT_CONFIG, {"preset": 1, "window_samples": 256, "channels": [4, 2], "epochs": 3}
    )
    rng = np.random.default_rng(0)
    t = np.arange(256) / 1.5625e6
    bursts = np.sin(2 * np.pi * 200e3 * t) * np.exp(-t / 40e-6) * (t >= 0)
    windows = (rng.normal(0, 1e-5, (40, 256)) + 1e-3 * bursts).astype(np.float32)
    out = tmp_path / "ae"
    card = train_embedding(config, windows, out, command="test")
    saved = json.loads((out / "card.json").read_text())
    assert saved["onnx_parity_max_abs"] < 1e-4
    assert saved["epochs_run"] == 3 and saved["validation_windows"] == 8
    assert set(saved["reconstruction"]) == {"l1", "l2", "s_l1", "s_l2"}
    assert all(np.isfinite(v) and v > 0 for v in card["reconstruction"].values())
    model = EmbeddingModel(out)
    latent = model.latent(windows[:5])
    assert latent.shape == (5, config.latent_size)
    assert (out / "encoder.onnx").stat().st_size < 5_000_000
    assert not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(ConfigError, match="samples"):
        model.latent(windows[:, :100])


def _tone_bursts(rng: np.random.Generator, n: int, length: int, freq_hz: float) -> np.ndarray:
    t = np.arange(length) / 1.5625e6
    out = rng.normal(0, 1e-5, (n, length))
    for row in out:
        onset = rng.integers(50, length // 2)
        tt = t - t[onset]
        row += np.where(tt >= 0, 1e-3 * np.sin(2 * np.pi * freq_hz * tt) * np.exp(-tt / 40e-6), 0)
    return out.astype(np.float32)


def test_spectrum_latent_ignores_where_the_burst_starts(tmp_path: Path) -> None:
    """The spectrum latent of one burst barely moves when it starts later; a burst of another
    band lands further away."""
    overrides = {"window_samples": 256, "epochs": 30, "input": "spectrum", "channels": [8, 3]}
    config = load_autoencoder_config(DEFAULT_CONFIG, overrides)
    rng = np.random.default_rng(3)
    windows = np.concatenate([_tone_bursts(rng, 30, 256, 150e3), _tone_bursts(rng, 30, 256, 450e3)])
    card = train_embedding(config, windows, tmp_path / "ae", command="test")
    assert card["onnx_parity_max_abs"] < 1e-4
    assert card["latent_size"] == config.channels[-1]
    model = EmbeddingModel(tmp_path / "ae")
    t = np.arange(256) / 1.5625e6
    burst = np.sin(2 * np.pi * 150e3 * t) * np.exp(-t / 40e-6) * 1e-3
    early, late, other = np.zeros((3, 256))
    early[40:] = burst[:216]
    late[100:] = burst[:156]
    other[40:] = (np.sin(2 * np.pi * 450e3 * t) * np.exp(-t / 40e-6) * 1e-3)[:216]
    noise = rng.normal(0, 1e-5, (3, 256))
    z = model.latent((np.stack([early, late, other]) + noise).astype(np.float32))
    shifted, different = np.abs(z[0] - z[1]).sum(), np.abs(z[0] - z[2]).sum()
    assert shifted < 0.5 * different
