"""The one ONNX Runtime session factory: its options reach every model aemon opens."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from aemon.denoise.denoiser import Denoiser
from aemon.detect.onnx_runtime import OnnxDetector
from aemon.errors import ConfigError, FileFormatError
from aemon.onnx_sessions import (
    ALLOW_SPINNING,
    CPU_PROVIDER,
    ORT_LOG_ERRORS,
    open_session,
    physical_cores,
    session_options,
)
from tests.detect_models import energy_model

PACKAGE = Path(__file__).resolve().parents[1] / "aemon"


def assert_aemon_options(options: ort.SessionOptions, threads: int) -> None:
    assert options.intra_op_num_threads == threads
    assert options.inter_op_num_threads == 1
    assert options.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert options.get_session_config_entry(ALLOW_SPINNING) == "0"
    assert options.log_severity_level == ORT_LOG_ERRORS


def test_options_default_to_one_thread_per_physical_core() -> None:
    assert_aemon_options(session_options(), physical_cores())
    assert_aemon_options(session_options(3), 3)
    with pytest.raises(ConfigError, match="at least 1"):
        session_options(0)


def test_sessions_from_a_file_and_from_bytes_run_with_the_options(tmp_path: Path) -> None:
    energy_model(tmp_path)
    onnx_path = tmp_path / "model.onnx"
    for model in (onnx_path, onnx_path.read_bytes()):
        session = open_session(model, threads=2)
        assert_aemon_options(session.get_session_options(), 2)
        assert session.get_providers() == [CPU_PROVIDER]
        out = session.run(None, {"signal": np.zeros((1, 1, 512), np.float32)})[0]
        assert out.shape == (1, 2, 64)


def test_detector_and_denoiser_sessions_come_from_the_factory(tmp_path: Path) -> None:
    energy_model(tmp_path / "energy")
    detector = OnnxDetector(tmp_path / "energy", threads=2, provider="cpu")
    assert_aemon_options(detector.session.get_session_options(), 2)
    denoiser = Denoiser(threads=1)
    assert_aemon_options(denoiser._session.get_session_options(), 1)


def test_unloadable_model_is_one_line_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(FileFormatError, match=r"cannot load denoiser model .*model\.onnx: ") as e:
        open_session(bad, what="denoiser model")
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="unknown"):
        open_session(bad, provider="tpu")


def test_only_the_factory_opens_sessions() -> None:
    calls = [
        f"{path.relative_to(PACKAGE)}:{i}"
        for path in PACKAGE.rglob("*.py")
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"InferenceSession\(", line)
    ]
    assert calls == [c for c in calls if c.startswith("onnx_sessions.py:")]
    assert len(calls) == 1
