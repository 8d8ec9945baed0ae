"""Registers the torch backend with :mod:`aemon.detect.backend` (cheap: imports no torch).

:func:`register_torch_backend` makes ``--backend torch`` (and ``auto`` on a GPU machine) open a
:class:`~aemon.gpu.torch_runtime.TorchDetector`. Torch is imported only when a model is opened,
or when ``auto`` has to ask torch whether it sees a GPU, and only after a cheap look for an
NVIDIA device, so ``aemon detect`` on a CPU machine starts as fast as without torch.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

from aemon.detect.backend import TORCH_BACKEND, Backend, Detector, register_backend
from aemon.detect.options import DetectOptions
from aemon.errors import ConfigError

logger = logging.getLogger(__name__)

PRECISION_ENV = "AEMON_TORCH_PRECISION"
"""Environment variable: precision of the torch backend (``fp32``, ``tf32``, ``bf16``, ``fp16``)."""
CUDA_GRAPHS_ENV = "AEMON_TORCH_CUDA_GRAPHS"
"""Environment variable: ``1`` replays CUDA graphs in the torch backend."""
_NVIDIA_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia/version")


def torch_installed() -> bool:
    """True when torch can be imported (the ``train`` extra), without importing it."""
    return importlib.util.find_spec("torch") is not None


def torch_sees_gpu() -> bool:
    """True when torch is installed and sees a CUDA GPU.

    Looks for an NVIDIA device node first, so a machine without one never imports torch.
    """
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    if not torch_installed() or not any(Path(p).exists() for p in _NVIDIA_NODES):
        return False
    import torch

    return bool(torch.cuda.is_available())


def _open(model: str | Path, options: DetectOptions) -> Detector:
    if not torch_installed():
        raise ConfigError(
            "the torch backend needs torch: pip install 'aemon[train]', or use "
            "--backend onnxruntime"
        )
    from aemon.gpu.torch_runtime import TorchDetector

    precision = os.environ.get(PRECISION_ENV, "fp32")
    graphs = os.environ.get(CUDA_GRAPHS_ENV, "0") not in ("", "0")
    return TorchDetector(
        model,
        provider=options.provider,
        threads=options.threads,
        precision=precision,
        cuda_graphs=graphs,
    )


def _prefers_gpu(provider: str) -> bool:
    return provider.lower() in ("auto", "cuda") and torch_sees_gpu()


def register_torch_backend() -> None:
    """Make the torch backend available to :func:`aemon.detect.backend.open_with_backend`."""
    register_backend(Backend(TORCH_BACKEND, _open, _prefers_gpu))
