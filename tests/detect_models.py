"""Small detector models for the detection tests, built without training.

* :func:`energy_model`: an ONNX graph written with ``onnx.helper`` that behaves like a trained
  burst detector: per bin, the mean of ``x²`` over two bins centred on it, through a steep
  sigmoid, so a burst well above the noise gives probabilities near 1 and noise near 0.
  Class ``low`` fires at a lower energy than class ``high``.
* :func:`torch_model`: an untrained InceptionTime (strided front end + one block) from
  :mod:`aemon.train.models`, exported with :func:`aemon.train.export.export_onnx`; returns the
  torch network too, so a test can run it on a whole signal in one pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aemon.detect.model_card import ModelCard, write_model_card
from aemon.dsp.normalization import NormalizationParams

onnx = pytest.importorskip("onnx")  # the train extra; the tests that use these models skip
from onnx import TensorProto, helper  # noqa: E402

RATE = 1_562_500.0


def energy_model(
    directory: Path,
    *,
    rate: float = RATE,
    window: int = 512,
    bin_samples: int = 8,
    margin_bins: int = 2,
    name: str = "energy",
    channels: int = 1,
) -> ModelCard:
    """Write an energy-detector model directory; returns its card."""
    bins = window // bin_samples
    k = 2 * bin_samples
    pad = (k - bin_samples) // 2
    weight = np.full((1, channels, k), 1.0 / (k * channels), np.float32)
    nodes = [
        helper.make_node("Mul", ["signal", "signal"], ["sq"]),
        helper.make_node(
            "Conv",
            ["sq", "w"],
            ["energy"],
            kernel_shape=[k],
            strides=[bin_samples],
            pads=[pad, pad],
        ),
        helper.make_node("Mul", ["energy", "gain"], ["scaled"]),
        helper.make_node("Sub", ["scaled", "offsets"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["probabilities"]),
    ]
    inits = [
        helper.make_tensor("w", TensorProto.FLOAT, weight.shape, weight.ravel()),
        helper.make_tensor("gain", TensorProto.FLOAT, [], [4.0]),
        # class low: energy > 3, class high: energy > 6 (noise after asinh: ~0.6)
        helper.make_tensor("offsets", TensorProto.FLOAT, [1, 2, 1], [12.0, 24.0]),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("signal", TensorProto.FLOAT, ["batch", channels, window])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2, bins])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    directory.mkdir(parents=True, exist_ok=True)
    onnx.save(model, directory / "model.onnx")
    card = ModelCard(
        name=name,
        architecture={"architecture": "energy", "description": "test energy detector"},
        classes=["low", "high"],
        sample_rate_hz=rate,
        window=window,
        hop=window - 2 * margin_bins * bin_samples,
        output_bins=bins,
        bin_samples=bin_samples,
        margin_bins=margin_bins,
        channels=channels,
        normalization=NormalizationParams().to_dict(),
    )
    write_model_card(card, directory)
    return card


def torch_model(directory: Path, *, seed: int = 0, window: int = 1024) -> tuple[Any, ModelCard]:
    """Export an untrained tiny InceptionTime; returns ``(torch ProbabilityHead, card)``."""
    import torch

    from aemon.train.config import model_config_from_dict
    from aemon.train.export import export_onnx
    from aemon.train.models import ProbabilityHead, build_model
    from aemon.train.package import card_for

    raw = {
        "name": "tiny-inception",
        "architecture": "inceptiontime",
        "signal": {"sample_rate_hz": RATE, "window": window, "classes": ["low", "high"]},
        "frontend": {"filters": 4, "kernel": 16, "stride": 4},
        "blocks": [{"kernels": [5, 9], "filters": 4, "bottleneck": 4, "modules": 1, "pool": 2}],
    }
    config = model_config_from_dict(raw)
    torch.manual_seed(seed)
    net = build_model(config).eval()
    directory.mkdir(parents=True, exist_ok=True)
    export_onnx(net, config, directory / "model.onnx")
    card = card_for(config, {}, {}, "tests/detect_models.py")
    write_model_card(card, directory)
    return ProbabilityHead(net).eval(), card


def burst(n: int, amplitude: float, rate: float = RATE, seed: int = 0) -> np.ndarray:
    """A decaying 150 kHz-ish AE burst (scaled with the rate) of ``n`` samples."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    freq = 150e3 * min(1.0, rate / RATE)
    envelope = np.exp(-t * rate / (n / 4))
    phase = rng.uniform(0, 2 * np.pi)
    return amplitude * envelope * np.sin(2 * np.pi * freq * t + phase)
