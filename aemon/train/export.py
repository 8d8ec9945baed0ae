"""ONNX export of trained detectors and the torch/ONNX Runtime parity check."""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from aemon.detect.model_card import INPUT_NAME, OUTPUT_NAME
from aemon.detect.onnx_layout import as_conv2d
from aemon.errors import AemonError
from aemon.onnx_sessions import open_session
from aemon.train.config import ModelConfig
from aemon.train.models import ProbabilityHead

logger = logging.getLogger(__name__)

OPSET = 17
PARITY_TOLERANCE = 1e-4


class ParityError(AemonError):
    """The exported ONNX model does not reproduce the torch model."""


def export_onnx(net: nn.Module, config: ModelConfig, path: str | Path | None = None) -> bytes:
    """Export ``net`` (a logit network) with its sigmoid to ONNX.

    The graph takes ``signal`` float32 ``(batch, channels, window)`` and returns
    ``probabilities`` ``(batch, classes, bins)``. The batch axis is dynamic; the time axis is
    fixed to the configured window (the live path always feeds whole windows). 1-D
    convolutions are written as 2-D ones of height 1 where the graph allows
    (:func:`aemon.detect.onnx_layout.as_conv2d`: ONNX Runtime runs those several times faster).

    Args:
        net: Logit network from :func:`aemon.train.models.build_model`.
        config: Its configuration.
        path: Where to write the model; None to only return the bytes.

    Returns:
        The serialised ONNX model.
    """
    model = ProbabilityHead(net).eval()
    example = torch.zeros(1, config.signal.channels, config.signal.window)
    buffer = io.BytesIO()
    torchscript_to_onnx(
        model,
        example,
        buffer,
        input_name=INPUT_NAME,
        output_name=OUTPUT_NAME,
        dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
    )
    proto = onnx.load_from_string(buffer.getvalue())
    proto.doc_string = f"aemon burst detector {config.name} ({config.architecture})"
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    data = as_conv2d(data) or data  # ORT's fast NCHWc kernels; same interface
    if path is not None:
        Path(path).write_bytes(data)
    return data


def torchscript_to_onnx(
    model: nn.Module,
    example: torch.Tensor,
    target: str | Path | io.BytesIO,
    *,
    input_name: str,
    output_name: str,
    dynamic_axes: dict[str, dict[int, str]],
) -> None:
    """Export a plain convolutional network to ONNX (opset :data:`OPSET`) with the TorchScript
    exporter, as every aemon model is (detector, embedding, denoiser).

    torch >= 2.9 prefers the dynamo exporter, which needs onnxscript; the TorchScript exporter
    handles these graphs exactly and needs nothing extra, so its deprecation warnings are
    silenced here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(
            model,
            (example,),
            target if isinstance(target, io.BytesIO) else str(target),  # type: ignore[arg-type]
            dynamo=False,
            opset_version=OPSET,
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes=dynamic_axes,
        )


def check_parity(
    net: nn.Module,
    config: ModelConfig,
    model: bytes | str | Path,
    batch: int = 2,
    seed: int = 0,
    tolerance: float = PARITY_TOLERANCE,
) -> float:
    """Compare torch and ONNX Runtime outputs on random normalised-scale input.

    Returns:
        The maximum absolute difference of the probabilities.

    Raises:
        ParityError: The difference exceeds ``tolerance``.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, config.signal.channels, config.signal.window)).astype(
        np.float32
    )
    # a few loud bursts so the comparison also covers saturated activations
    x[:, :, x.shape[-1] // 3 : x.shape[-1] // 3 + 200] *= 20.0
    with torch.no_grad():
        expected = ProbabilityHead(net).eval()(torch.from_numpy(x)).numpy()
    session = open_session(model)
    got = session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
    if got.shape != expected.shape:
        raise ParityError(f"ONNX output shape {got.shape} differs from torch {expected.shape}")
    diff = float(np.max(np.abs(got - expected)))
    if not diff <= tolerance:
        raise ParityError(
            f"ONNX export of {config.name} differs from torch by {diff:.2e} (> {tolerance:g})"
        )
    logger.info("ONNX parity for %s: max |diff| = %.2e", config.name, diff)
    return diff
