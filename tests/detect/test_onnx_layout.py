"""The 1-D → 2-D convolution rewrite: same outputs, a marker, and a refusal where unsafe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from aemon.detect.model_card import ModelCard, write_model_card
from aemon.detect.onnx_layout import LAYOUT_CONV2D, LAYOUT_KEY, as_conv2d
from aemon.detect.onnx_runtime import OnnxDetector
from aemon.dsp.normalization import NormalizationParams
from tests.detect_models import energy_model, torch_model

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

WINDOW = 256


def _conv1d_model(reshape_in_path: bool = False) -> bytes:
    """A small torch-like 1-D graph: padding computed from constants, conv, batch norm, SiLU,
    an inception pair with a pool branch, concat, residual add, head."""
    rng = np.random.default_rng(3)

    def init(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.5, name)

    nodes = [
        helper.make_node(
            "Constant", [], ["pad1d"], value=numpy_helper.from_array(np.array([3, 4], np.int64))
        ),
        helper.make_node(
            "ConstantOfShape",
            ["four"],
            ["zeros"],
            value=numpy_helper.from_array(np.array([0], np.int64)),
        ),
        helper.make_node("Concat", ["zeros", "pad1d"], ["pads_mixed"], axis=0),
        helper.make_node("Gather", ["pads_mixed", "order"], ["pads"], axis=0),
        helper.make_node("Pad", ["signal", "pads"], ["padded"], mode="constant"),
        helper.make_node("Conv", ["padded", "w0", "b0"], ["c0"], kernel_shape=[8], strides=[2]),
        helper.make_node("Sigmoid", ["c0"], ["s0"]),
        helper.make_node("Mul", ["c0", "s0"], ["a0"]),
        helper.make_node("Conv", ["a0", "w1"], ["c1"], kernel_shape=[5], pads=[2, 2]),
        helper.make_node("MaxPool", ["a0"], ["p1"], kernel_shape=[3], strides=[1], pads=[1, 1]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], kernel_shape=[1]),
        helper.make_node("Concat", ["c1", "c2"], ["cat"], axis=1),
        helper.make_node("BatchNormalization", ["cat", "g", "beta", "mean", "var"], ["bn"]),
        helper.make_node("Tanh", ["bn"], ["t"]),
        helper.make_node("Add", ["t", "a0"], ["res"]),
        helper.make_node("Mul", ["res", "half"], ["scaled"]),
        helper.make_node("AveragePool", ["scaled"], ["pooled"], kernel_shape=[2], strides=[2]),
        helper.make_node("Conv", ["pooled", "wh"], ["logits"], kernel_shape=[1]),
        helper.make_node("Sigmoid", ["logits"], ["probabilities"]),
    ]
    if reshape_in_path:
        nodes.insert(-1, helper.make_node("Reshape", ["logits", "same"], ["logits2"]))
        nodes[-1].input[0] = "logits2"
    inits = [
        numpy_helper.from_array(np.array([4], np.int64), "four"),
        numpy_helper.from_array(np.array([0, 1, 4, 2, 3, 5], np.int64), "order"),
        numpy_helper.from_array(np.array([0, 2, -1], np.int64), "same"),
        init("w0", 4, 1, 8), init("b0", 4), init("w1", 2, 4, 5), init("w2", 2, 4, 1),
        numpy_helper.from_array(np.abs(rng.standard_normal(4)).astype(np.float32) + 0.5, "g"),
        init("beta", 4), init("mean", 4),
        numpy_helper.from_array(np.abs(rng.standard_normal(4)).astype(np.float32) + 0.5, "var"),
        numpy_helper.from_array(np.array(0.5, np.float32), "half"),
        init("wh", 2, 4, 1),
    ]  # fmt: skip
    bins = ((WINDOW + 7 - 8) // 2 + 1) // 2
    graph = helper.make_graph(
        nodes,
        "conv1d",
        [helper.make_tensor_value_info("signal", TensorProto.FLOAT, ["batch", 1, WINDOW])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2, bins])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def _run(model: bytes, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"signal": x})[0])


def test_rewrite_keeps_the_outputs_and_marks_the_model() -> None:
    plain = _conv1d_model()
    wide = as_conv2d(plain)
    assert wide is not None
    proto = onnx.load_from_string(wide)
    assert {p.key: p.value for p in proto.metadata_props}[LAYOUT_KEY] == LAYOUT_CONV2D
    kernels = [
        next(a.ints for a in n.attribute if a.name == "kernel_shape")
        for n in proto.graph.node
        if n.op_type in ("Conv", "MaxPool", "AveragePool")
    ]
    assert kernels and all(len(k) == 2 and k[0] == 1 for k in kernels)
    folded = ("Gather", "Pad", "BatchNormalization")  # into the convolutions
    assert not any(n.op_type in folded for n in proto.graph.node)
    x = np.random.default_rng(0).standard_normal((3, 1, WINDOW)).astype(np.float32) * 3
    expected, got = _run(plain, x), _run(wide, x)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert as_conv2d(wide) is None  # already rewritten


def test_rewrite_declines_what_it_cannot_keep_exact(tmp_path: Path) -> None:
    assert as_conv2d(_conv1d_model(reshape_in_path=True)) is None
    energy_model(tmp_path / "energy")  # a per-class offset broadcast over the channels
    assert as_conv2d((tmp_path / "energy" / "model.onnx").read_bytes()) is None


def test_exported_models_are_2d_and_match_torch(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    net, card = torch_model(tmp_path / "m")
    session = ort.InferenceSession(str(tmp_path / "m" / "model.onnx"))
    assert session.get_modelmeta().custom_metadata_map[LAYOUT_KEY] == LAYOUT_CONV2D
    x = np.random.default_rng(1).standard_normal((2, 1, card.window)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(session.run(None, {"signal": x})[0], expected, atol=1e-4)


def test_detector_runs_an_old_1d_model_in_2d(tmp_path: Path) -> None:
    plain = _conv1d_model()
    x = np.random.default_rng(2).standard_normal((2, 1, WINDOW)).astype(np.float32)
    expected = _run(plain, x)
    bins = expected.shape[-1]
    (tmp_path / "model.onnx").write_bytes(plain)
    card = ModelCard(
        name="old-1d",
        architecture={"architecture": "test", "description": "a 1-D export"},
        classes=["low", "high"],
        sample_rate_hz=1_562_500.0,
        window=WINDOW,
        hop=WINDOW - 2 * WINDOW // bins,
        output_bins=bins,
        bin_samples=WINDOW // bins,
        margin_bins=1,
        channels=1,
        normalization=NormalizationParams().to_dict(),
    )
    write_model_card(card, tmp_path)
    detector = OnnxDetector(tmp_path, provider="cpu", threads=1)
    assert detector.session.get_modelmeta().custom_metadata_map[LAYOUT_KEY] == LAYOUT_CONV2D
    np.testing.assert_allclose(detector.infer(x), expected, atol=1e-5)


def test_folded_batch_norms_and_grouped_convs_match_torch() -> None:
    torch = pytest.importorskip("torch")
    from aemon.train.config import model_config_from_dict
    from aemon.train.export import check_parity, export_onnx
    from aemon.train.models import build_model

    raw = {
        "name": "tiny-separable",
        "architecture": "inceptiontime",
        "signal": {"sample_rate_hz": 1_562_500.0, "window": 1024, "classes": ["low", "high"]},
        "frontend": {"filters": 8, "kernel": 16, "stride": 4},
        "blocks": [
            {"kernels": [5, 9], "filters": 4, "bottleneck": 8, "modules": 2, "separable": True}
        ],
    }
    config = model_config_from_dict(raw)
    torch.manual_seed(0)
    net = build_model(config).eval()
    for module in net.modules():  # trained-looking statistics, so the fold does something
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.uniform_(-1.0, 1.0)
            module.running_var.uniform_(0.3, 3.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
    data = export_onnx(net, config)
    proto = onnx.load_from_string(data)
    assert not any(n.op_type == "BatchNormalization" for n in proto.graph.node)
    groups = {a.i for n in proto.graph.node for a in n.attribute if a.name == "group"}
    assert max(groups) > 1  # depthwise convolutions went through the rewrite too
    assert check_parity(net, config, data, batch=2) < 1e-4
