"""Backend choice: the built-in ONNX Runtime, registered backends, and ``auto``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aemon.detect import backend
from aemon.detect.backend import (
    Backend,
    Detector,
    choose_backend,
    open_with_backend,
    register_backend,
    registered_backends,
)
from aemon.detect.onnx_runtime import OnnxDetector
from aemon.detect.options import DetectOptions
from aemon.errors import ConfigError
from tests.detect_models import energy_model


@pytest.fixture(autouse=True)
def _own_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "_REGISTRY", {})


class _Halved:
    """A second backend: the ONNX model's probabilities halved (so its output is its own)."""

    backend = "torch"

    def __init__(self, model: str | Path, options: DetectOptions) -> None:
        self.inner = OnnxDetector(model, provider="cpu", threads=1)
        self.card, self.provider, self.threads = self.inner.card, "cpu", 1

    def infer(self, windows: np.ndarray) -> np.ndarray:
        return self.inner.infer(windows) / 2


def test_onnx_runtime_is_built_in_and_torch_must_be_registered(tmp_path: Path) -> None:
    energy_model(tmp_path / "m")
    det = open_with_backend(tmp_path / "m", DetectOptions(backend="onnxruntime", provider="cpu"))
    assert isinstance(det, OnnxDetector) and det.backend == "onnxruntime"
    assert choose_backend("auto", "auto") == "onnxruntime"  # nothing registered
    with pytest.raises(ConfigError, match=r"torch backend is not loaded.*--backend onnxruntime"):
        open_with_backend(tmp_path / "m", DetectOptions(backend="torch"))
    with pytest.raises(ConfigError, match="backend 'tensorflow' unknown"):
        choose_backend("tensorflow", "auto")
    with pytest.raises(ValueError, match="not one of"):
        register_backend(Backend("auto", _Halved, lambda provider: True))


@pytest.mark.parametrize("gpu", [True, False])
def test_auto_takes_a_registered_backend_only_when_it_has_a_gpu(tmp_path: Path, gpu: bool) -> None:
    energy_model(tmp_path / "m")
    register_backend(Backend("torch", _Halved, lambda provider: gpu))
    assert registered_backends() == ["torch"]
    x = np.random.default_rng(0).standard_normal((2, 1, 512)).astype(np.float32)
    det: Detector = open_with_backend(tmp_path / "m", DetectOptions(backend="auto"))
    assert det.backend == ("torch" if gpu else "onnxruntime")
    reference = OnnxDetector(tmp_path / "m", provider="cpu").infer(x)
    np.testing.assert_allclose(det.infer(x), reference / 2 if gpu else reference)
    assert choose_backend("auto", "cpu") == "onnxruntime"  # --provider cpu: never the GPU one
    assert choose_backend("torch", "cpu") == "torch"
