"""U-Net denoiser training: a few steps, ONNX export parity, the card and its evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from aemon.denoise.denoiser import Denoiser
from aemon.denoise.evaluation import METHODS, SNRS_DB
from aemon.denoise.mixing import DenoiseMixer
from aemon.train.denoise_model import build_unet
from aemon.train.denoise_training import evaluate_card, make_batch, train_denoiser


def test_batches_and_network_shapes_agree() -> None:
    import torch

    feats, target, weight = make_batch(DenoiseMixer(1024), np.random.default_rng(0), 3)
    assert feats.shape == target.shape == weight.shape
    assert feats.shape[:2] == (3, 1) and feats.shape[3] % 4 == 0
    assert target.min() >= 0 and target.max() <= 1 and weight.min() >= 0
    with torch.no_grad():
        mask = build_unet(4)(torch.from_numpy(feats))
    assert mask.shape == feats.shape and float(mask.min()) >= 0 and float(mask.max()) <= 1


def test_few_steps_export_with_parity_and_a_card(tmp_path: Path) -> None:
    out = tmp_path / "dn"
    card = train_denoiser(
        out, steps=3, batch_size=2, window_samples=1024, width=4, validation_size=4, command="x"
    )
    saved = json.loads((out / "card.json").read_text())
    assert saved["onnx_parity_max_abs"] < 1e-4 and saved["training"]["steps"] == 3
    assert saved == card and saved["kind"] == "denoiser-unet"
    x = np.random.default_rng(1).standard_normal(3000)
    assert Denoiser(out).denoise(x).shape == x.shape
    evaluated = evaluate_card(out, examples=2)
    assert len(evaluated["evaluation"]["rows"]) == len(SNRS_DB) * len(METHODS)
    assert "## Reproduce" in (out / "README.md").read_text()
