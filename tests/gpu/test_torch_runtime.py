"""The torch backend against ONNX Runtime on the shipped models, and its error paths (CPU)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")  # the train extra

from aemon.detect.model_card import STATE_DICT_FILE
from aemon.detect.onnx_runtime import OnnxDetector, models_dir
from aemon.errors import ConfigError, FileFormatError
from aemon.gpu.torch_runtime import TorchDetector

SHIPPED = ("aemon-rt-1m5", "aemon-rt-192k")


def windows(det: TorchDetector, n: int = 3, seed: int = 0) -> np.ndarray:
    """Normalised-looking input: unit noise with one strong burst-like packet per window."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, det.card.window)).astype(np.float32)
    t = np.arange(det.card.window // 8)
    for i in range(n):
        start = rng.integers(0, det.card.window - t.size)
        x[i, 0, start : start + t.size] += 30 * np.exp(-t / (t.size / 5)) * np.sin(0.7 * t)
    return x


@pytest.mark.parametrize("name", SHIPPED)
def test_torch_fp32_matches_onnx_runtime_on_shipped_models(name: str) -> None:
    torch_det = TorchDetector(name, provider="cpu")
    onnx_det = OnnxDetector(name, provider="cpu", threads=1)
    x = windows(torch_det)
    ours, ref = torch_det.infer(x), onnx_det.infer(x)
    assert ours.dtype == np.float32 and ours.shape == ref.shape
    assert ours.shape == (3, len(torch_det.card.classes), torch_det.card.output_bins)
    assert np.abs(ours - ref).max() <= 1e-4
    assert ref.max() > 0.5 > ref.min()  # the windows exercise both sides of the threshold
    # a two-dimensional batch is the one-channel shorthand; an empty batch is fine
    np.testing.assert_array_equal(torch_det.infer(x[:, 0]), ours)
    assert torch_det.infer(x[:0]).shape == (0, *ours.shape[1:])
    assert (torch_det.backend, torch_det.provider) == ("torch", "cpu")


def test_bf16_autocast_on_the_cpu_stays_close() -> None:
    det = TorchDetector("aemon-rt-1m5", provider="cpu", precision="bf16")
    x = windows(det)
    ref = OnnxDetector("aemon-rt-1m5", provider="cpu", threads=1).infer(x)
    diff = np.abs(det.infer(x) - ref)
    assert 0 < diff.max() < 0.1  # bf16 rounds, but not past a decision margin of 0.1


def test_bad_shapes_precisions_devices_and_weights(tmp_path: Path) -> None:
    det = TorchDetector("aemon-rt-192k", provider="cpu")
    with pytest.raises(ConfigError, match="takes windows of shape"):
        det.infer(np.zeros((2, 1, 100), np.float32))
    with pytest.raises(ConfigError, match="precision fp16 needs CUDA"):
        TorchDetector("aemon-rt-192k", provider="cpu", precision="fp16")
    with pytest.raises(ConfigError, match="precision 'int8' unknown"):
        TorchDetector("aemon-rt-192k", provider="cpu", precision="int8")
    with pytest.raises(ConfigError, match="provider 'tpu' unknown"):
        TorchDetector("aemon-rt-192k", provider="tpu")
    import torch

    mixed = tmp_path / "mixed"
    shutil.copytree(models_dir() / "aemon-rt-192k", mixed)
    torch.save({"head.weight": torch.zeros(2, 4, 1)}, mixed / STATE_DICT_FILE)
    with pytest.raises(FileFormatError, match="do not belong to the card's architecture"):
        TorchDetector(mixed, provider="cpu")
    (mixed / STATE_DICT_FILE).write_bytes(b"not a torch file")
    with pytest.raises(FileFormatError, match=r"cannot load torch weights .*model\.pt"):
        TorchDetector(mixed, provider="cpu")
    (mixed / STATE_DICT_FILE).unlink()
    with pytest.raises(FileFormatError, match=r"model\.pt missing.*--backend onnxruntime"):
        TorchDetector(mixed, provider="cpu")


def test_cuda_without_a_gpu_is_a_one_line_error() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError, match="torch sees no CUDA GPU"):
        TorchDetector("aemon-rt-192k", provider="cuda")
    assert TorchDetector("aemon-rt-192k", provider="auto").provider == "cpu"


def test_site_calibration_applies_as_in_onnx_runtime(tmp_path: Path) -> None:
    from aemon.detect.calibration import SiteCalibration, write_site_calibration

    model = tmp_path / "site"
    shutil.copytree(models_dir() / "aemon-rt-192k", model)
    shipped = TorchDetector(model, provider="cpu").card.threshold
    write_site_calibration(
        SiteCalibration(0.8125, 1.0, 0.9, 60.0, "empirical", ("bg.wav",), "aemon-rt-192k"), model
    )
    assert TorchDetector(model, provider="cpu").card.threshold == 0.8125 != shipped
    assert OnnxDetector(model, provider="cpu").card.threshold == 0.8125
    assert TorchDetector(model, provider="cpu", site_calibration=False).card.threshold == shipped
