"""Inference backends: what the streaming detector needs from a model, and how one is chosen.

:class:`Detector` is the whole interface between the detection streams
(:class:`~aemon.detect.probability_map.ProbabilityMapStream`, the cascade) and a runtime: the
model card (geometry, classes, normalisation) and ``infer(windows) -> probabilities``. Two
backends implement it:

* ``onnxruntime``: :class:`~aemon.detect.onnx_runtime.OnnxDetector` (built in; CPU, or the
  CUDA/TensorRT providers where ``onnxruntime-gpu`` is installed);
* ``torch``: :class:`aemon.gpu.torch_runtime.TorchDetector` (CUDA or CPU). It needs the torch
  networks of :mod:`aemon.train`, which sit above this layer, so :mod:`aemon.gpu` *registers*
  it here (:func:`register_backend`) instead of this module importing it. The commands that
  take ``--backend`` call :func:`aemon.gpu.register_torch_backend` first.

``auto`` takes a registered backend whose probe says it has a GPU (torch + CUDA), else ONNX
Runtime. Nothing here imports torch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from aemon.detect.model_card import ModelCard
from aemon.detect.onnx_runtime import OnnxDetector
from aemon.detect.options import BACKEND_CHOICES, DetectOptions
from aemon.errors import ConfigError

logger = logging.getLogger(__name__)

ONNX_BACKEND = "onnxruntime"
TORCH_BACKEND = "torch"


class Detector(Protocol):
    """A loaded detector model, whatever runs it.

    Attributes:
        card: The model card: window, hop, bins, classes, normalisation.
        backend: ``"onnxruntime"`` or ``"torch"``.
        provider: Device in use (``"cpu"``, ``"cuda"``, or an ORT provider name).
        threads: CPU threads it computes with (informative on a GPU).
    """

    card: ModelCard
    backend: str
    provider: str
    threads: int

    def infer(self, windows: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
        """Probabilities ``(batch, classes, output_bins)`` float32 for normalised windows
        ``(batch, channels, window)`` (or ``(batch, window)`` for a one-channel model)."""
        ...


Opener = Callable[[str | Path, DetectOptions], Detector]
"""Opens a model (directory, file or shipped name) with the options' provider/threads."""


class Backend(NamedTuple):
    """A registered inference backend.

    Attributes:
        name: Its ``--backend`` name.
        open: Opens a model.
        prefers_gpu: Cheap probe (no model loaded): True when this backend should take
            ``--backend auto`` for the given ``--provider`` (a usable GPU is present).
    """

    name: str
    open: Opener
    prefers_gpu: Callable[[str], bool]


_REGISTRY: dict[str, Backend] = {}


def register_backend(backend: Backend) -> None:
    """Make ``backend`` available to ``--backend NAME`` and ``auto`` (replaces a namesake)."""
    if backend.name not in BACKEND_CHOICES or backend.name == "auto":
        raise ValueError(f"backend name {backend.name!r} is not one of {BACKEND_CHOICES}")
    _REGISTRY[backend.name] = backend


def registered_backends() -> list[str]:
    """Names of the backends registered besides the built-in ONNX Runtime."""
    return sorted(_REGISTRY)


def choose_backend(requested: str, provider: str) -> str:
    """The backend ``requested`` means here: ``auto`` resolved, others checked.

    Raises:
        ConfigError: Unknown name, or a backend that was not registered (torch not loaded).
    """
    name = requested.strip().lower()
    if name not in BACKEND_CHOICES:
        raise ConfigError(f"backend {requested!r} unknown; use {', '.join(BACKEND_CHOICES)}")
    if name == ONNX_BACKEND:
        return name
    if name == "auto":
        if provider.lower() == "cpu":
            return ONNX_BACKEND
        for backend in _REGISTRY.values():
            if backend.prefers_gpu(provider):
                return backend.name
        return ONNX_BACKEND
    if name not in _REGISTRY:
        raise ConfigError(
            f"the {name} backend is not loaded in this program (it comes with the train "
            "extra and the aemon command line); use --backend onnxruntime"
        )
    return name


def open_with_backend(model: str | Path, options: DetectOptions) -> Detector:
    """Open ``model`` with the backend and provider ``options`` ask for.

    Raises:
        ConfigError: Unknown or unavailable backend or provider.
        FileFormatError: Missing or unreadable model.
    """
    name = choose_backend(options.backend, options.provider)
    if name == ONNX_BACKEND:
        return OnnxDetector(model, provider=options.provider, threads=options.threads)
    logger.info("opening %s with the %s backend", model, name)
    return _REGISTRY[name].open(model, options)
