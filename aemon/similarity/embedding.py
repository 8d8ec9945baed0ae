"""Latent vectors of event windows from an exported embedding autoencoder (ONNX).

A model directory holds ``encoder.onnx`` (input ``window`` ``(batch, 1, samples)`` float32,
output ``latent`` ``(batch, latent_size)``) and ``card.json`` (see
:mod:`aemon.similarity.embedding_training`). Windows are normalised as the detector's are
(:func:`aemon.dsp.normalization.normalize_window` with the card's settings) before encoding;
a model whose config has ``input = "spectrum"`` gets :func:`log_spectrum` of them instead.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aemon.dsp.normalization import NormalizationParams, normalize_window
from aemon.errors import ConfigError
from aemon.onnx_sessions import open_session

logger = logging.getLogger(__name__)

CARD_NAME = "card.json"
ENCODER_NAME = "encoder.onnx"
EMBEDDING_KIND = "embedding-autoencoder"
"""``kind`` of an embedding model card."""
DEFAULT_EMBEDDING = Path(__file__).resolve().parent.parent / "models" / "aemon-embedding-spectrum"
"""The shipped embedding (spectrum autoencoder), the default of ``similar`` and ``cluster``."""


SPECTRUM_FRAME = 64
"""STFT frame (samples, Hann) of :func:`log_spectrum`; hop a quarter of it."""


def log_spectrum(windows: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """Time-averaged log STFT magnitude of each row, shape ``(n, 1, 33)``, float32.

    ``log(mean over frames |STFT| + 1e-6)`` minus its mean over the bins: the spectral shape,
    independent of where the burst lies in the window, of its phase and of its level.
    """
    import scipy.signal

    _, _, z = scipy.signal.stft(
        np.asarray(windows, dtype=np.float64),
        nperseg=SPECTRUM_FRAME,
        noverlap=SPECTRUM_FRAME - SPECTRUM_FRAME // 4,
        window="hann",
        axis=-1,
    )
    spectrum = np.log(np.abs(z).mean(axis=-1) + 1e-6)
    spectrum -= spectrum.mean(axis=-1, keepdims=True)
    return spectrum[:, None, :].astype(np.float32)


def model_input(windows: npt.NDArray[np.floating], config: dict[str, Any]) -> np.ndarray:
    """What the network sees for normalised windows ``(n, samples)``: ``(n, 1, …)`` float32."""
    if config.get("input", "waveform") == "spectrum":
        return log_spectrum(windows)
    return np.asarray(windows, dtype=np.float32)[:, None, :]


class EmbeddingModel:
    """An exported embedding encoder with its card.

    Args:
        directory: The model directory.
        threads: ONNX Runtime intra-op threads (None: one per physical core); the GUI
            encodes with 1 so that a live monitor beside it keeps its cores.

    Attributes:
        card: The parsed ``card.json``.
        window_samples: Input window length (samples).
        normalization: How windows are normalised before encoding.
    """

    def __init__(self, directory: str | os.PathLike[str], threads: int | None = None) -> None:
        folder = Path(directory)
        try:
            self.card: dict[str, Any] = json.loads((folder / CARD_NAME).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"{folder}: not an embedding model ({CARD_NAME} unreadable: {exc}); "
                "train one with `aemon train-embedding`"
            ) from exc
        if self.card.get("kind") != EMBEDDING_KIND:
            raise ConfigError(f"{folder}: card kind is {self.card.get('kind')!r}, not an embedding")
        self.window_samples = int(self.card["config"]["window_samples"])
        self.normalization = NormalizationParams.from_dict(self.card["normalization"])
        self._session = open_session(
            folder / ENCODER_NAME, threads=threads, what="embedding encoder"
        )

    def latent(self, windows: npt.NDArray[np.floating], batch: int = 256) -> np.ndarray:
        """Latent vectors ``(n, latent_size)`` of raw windows ``(n, window_samples)`` (volts)."""
        if windows.ndim != 2 or windows.shape[1] != self.window_samples:
            raise ConfigError(
                f"windows of {windows.shape[-1]} samples; the model takes {self.window_samples}"
            )
        x = model_input(normalize_window(windows, self.normalization), self.card["config"])
        parts = [
            self._session.run(["latent"], {"window": x[i : i + batch]})[0]
            for i in range(0, len(x), batch)
        ]
        if not parts:
            return np.zeros((0, int(self.card["latent_size"])), dtype=np.float32)
        return np.concatenate(parts).astype(np.float64)
