"""ONNX Runtime detector sessions: model location, execution provider choice, threading.

A model is a directory holding ``model_card.json`` and ``model.onnx`` (see
:mod:`aemon.detect.model_card`). :class:`OnnxDetector` loads it, checks that the graph matches the
card, and runs batches of normalised windows. The CUDA execution provider is used when
``onnxruntime-gpu`` and a GPU are present (``provider="auto"``), the CPU one otherwise; the
choice can be forced with ``provider="cpu"`` or ``"cuda"`` (or a full ORT provider name).

CPU sessions are tuned for throughput on few cores: one intra-op thread per physical core
(hyper-threads only add contention in convolutions), sequential execution, all graph
optimisations, and no spin-waiting, so the preprocessing, recorder and GUI threads keep their
share of the CPU between batches.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from aemon.detect.calibration import with_site_calibration
from aemon.detect.model_card import CARD_FILE, ONNX_FILE, ModelCard, model_input, read_model_card
from aemon.detect.onnx_layout import LAYOUT_KEY, as_conv2d
from aemon.detect.options import PROVIDER_CHOICES
from aemon.detect.site_classifier import SiteClassifier, read_site_classifier
from aemon.errors import ConfigError, FileFormatError

logger = logging.getLogger(__name__)

CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"

REFERENCE_MODELS = {1_562_500.0: "aemon-rt-1m5", 192_000.0: "aemon-rt-192k"}
"""Shipped default model per sample rate (Hz)."""
DEFAULT_MODEL = "aemon-rt-1m5"
MODELS_ENV = "AEMON_MODELS"
"""Environment variable naming the directory that holds the model directories."""


def models_dir() -> Path:
    """The directory of shipped models: ``$AEMON_MODELS`` if set, else ``aemon/models`` inside
    the installed package (package data, so a wheel install has them too)."""
    env = os.environ.get(MODELS_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "models"


def default_model_path(rate_hz: float | None = None) -> Path:
    """Model directory to use for a source rate (Hz); ``None`` means the 1.5625 MHz model.

    The shipped reference model for the rate if there is one, else any model in
    :func:`models_dir` whose card has exactly that rate (or a rate it divides by a whole
    factor, as the detector then decimates), else the 1.5625 MHz model. The path may not
    exist; :class:`OnnxDetector` then says how to get a model.
    """
    base = models_dir()
    if rate_hz is None:
        return base / DEFAULT_MODEL
    for rate, name in REFERENCE_MODELS.items():
        if abs(rate - rate_hz) < 1e-6 * rate and (base / name / CARD_FILE).is_file():
            return base / name
    candidates: list[tuple[int, Path]] = []
    for card_path in sorted(base.glob(f"*/{CARD_FILE}")):
        try:
            card = read_model_card(card_path)
        except FileFormatError:
            continue
        ratio = rate_hz / card.sample_rate_hz
        if round(ratio) >= 1 and abs(ratio - round(ratio)) < 1e-9 * ratio:
            candidates.append((round(ratio), card_path.parent))
    if candidates:
        return min(candidates)[1]  # least decimation first
    for rate, name in REFERENCE_MODELS.items():
        if abs(rate - rate_hz) < 1e-6 * rate:
            return base / name
    return base / DEFAULT_MODEL


def resolve_model(model: str | Path) -> tuple[Path, Path]:
    """``(card_path, onnx_path)`` for a model directory, an ``.onnx`` file or a model name.

    A bare name (``aemon-rt-1m5``) that is not a path is looked up in :func:`models_dir`.

    Raises:
        FileFormatError: No model there, with a hint on how to get one.
    """
    path = Path(model)
    if not path.exists() and len(path.parts) == 1:
        path = models_dir() / path
    if path.is_dir():
        card, onnx = path / CARD_FILE, path / ONNX_FILE
    else:
        card, onnx = path.parent / CARD_FILE, path
    if not onnx.is_file() or not card.is_file():
        missing = onnx if not onnx.is_file() else card
        raise FileFormatError(
            f"no detector model at {model} ({missing.name} missing); train one with "
            f"'aemon train aemon-rt --out {path}' or pass --model DIR"
        )
    return card, onnx


def physical_cores() -> int:
    """Physical CPU cores this process may run on (hyper-thread siblings count once)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in cpus:
        topo = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            package = (topo / "physical_package_id").read_text().strip()
            core = (topo / "core_id").read_text().strip()
        except OSError:
            return len(cpus)
        cores.add((package, core))
    return max(1, len(cores))


def resolve_providers(requested: str, available: list[str] | None = None) -> list[str]:
    """ORT provider list for ``auto``, ``cpu``, ``cuda`` or a full provider name.

    Raises:
        ConfigError: The requested provider is unknown or not available here.
    """
    available = ort.get_available_providers() if available is None else available
    choice = requested.strip()
    if choice.lower() == "auto":
        return [CUDA_PROVIDER, CPU_PROVIDER] if CUDA_PROVIDER in available else [CPU_PROVIDER]
    if choice.lower() == "cpu":
        return [CPU_PROVIDER]
    name = CUDA_PROVIDER if choice.lower() == "cuda" else choice
    if not name.endswith("ExecutionProvider"):
        raise ConfigError(
            f"execution provider {requested!r} unknown; use {', '.join(PROVIDER_CHOICES)}"
        )
    if name not in available:
        hint = (
            " (pip install 'aemon[gpu]' and check the CUDA driver)" if name == CUDA_PROVIDER else ""
        )
        raise ConfigError(
            f"ONNX Runtime here has no {name}{hint}; available: {', '.join(available)}; "
            "use --provider cpu or auto"
        )
    return [name, CPU_PROVIDER]


def _conv2d_model(onnx_path: Path) -> bytes | None:
    """The model rewritten with 2-D convolutions (:mod:`aemon.detect.onnx_layout`), or None
    when it cannot be (no ``onnx`` package, or a graph the rewrite does not handle)."""
    try:
        import onnx  # noqa: F401  # the train extra
    except ImportError:
        logger.info(
            "%s has 1-D convolutions; pip install onnx to run it ~1.5x faster (or re-export "
            "it with this aemon)",
            onnx_path,
        )
        return None
    try:
        faster = as_conv2d(onnx_path.read_bytes())
    except Exception as exc:  # the rewrite is an optimisation: never a reason to fail
        logger.warning("%s: kept as it is (2-D rewrite failed: %s)", onnx_path, exc)
        return None
    if faster is not None:
        logger.info("%s: convolutions run as 2-D (NCHWc kernels)", onnx_path)
    return faster


def _short(provider: str) -> str:
    names = {CPU_PROVIDER: "cpu", CUDA_PROVIDER: "cuda"}
    return names.get(provider, provider)


class OnnxDetector:
    """A detector model in an ONNX Runtime session.

    Args:
        model: Model directory (``model_card.json`` + ``model.onnx``), the ``.onnx`` file in
            such a directory, or the name of a directory in :func:`models_dir`.
        provider: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, or a
            full ONNX Runtime provider name.
        threads: Intra-op threads on the CPU; None for one per physical core.
        site_calibration: Use the directory's site files if it has them: ``aemon calibrate``'s
            threshold and ``aemon adapt --background``'s site classifier.

    Attributes:
        card: The model card.
        backend: ``"onnxruntime"``.
        provider: Provider actually in use (``"cpu"``, ``"cuda"`` or the ORT name).
        path: The ``model.onnx`` file.
        site_classifier: The directory's site classifier, or None.

    Raises:
        FileFormatError: Missing or unreadable model, or a graph that contradicts its card.
        ConfigError: A provider that is not available, or a bad thread count.
    """

    backend = "onnxruntime"

    def __init__(
        self,
        model: str | Path,
        *,
        provider: str = "auto",
        threads: int | None = None,
        site_calibration: bool = True,
    ) -> None:
        card_path, onnx_path = resolve_model(model)
        self.card: ModelCard = read_model_card(card_path)
        self.site_classifier: SiteClassifier | None = None
        if site_calibration:  # aemon calibrate's / aemon adapt's site files, if there are
            self.card = with_site_calibration(self.card, onnx_path.parent)
            self.site_classifier = read_site_classifier(onnx_path.parent)
        self.path = onnx_path
        if threads is not None and threads < 1:
            raise ConfigError(f"inference threads must be at least 1, not {threads}")
        self.threads = threads or physical_cores()
        providers = resolve_providers(provider)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(onnx_path), options, providers=providers)
            if LAYOUT_KEY not in self.session.get_modelmeta().custom_metadata_map:
                faster = _conv2d_model(onnx_path)
                if faster is not None:
                    self.session = ort.InferenceSession(faster, options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own non-exported exception types
            raise FileFormatError(f"cannot load detector model {onnx_path}: {exc}") from None
        used = self.session.get_providers()
        if providers[0] not in used:  # ORT falls back silently when e.g. CUDA libraries fail
            if provider.lower() != "auto":
                raise ConfigError(
                    f"{providers[0]} could not start (see the ONNX Runtime log); "
                    "use --provider cpu or auto"
                )
            logger.warning("%s could not start; running the detector on the CPU", providers[0])
        self.provider = _short(used[0])
        self._check_graph()
        logger.info(
            "detector %s on %s (%d threads): %g Hz, window %d, hop %d, %d classes",
            self.card.name, self.provider, self.threads, self.card.sample_rate_hz,
            self.card.window, self.card.hop, len(self.card.classes),
        )  # fmt: skip

    def _check_graph(self) -> None:
        card = self.card
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = {o.name: o for o in self.session.get_outputs()}
        where = f"detector model {self.path}"
        if card.input_name not in inputs or card.output_name not in outputs:
            raise FileFormatError(
                f"{where} has inputs {sorted(inputs)} and outputs {sorted(outputs)}, but its "
                f"card names {card.input_name!r} -> {card.output_name!r}; re-export it"
            )
        shape = inputs[card.input_name].shape
        expected = (card.channels, card.window)
        if len(shape) != 3 or any(
            isinstance(d, int) and d != e for d, e in zip(shape[1:], expected, strict=True)
        ):
            raise FileFormatError(
                f"{where} takes input shape {shape}, but its card says (batch, {card.channels}, "
                f"{card.window}); the card does not belong to this model"
            )
        self._input_name, self._output_name = card.input_name, card.output_name
        self._checked_output = False

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
            return np.empty((0, len(card.classes), card.output_bins), np.float32)
        x = np.ascontiguousarray(x)
        out = np.asarray(self.session.run([self._output_name], {self._input_name: x})[0])
        if not self._checked_output:
            expected = (x.shape[0], len(card.classes), card.output_bins)
            if out.shape != expected:
                raise FileFormatError(
                    f"detector model {self.path} returns shape {out.shape}, but its card says "
                    f"{expected}; the card does not belong to this model"
                )
            self._checked_output = True
        return out.astype(np.float32, copy=False)
