"""The torch inference backend: a model directory's config and state_dict run on CUDA or the CPU.

:class:`TorchDetector` rebuilds the network from the card's ``architecture`` (the training
config) with :func:`aemon.train.models.build_model`, loads ``model.pt`` with
``torch.load(weights_only=True)`` (tensors only, no pickled code), adds the sigmoid the ONNX
export has, and runs batches of windows. On CUDA:

* one upload and one download per batch, through pinned host buffers (all channels' windows
  of a batch travel together);
* ``precision``: ``fp32`` (exact: TF32 off), ``tf32``, or ``bf16``/``fp16`` autocast;
* cuDNN autotuning for the batch shapes it sees;
* optional CUDA graphs, one captured per batch size (up to :data:`MAX_GRAPHS`), replayed on
  the same device buffers.

On the CPU it computes in fp32 (or bf16 autocast) with torch's own threads.
"""

from __future__ import annotations

import logging
import pickle
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn

from aemon.detect.calibration import with_site_calibration
from aemon.detect.model_card import STATE_DICT_FILE, ModelCard, model_input, read_model_card
from aemon.detect.onnx_runtime import models_dir
from aemon.detect.site_classifier import SiteClassifier, read_classifier
from aemon.errors import ConfigError, FileFormatError
from aemon.train.config import model_config_from_dict
from aemon.train.models import ProbabilityHead, build_model

logger = logging.getLogger(__name__)

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
"""``fp32``: full single precision; ``tf32``: TF32 matrix units (CUDA); ``bf16``/``fp16``:
autocast (weights stay fp32, convolutions run in half precision, probabilities return fp32)."""
MAX_GRAPHS = 4
"""CUDA graphs kept at most (one per batch size); other sizes run eagerly."""
_GRAPH_WARMUP = 3


def model_directory(model: str | Path) -> Path:
    """The model directory ``model`` names: a directory, a file in one, or a shipped name.

    Raises:
        FileFormatError: No card or no ``model.pt`` there, with what to do.
    """
    path = Path(model)
    if not path.exists() and len(path.parts) == 1:
        path = models_dir() / path
    if path.is_file():
        path = path.parent
    if not (path / STATE_DICT_FILE).is_file():
        raise FileFormatError(
            f"no torch weights at {model} ({STATE_DICT_FILE} missing); the torch backend needs "
            "a model directory written by 'aemon train', or use --backend onnxruntime"
        )
    return path


def resolve_device(provider: str) -> torch.device:
    """``auto`` → CUDA when torch sees a GPU, else the CPU; ``cpu``; ``cuda``.

    Raises:
        ConfigError: ``cuda`` without a GPU, or an unknown name.
    """
    choice = provider.strip().lower()
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cpu":
        return torch.device("cpu")
    if choice in ("cuda", "cudaexecutionprovider"):
        if not torch.cuda.is_available():
            raise ConfigError(
                "--provider cuda: torch sees no CUDA GPU here; use --provider cpu or auto"
            )
        return torch.device("cuda")
    raise ConfigError(f"provider {provider!r} unknown for the torch backend; use auto, cpu, cuda")


class _Graph:
    """One captured forward pass for a fixed batch size, with its device buffers."""

    def __init__(self, graph: Any, inp: Tensor, out: Tensor) -> None:
        self.graph, self.inp, self.out = graph, inp, out


class TorchDetector:
    """A detector model run by torch (the ``torch`` backend of :mod:`aemon.detect.backend`).

    Args:
        model: Model directory (``model_card.json`` + ``model.pt``), a file in it, or the name
            of a shipped model.
        provider: ``auto`` (CUDA if torch sees a GPU), ``cpu`` or ``cuda``.
        threads: torch CPU threads (process-wide); None leaves torch's default.
        precision: One of :data:`PRECISIONS`; ``tf32`` and ``fp16`` need CUDA.
        cuda_graphs: Capture and replay a CUDA graph per batch size (CUDA only).
        pinned: Stage uploads and downloads in pinned host memory (CUDA only).
        site_calibration: Use the directory's site files and classifier (as
            :class:`~aemon.detect.onnx_runtime.OnnxDetector` does).

    Attributes:
        card: The model card.
        backend: ``"torch"``.
        provider: ``"cuda"`` or ``"cpu"``.
        threads: torch CPU threads.
        path: The ``model.pt`` file.
        site_classifier: The classifier in use (site or day-one), or None.

    Raises:
        FileFormatError: Missing or unreadable model, or weights that do not fit its config.
        ConfigError: Unavailable device or an unknown or unsupported precision.
    """

    backend = "torch"

    def __init__(
        self,
        model: str | Path,
        *,
        provider: str = "auto",
        threads: int | None = None,
        precision: str = "fp32",
        cuda_graphs: bool = False,
        pinned: bool = True,
        site_calibration: bool = True,
    ) -> None:
        directory = model_directory(model)
        self.card: ModelCard = read_model_card(directory)
        self.site_classifier: SiteClassifier | None = None
        if site_calibration:
            self.card = with_site_calibration(self.card, directory)
            self.site_classifier = read_classifier(directory)
        self.path = directory / STATE_DICT_FILE
        self.device = resolve_device(provider)
        self.provider = self.device.type
        if precision not in PRECISIONS:
            raise ConfigError(f"precision {precision!r} unknown; use {', '.join(PRECISIONS)}")
        if self.device.type == "cpu" and precision in ("tf32", "fp16"):
            raise ConfigError(f"precision {precision} needs CUDA; use fp32 or bf16 on the CPU")
        if threads is not None:
            if threads < 1:
                raise ConfigError(f"inference threads must be at least 1, not {threads}")
            torch.set_num_threads(threads)
        self.threads = torch.get_num_threads()
        self.precision = precision
        self.cuda_graphs = cuda_graphs and self.device.type == "cuda"
        self.pinned = pinned and self.device.type == "cuda"
        self.net = self._load().to(self.device)
        self._graphs: dict[int, _Graph] = {}
        self._host_in: Tensor | None = None
        self._host_out: Tensor | None = None
        self._out_shape = (len(self.card.classes), self.card.output_bins)
        logger.info(
            "detector %s on torch %s (%s%s): %g Hz, window %d, hop %d, %d classes",
            self.card.name, self.provider, precision, ", CUDA graphs" if self.cuda_graphs else "",
            self.card.sample_rate_hz, self.card.window, self.card.hop, len(self.card.classes),
        )  # fmt: skip

    def _load(self) -> nn.Module:
        config = model_config_from_dict(self.card.architecture, str(self.path.parent))
        net = build_model(config)
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except (OSError, EOFError, RuntimeError, pickle.UnpicklingError) as exc:
            raise FileFormatError(
                f"cannot load torch weights {self.path}: not a state_dict of tensors "
                f"({type(exc).__name__}); re-export the model or use --backend onnxruntime"
            ) from None
        try:
            net.load_state_dict(state)
        except (RuntimeError, ValueError, KeyError, TypeError, AttributeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise FileFormatError(
                f"torch weights {self.path} do not belong to the card's architecture ({first}); "
                "re-export the model or use --backend onnxruntime"
            ) from None
        head = ProbabilityHead(net).eval()
        for p in head.parameters():
            p.requires_grad_(False)
        return head

    # -- inference ------------------------------------------------------------------------------

    def infer(self, windows: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
        """Run normalised windows through the model.

        Args:
            windows: ``(batch, window)`` for a one-channel model, or
                ``(batch, channels, window)``; float32 (other float types are converted).

        Returns:
            Probabilities, float32 ``(batch, classes, output_bins)``.
        """
        card = self.card
        x = model_input(card, windows)
        if x.shape[0] == 0:
            return np.empty((0, *self._out_shape), np.float32)
        if self.device.type == "cpu":
            with torch.inference_mode(), self._precision_context():
                out = self.net(torch.from_numpy(np.ascontiguousarray(x)))
            return out.float().numpy()
        return self._infer_cuda(x)

    def _precision_context(self) -> AbstractContextManager[Any]:
        if self.precision not in ("bf16", "fp16"):
            return nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        # no weight-cast cache: each weight is used once per pass, and graphs capture the casts
        return torch.autocast(self.device.type, dtype=dtype, cache_enabled=False)

    def _forward(self, x: Tensor) -> Tensor:
        with torch.inference_mode(), self._precision_context():
            return self.net(x).float()

    def _staging(self, batch: int) -> tuple[Tensor, Tensor]:
        """Host buffers (pinned when asked) for ``batch`` windows in and probabilities out."""
        if self._host_in is None or self._host_in.shape[0] < batch:
            size = max(batch, 2 * (0 if self._host_in is None else self._host_in.shape[0]))
            shape_in = (size, self.card.channels, self.card.window)
            self._host_in = torch.empty(shape_in, pin_memory=self.pinned)
            self._host_out = torch.empty((size, *self._out_shape), pin_memory=self.pinned)
        assert self._host_out is not None
        return self._host_in[:batch], self._host_out[:batch]

    def _infer_cuda(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        # process-wide cuDNN switches, set for whichever detector runs: autotuned kernels;
        # TF32 only when asked (fp32 then matches ONNX Runtime to ~1e-6)
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = self.precision == "tf32"
        batch = x.shape[0]
        host_in, host_out = self._staging(batch)
        host_in.numpy()[...] = x  # one host copy into the staging buffer
        graph = self._graph(batch) if self.cuda_graphs else None
        if graph is not None:
            graph.inp.copy_(host_in, non_blocking=True)  # one upload per batch
            graph.graph.replay()
            out = graph.out
        else:
            out = self._forward(host_in.to(self.device, non_blocking=True))
        host_out.copy_(out, non_blocking=True)  # one download per batch
        torch.cuda.current_stream(self.device).synchronize()
        return host_out.numpy().copy()

    def _graph(self, batch: int) -> _Graph | None:
        graph = self._graphs.get(batch)
        if graph is not None or len(self._graphs) >= MAX_GRAPHS:
            return graph
        inp = torch.zeros((batch, self.card.channels, self.card.window), device=self.device)
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(_GRAPH_WARMUP):  # cuDNN autotuning and allocations before capture
                self._forward(inp)
        torch.cuda.current_stream(self.device).wait_stream(side)
        cuda_graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(cuda_graph):
            out = self._forward(inp)
        graph = _Graph(cuda_graph, inp, out)
        self._graphs[batch] = graph
        logger.info("captured a CUDA graph for batches of %d windows", batch)
        return graph
