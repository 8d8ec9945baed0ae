"""The torch inference backend (CUDA or CPU) for the live and offline detectors.

It sits above :mod:`aemon.train` because it rebuilds networks with the training code's model
builder; :mod:`aemon.detect` reaches it only through :func:`register_torch_backend`, which the
commands call (see docs/architecture.md). Importing this package imports no torch.

Public API (imported on first use):
    register_torch_backend: :mod:`aemon.gpu.backend`
    torch_installed: :mod:`aemon.gpu.backend`
    torch_sees_gpu: :mod:`aemon.gpu.backend`
    PRECISIONS: :mod:`aemon.gpu.torch_runtime`
    TorchDetector: :mod:`aemon.gpu.torch_runtime`
    model_directory: :mod:`aemon.gpu.torch_runtime`

Modules: backend, torch_runtime.
"""

from aemon._lazy import lazy_exports

_EXPORTS = {
    "PRECISIONS": "torch_runtime",
    "TorchDetector": "torch_runtime",
    "model_directory": "torch_runtime",
    "register_torch_backend": "backend",
    "torch_installed": "backend",
    "torch_sees_gpu": "backend",
}

__all__ = [
    "PRECISIONS",
    "TorchDetector",
    "model_directory",
    "register_torch_backend",
    "torch_installed",
    "torch_sees_gpu",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
