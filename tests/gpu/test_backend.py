"""``--backend torch`` end to end: the same events as ONNX Runtime from ``aemon detect``."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")  # the train extra

from aemon.cli import main
from aemon.detect import backend
from aemon.detect.backend import choose_backend
from aemon.errors import ConfigError
from aemon.gpu.backend import register_torch_backend, torch_sees_gpu
from aemon.io.event_csv import read_event_csv

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"


@pytest.fixture(autouse=True)
def _own_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "_REGISTRY", {})


@pytest.mark.parametrize("name", ["sim-1m5-250ms.h5", "sim-192k-2s.wav"])
def test_detect_with_torch_gives_the_events_of_onnx_runtime(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = {}
    for runtime in ("onnxruntime", "torch"):
        out = tmp_path / f"{runtime}.csv"
        argv = ["detect", str(RECORDINGS / name), "-o", str(out), "--no-progress"]
        assert main([*argv, "--backend", runtime, "--provider", "cpu", "--threads", "1"]) == 0
        assert f"on cpu ({runtime})" in capsys.readouterr().out
        outputs[runtime] = out.read_text()
    assert len(read_event_csv(tmp_path / "torch.csv")) >= 2
    assert outputs["torch"] == outputs["onnxruntime"]  # every field of every event


def test_auto_takes_onnx_runtime_without_a_gpu_and_torch_once_registered() -> None:
    with pytest.raises(ConfigError, match="torch backend is not loaded"):
        choose_backend("torch", "auto")
    register_torch_backend()
    assert choose_backend("torch", "cpu") == "torch"
    assert choose_backend("auto", "cpu") == "onnxruntime"
    expected = "torch" if torch_sees_gpu() else "onnxruntime"
    assert choose_backend("auto", "auto") == expected
