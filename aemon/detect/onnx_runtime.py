"""ONNX Runtime detector sessions: model location, execution provider choice, threading.

A model is a directory holding ``model_card.json`` and ``model.onnx`` (see
:mod:`aemon.detect.model_card`). :class:`OnnxDetector` loads it, checks that the graph matches the
card, and runs batches of normalised windows. The CUDA execution provider is used when
``onnxruntime-gpu`` and a GPU are present (``provider="auto"``), the CPU one otherwise; the
choice can be forced with ``provider="cpu"`` or ``"cuda"`` (or a full ORT provider name).

The session is opened by :func:`aemon.onnx_sessions.open_session`, the one session factory
(threads, providers, options) of aemon.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from aemon.detect.calibration import with_site_calibration
from aemon.detect.model_card import CARD_FILE, ONNX_FILE, ModelCard, model_input, read_model_card
from aemon.detect.onnx_layout import LAYOUT_KEY, as_conv2d
from aemon.detect.site_classifier import SiteClassifier, read_classifier
from aemon.errors import FileFormatError
from aemon.onnx_sessions import open_session, session_threads, short_provider

logger = logging.getLogger(__name__)

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


class OnnxDetector:
    """A detector model in an ONNX Runtime session.

    Args:
        model: Model directory (``model_card.json`` + ``model.onnx``), the ``.onnx`` file in
            such a directory, or the name of a directory in :func:`models_dir`.
        provider: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, or a
            full ONNX Runtime provider name.
        threads: Intra-op threads on the CPU; None for one per physical core.
        site_calibration: Use the directory's site files if it has them (``aemon calibrate``'s
            threshold, ``aemon adapt --background``'s site classifier) and the classifier
            :func:`~aemon.detect.site_classifier.read_classifier` picks; False gives the
            network alone at its card's threshold.

    Attributes:
        card: The model card.
        backend: ``"onnxruntime"``.
        provider: Provider actually in use (``"cpu"``, ``"cuda"`` or the ORT name).
        path: The ``model.onnx`` file.
        site_classifier: The classifier in use (site or day-one), or None.

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
            self.site_classifier = read_classifier(onnx_path.parent)
        self.path = onnx_path
        self.threads = session_threads(threads)
        self.session = open_session(
            onnx_path, threads=self.threads, provider=provider, what="detector model"
        )
        if LAYOUT_KEY not in self.session.get_modelmeta().custom_metadata_map:
            faster = _conv2d_model(onnx_path)
            if faster is not None:
                what = f"detector model {onnx_path} (with 2-D convolutions)"
                self.session = open_session(
                    faster, threads=self.threads, provider=provider, what=what
                )
        self.provider = short_provider(self.session.get_providers()[0])
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
