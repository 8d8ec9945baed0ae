"""Input normalisation shared by training and the live detector (numpy only, no torch).

Detector inputs are expressed in units of the background noise so that a model trained on
volts works unchanged on ADC counts or normalised WAV samples:

1. **Noise floor.** A robust estimate of the noise RMS per channel: ``median(|x|) / 0.6745``
   (exact for Gaussian noise; bursts and spikes occupy a few percent of a window and barely
   move the median, unlike a plain RMS).
2. **Scale.** ``x / max(noise_floor, floor)``.
3. **Compress** (``"asinh"``): ``asinh(x / noise_floor)``; linear within a few noise RMS,
   logarithmic for loud bursts, so 15–55 dB bursts land in a range a network handles well.

Training normalises every window with the floor measured on that window itself
(:func:`normalize_window`). Live, :class:`NoiseFloorTracker` measures each new block the same
way and smooths the estimate in the log domain with an exponential time constant; its first
update equals the training estimate, and for steady background both agree to a few percent.
The parameters are stored in the model card (``normalization``) and read back with
:meth:`NormalizationParams.from_dict`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from aemon.errors import ConfigError

logger = logging.getLogger(__name__)

MAD_TO_RMS = 0.6744897501960817
"""Median of |x| for unit-RMS Gaussian noise; dividing by it turns the median into an RMS."""

FloatArray = npt.NDArray[np.floating[Any]]


@dataclass(frozen=True)
class NormalizationParams:
    """How model inputs are normalised; stored with the model.

    Attributes:
        method: ``"noise_floor"`` or ``"none"``.
        compress: ``"asinh"`` or ``"none"``.
        time_constant_s: Live tracker time constant (s).
        floor: Smallest noise floor (input units) used as divisor.
        whiten_order: Order of the adaptive pre-whitener (:mod:`aemon.dsp.whitening`) that
            runs before the noise-floor division; 0 = no whitening (models before it).
        whiten_hop: Pre-whitener adaptation hop (model samples).
        whiten_time_constant_hops: Pre-whitener averaging time constant (hops).
    """

    method: str = "noise_floor"
    compress: str = "asinh"
    time_constant_s: float = 0.05
    floor: float = 1e-12
    whiten_order: int = 0
    whiten_hop: int = 4096
    whiten_time_constant_hops: float = 128.0

    def __post_init__(self) -> None:
        if self.method not in ("noise_floor", "none"):
            raise ConfigError(f"normalization method {self.method!r} unknown (noise_floor, none)")
        if self.compress not in ("asinh", "none"):
            raise ConfigError(f"normalization compress {self.compress!r} unknown (asinh, none)")
        if not self.time_constant_s > 0 or not self.floor > 0:
            raise ConfigError("normalization time_constant_s and floor must be positive")
        if self.whiten_order < 0 or not self.whiten_time_constant_hops > 0:
            raise ConfigError("whiten_order must be >= 0 and whiten_time_constant_hops > 0")
        if self.whiten_order and (
            self.whiten_hop % 16 or self.whiten_hop < 16 * (self.whiten_order + 1)
        ):
            raise ConfigError(
                f"whiten_hop {self.whiten_hop} must be a multiple of 16 and at least "
                f"16 × (whiten_order + 1) = {16 * (self.whiten_order + 1)}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Dict for the model card, with a human-readable description."""
        out: dict[str, Any] = asdict(self)
        out["description"] = describe(self)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> NormalizationParams:
        """Read parameters back from a model card (extra keys such as description ignored)."""
        keys = [f.name for f in fields(cls)]
        return cls(**{k: raw[k] for k in keys if k in raw})


def describe(params: NormalizationParams) -> str:
    """One sentence that says what the normalisation does (for model cards)."""
    whitening = (
        f"adaptive pre-whitening first (linear-prediction error filter of order "
        f"{params.whiten_order}, autocorrelation tracked over hops of {params.whiten_hop} "
        f"samples with a time constant of {params.whiten_time_constant_hops:g} hops, frozen "
        "while an event is on; aemon.dsp.whitening), then "
        if params.whiten_order
        else ""
    )
    if params.method == "none":
        return whitening + "none: the model sees the input samples unchanged"
    text = (
        "x / noise_floor per channel, noise_floor = max(median(|x|)/0.6745, "
        f"{params.floor:g}) over the window (training) or tracked live with an exponential "
        f"time constant of {params.time_constant_s * 1e3:g} ms"
    )
    if params.compress == "asinh":
        text = "asinh(" + text.replace(" per channel", ") per channel", 1)
    return whitening + text


def noise_floor(x: FloatArray) -> FloatArray:
    """Robust noise RMS along the last axis: ``median(|x|) / 0.6745``.

    Args:
        x: Samples, shape ``(..., n)`` in any unit.

    Returns:
        float64 array of shape ``x.shape[:-1]`` in the unit of ``x``.
    """
    return np.asarray(np.median(np.abs(x), axis=-1) / MAD_TO_RMS, dtype=np.float64)


def apply_scale(x: FloatArray, scale: FloatArray, params: NormalizationParams) -> np.ndarray:
    """Divide by ``scale`` (shape ``x.shape[:-1]``) and compress; returns float32."""
    if params.method == "none":
        return np.asarray(x, dtype=np.float32)
    divisor = np.maximum(np.asarray(scale, dtype=np.float64), params.floor)[..., None]
    y = np.asarray(x, dtype=np.float64) / divisor
    if params.compress == "asinh":
        y = np.arcsinh(y)
    return y.astype(np.float32)


def normalize_window(x: FloatArray, params: NormalizationParams) -> np.ndarray:
    """Normalise one window (or a batch of windows) with its own noise floor.

    Args:
        x: Samples of shape ``(..., n)``; the last axis is time.
        params: Normalisation parameters of the model.

    Returns:
        float32 array of the same shape.
    """
    if params.method == "none":
        return np.asarray(x, dtype=np.float32)
    return apply_scale(x, noise_floor(x), params)


class NoiseFloorTracker:
    """Running per-channel noise floor for the live path.

    Each :meth:`update` measures ``median(|x|)/0.6745`` on the new block and moves the
    estimate towards it in the log domain with weight ``1 - exp(-duration / time_constant)``,
    so a burst lasting a few hundred µs cannot pull the floor up while a change of gain is
    followed within a few time constants. The first update takes the block's value as is,
    which is exactly what training does per window.

    Args:
        params: Normalisation parameters from the model card.
        channels: Number of channels.
        sample_rate_hz: Sample rate (Hz) of the blocks.
    """

    def __init__(self, params: NormalizationParams, channels: int, sample_rate_hz: float) -> None:
        if channels < 1 or not sample_rate_hz > 0:
            raise ConfigError("noise floor tracker needs ≥ 1 channel and a positive sample rate")
        self.params = params
        self.channels = channels
        self.sample_rate_hz = float(sample_rate_hz)
        self._log_floor: np.ndarray | None = None

    @property
    def floor(self) -> np.ndarray | None:
        """Current noise floor per channel (input units), None before the first update."""
        return None if self._log_floor is None else np.exp(self._log_floor)

    def reset(self) -> None:
        """Forget the estimate (e.g. after a gap or a change of source)."""
        self._log_floor = None

    def update(self, block: FloatArray) -> np.ndarray:
        """Fold a ``(channels, n)`` block into the estimate and return the new floor."""
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ConfigError(
                f"noise floor tracker expects ({self.channels}, n) blocks, got {block.shape}"
            )
        if block.shape[1] == 0:
            return (
                self.floor if self.floor is not None else np.full(self.channels, self.params.floor)
            )
        measured = np.log(np.maximum(noise_floor(block), self.params.floor))
        if self._log_floor is None:
            self._log_floor = measured
        else:
            duration_s = block.shape[1] / self.sample_rate_hz
            weight = 1.0 - math.exp(-duration_s / self.params.time_constant_s)
            self._log_floor = self._log_floor + weight * (measured - self._log_floor)
        return np.exp(self._log_floor)

    def normalize(self, block: FloatArray) -> np.ndarray:
        """Update with ``block`` and return it normalised (float32, same shape)."""
        if self.params.method == "none":
            return np.asarray(block, dtype=np.float32)
        return apply_scale(block, self.update(block), self.params)
