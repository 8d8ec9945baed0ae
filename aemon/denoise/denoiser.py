"""Run an exported U-Net denoiser (ONNX Runtime, no torch) over a signal.

A denoiser directory holds ``denoiser.onnx`` (input ``features`` float32 ``(batch, 1,
PADDED_BINS, frames)``, output ``mask`` of the same shape, 0..1) and ``card.json`` (kind
``denoiser-unet``; written by :mod:`aemon.train.denoise_training`). The STFT, the network
input and the inverse STFT are numpy/scipy (:mod:`aemon.denoise.spectral`). Long signals are
denoised in blocks of :data:`BLOCK_SAMPLES` with :data:`MARGIN_SAMPLES` of context on each
side, so memory stays bounded and block joins are seamless.

Example:
    >>> clean = Denoiser(DEFAULT_DENOISER).denoise(noisy_volts)
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aemon.denoise.spectral import crop_mask, istft, network_input, snr_floor_gain, stft
from aemon.errors import ConfigError, FileFormatError
from aemon.onnx_sessions import open_session

logger = logging.getLogger(__name__)

CARD_NAME = "card.json"
MODEL_NAME = "denoiser.onnx"
DENOISER_KIND = "denoiser-unet"
"""``kind`` in a denoiser card."""
DEFAULT_DENOISER = Path(__file__).resolve().parent.parent / "models" / "aemon-denoise-unet"
"""The denoiser shipped with aemon."""
BLOCK_SAMPLES = 1 << 16
"""Samples denoised per network call (plus the margins)."""
MARGIN_SAMPLES = 2048
"""Context (samples) on each side of a block; its output is discarded."""
MIN_SAMPLES = 256
"""Shortest signal the denoiser changes; shorter ones are returned as they are."""


def resolve_denoiser(model: str | os.PathLike[str] | None) -> Path:
    """The directory of a denoiser: a path, a name under ``aemon/models``, or the default."""
    if model is None:
        return DEFAULT_DENOISER
    path = Path(model)
    if not path.exists() and len(path.parts) == 1:
        path = DEFAULT_DENOISER.parent / path
    if not (path / MODEL_NAME).is_file() or not (path / CARD_NAME).is_file():
        raise FileFormatError(
            f"no denoiser at {model} ({MODEL_NAME} and {CARD_NAME} expected); train one with "
            f"`aemon train-denoiser --out {path}` or drop --denoiser for the shipped one"
        )
    return path


class Denoiser:
    """An exported U-Net denoiser with its card.

    Args:
        model: Denoiser directory or name (default: the shipped one).
        threads: ONNX Runtime intra-op threads (None: one per physical core).
        snr_floor: Raise the mask towards 1 in bins of high SNR
            (:func:`aemon.denoise.spectral.snr_floor_gain`); False applies the bare mask.

    Attributes:
        card: The parsed ``card.json``.
        directory: Where the model lives.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        *,
        snr_floor: bool = True,
    ) -> None:
        self.snr_floor = snr_floor

        self.directory = resolve_denoiser(model)
        try:
            self.card: dict[str, Any] = json.loads((self.directory / CARD_NAME).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise FileFormatError(f"{self.directory / CARD_NAME}: unreadable ({exc})") from exc
        if self.card.get("kind") != DENOISER_KIND:
            raise ConfigError(
                f"{self.directory}: card kind is {self.card.get('kind')!r}, not {DENOISER_KIND}; "
                "give a denoiser directory"
            )
        self._session = open_session(
            self.directory / MODEL_NAME, threads=threads, what="denoiser model"
        )

    def mask(self, magnitude: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
        """Soft mask ``(bins, frames)`` 0..1 for STFT magnitudes ``(bins, frames)``."""
        features = network_input(magnitude)[None]
        out = self._session.run(["mask"], {"features": features})[0]
        return crop_mask(out, magnitude.shape[1])

    def gain(self, magnitude: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
        """Gain ``(bins, frames)`` 0..1 applied to the STFT: the mask, with the SNR floor
        unless ``snr_floor`` is off."""
        mask = self.mask(magnitude)
        if not self.snr_floor:
            return mask.astype(np.float64)
        return snr_floor_gain(mask, magnitude)

    def denoise_block(self, x: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Denoise one short signal in a single network call (any unit, same unit out)."""
        signal = np.asarray(x, dtype=np.float64).reshape(-1)
        if signal.size < MIN_SAMPLES:
            return signal.copy()
        z = stft(signal)
        return istft(z * self.gain(np.abs(z)), signal.size)

    def denoise(self, x: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Denoise a 1-D signal of any length in blocks (see the module docstring)."""
        signal = np.asarray(x, dtype=np.float64).reshape(-1)
        out = np.empty_like(signal)
        for start in range(0, signal.size, BLOCK_SAMPLES):
            stop = min(start + BLOCK_SAMPLES, signal.size)
            a, b = max(0, start - MARGIN_SAMPLES), min(signal.size, stop + MARGIN_SAMPLES)
            out[start:stop] = self.denoise_block(signal[a:b])[start - a : stop - a]
        return out
