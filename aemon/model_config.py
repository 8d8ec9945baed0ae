"""Detector model configurations: plain TOML/JSON files, validated before anything is built.

A model configuration names an architecture (``"inceptiontime"`` or ``"spec2map"``), the signal
it reads (sample rate, window, channels, event classes), the normalisation, the layers and the
training settings. Users change depth, kernels, pooling, filters or activation by editing the
file; :func:`load_model_config` rejects impossible shapes with a one-line :class:`ConfigError`
before any training starts. This module is torch-free so the live path can use it.

Shapes: a model maps ``(batch, channels, window)`` samples to ``(batch, classes, bins)``
probabilities with ``bins = window / decimation``. ``decimation`` is the front-end stride times
the product of the block pools (InceptionTime) or the STFT hop (Spec2Map).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import tomllib

from aemon.errors import ConfigError
from aemon.model_validation import ACTIVATIONS, ARCHITECTURES, validate_model_config

logger = logging.getLogger(__name__)

__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURES",
    "Conv1dSpec",
    "Conv2dSpec",
    "FrontEndSpec",
    "InceptionBlockSpec",
    "ModelConfig",
    "NormalizationSpec",
    "SignalSpec",
    "StftSpec",
    "TrainingSpec",
    "load_model_config",
    "model_config_from_dict",
    "validate_model_config",
    "with_overrides",
]


@dataclass(frozen=True)
class SignalSpec:
    """What the model reads.

    Attributes:
        sample_rate_hz: Sample rate (Hz) the model is trained for.
        window: Samples per channel in one inference window.
        channels: Input channels the model sees at once (1 = each sensor on its own).
        classes: Event type names, one output row each.
    """

    sample_rate_hz: float = 1_562_500.0
    window: int = 32768
    channels: int = 1
    classes: tuple[str, ...] = ("low", "high")


@dataclass(frozen=True)
class NormalizationSpec:
    """Input normalisation (see :mod:`aemon.normalize`).

    Attributes:
        method: ``"noise_floor"`` divides by a robust noise RMS; ``"none"`` passes input as is.
        compress: ``"asinh"`` maps the scaled signal through asinh (linear near the noise
            floor, logarithmic for loud bursts); ``"none"`` keeps it linear.
        time_constant_s: Time constant (s) of the live noise-floor tracker.
        floor: Smallest scale used (input units), so digital silence does not divide by 0.
    """

    method: str = "noise_floor"
    compress: str = "asinh"
    time_constant_s: float = 0.05
    floor: float = 1e-12


@dataclass(frozen=True)
class FrontEndSpec:
    """A learned strided convolution that decimates the raw signal (CPU-real-time models).

    Attributes:
        filters: Output channels.
        kernel: Kernel length (samples at the input rate).
        stride: Decimation factor.
        activation: Activation after batch norm.
    """

    filters: int = 32
    kernel: int = 64
    stride: int = 8
    activation: str = "mish"


@dataclass(frozen=True)
class InceptionBlockSpec:
    """One InceptionTime block: ``modules`` inception modules, a residual path, then a pool.

    Attributes:
        kernels: Kernel lengths of the parallel convolutions (samples at the block's rate).
        filters: Filters per branch; the module outputs ``filters * (len(kernels) + 1)``.
        bottleneck: Channels of the 1×1 bottleneck (skipped on a one-channel input).
        modules: Stacked inception modules in the block.
        pool: Max-pool size (and stride) after the block; 1 = no pooling.
        activation: Activation after batch norm.
        residual: Add a 1×1 convolution + batch norm shortcut around the block.
        separable: Use depthwise-separable branch convolutions (cheap CPU variant).
    """

    kernels: tuple[int, ...] = (63, 127, 255)
    filters: int = 32
    bottleneck: int = 32
    modules: int = 3
    pool: int = 1
    activation: str = "mish"
    residual: bool = True
    separable: bool = False


@dataclass(frozen=True)
class StftSpec:
    """STFT front end of Spec2Map (computed by fixed convolutions, exportable to ONNX).

    Attributes:
        n_fft: Frame length (samples, Hann window).
        hop: Frame step (samples); one output bin per hop.
        compress: ``"log1p"`` or ``"none"`` applied to the magnitude.
    """

    n_fft: int = 128
    hop: int = 16
    compress: str = "log1p"


@dataclass(frozen=True)
class Conv2dSpec:
    """A shape-preserving 2-D convolution over (frequency, time) of the spectrogram."""

    channels: int = 8
    kernel: tuple[int, int] = (5, 5)
    activation: str = "mish"


@dataclass(frozen=True)
class Conv1dSpec:
    """A shape-preserving 1-D convolution over time (frequency rows are the channels)."""

    channels: int = 64
    kernel: int = 5
    activation: str = "mish"


@dataclass(frozen=True)
class TrainingSpec:
    """Training settings (command-line options override them).

    Attributes:
        window: Samples per training window (models are fully convolutional, so this may be
            shorter than the inference window to save time).
        batch_size: Windows per optimiser step.
        learning_rate: Adam learning rate (cosine-annealed to 5 % over the epochs).
        weight_decay: Adam weight decay.
        epochs: Maximum epochs.
        steps_per_epoch: Optimiser steps per epoch.
        val_windows: Validation windows (fixed set, drawn once).
        patience: Early stopping after this many epochs without a better validation loss.
        bursts_per_window: Inclusive range of bursts mixed into one window.
        snr_db_range: Burst peak over noise RMS (dB) for simulated bursts.
        positive_weight: BCE weight of positive bins (1 = plain BCE as in the thesis).
    """

    window: int = 32768
    batch_size: int = 3
    learning_rate: float = 2e-4
    weight_decay: float = 1e-5
    epochs: int = 30
    steps_per_epoch: int = 500
    val_windows: int = 96
    patience: int = 6
    bursts_per_window: tuple[int, int] = (1, 10)
    snr_db_range: tuple[float, float] = (15.0, 55.0)
    positive_weight: float = 1.0


@dataclass(frozen=True)
class ModelConfig:
    """A complete, validated detector definition."""

    name: str
    architecture: str
    description: str = ""
    signal: SignalSpec = field(default_factory=SignalSpec)
    normalization: NormalizationSpec = field(default_factory=NormalizationSpec)
    frontend: FrontEndSpec | None = None
    blocks: tuple[InceptionBlockSpec, ...] = ()
    stft: StftSpec | None = None
    conv2d: tuple[Conv2dSpec, ...] = ()
    conv1d: tuple[Conv1dSpec, ...] = ()
    training: TrainingSpec = field(default_factory=TrainingSpec)

    @property
    def decimation(self) -> int:
        """Input samples per output bin."""
        if self.architecture == "spec2map":
            return self.stft.hop if self.stft else 1
        stride = self.frontend.stride if self.frontend else 1
        return stride * math.prod(b.pool for b in self.blocks)

    @property
    def output_bins(self) -> int:
        """Bins per inference window."""
        return self.signal.window // self.decimation

    @property
    def bin_us(self) -> float:
        """Width of one output bin (µs)."""
        return self.decimation / self.signal.sample_rate_hz * 1e6

    @property
    def receptive_field(self) -> int:
        """Input samples that influence one output bin (ignoring window edges)."""
        if self.architecture == "spec2map":
            hop = self.stft.hop if self.stft else 1
            n_fft = self.stft.n_fft if self.stft else 1
            steps = sum(c.kernel[1] - 1 for c in self.conv2d) + sum(
                c.kernel - 1 for c in self.conv1d
            )
            return n_fft + steps * hop
        rf, rate = 1, 1
        if self.frontend:
            rf, rate = self.frontend.kernel, self.frontend.stride
        for block in self.blocks:
            widest = max((*block.kernels, 3))
            rf += block.modules * (widest - 1) * rate
            rf += (block.pool - 1) * rate
            rate *= block.pool
        return rf

    @property
    def margin_bins(self) -> int:
        """Bins at each window edge whose receptive field reaches past the window."""
        return math.ceil(self.receptive_field / 2 / self.decimation)

    @property
    def hop(self) -> int:
        """Live window step (samples): the window less both margins, so kept bins tile."""
        return self.signal.window - 2 * self.margin_bins * self.decimation

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON/TOML-ready) that :func:`model_config_from_dict` reads back."""
        out = asdict(self)
        return {k: v for k, v in out.items() if v not in (None, [], ())}


_SECTION_TYPES: dict[str, type] = {
    "signal": SignalSpec,
    "normalization": NormalizationSpec,
    "frontend": FrontEndSpec,
    "stft": StftSpec,
    "training": TrainingSpec,
}
_LIST_TYPES: dict[str, type] = {
    "blocks": InceptionBlockSpec,
    "conv2d": Conv2dSpec,
    "conv1d": Conv1dSpec,
}
_TOP_KEYS = {"name", "architecture", "description", *_SECTION_TYPES, *_LIST_TYPES}


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table of settings, got {type(raw).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(
            f"unknown setting {unknown[0]!r} in {where}; "
            f"expected one of: {', '.join(sorted(known))}"
        )
    values = {}
    for key, value in raw.items():
        default = getattr(cls(), key)
        values[key] = _coerce(value, default, f"{where}.{key}")
    return cls(**values)


def _coerce(value: Any, default: Any, where: str) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple) or not value:
            raise ConfigError(f"{where} must be a non-empty list, got {value!r}")
        return tuple(_coerce(v, default[0], where) for v in value)
    return value


def model_config_from_dict(raw: dict[str, Any], source: str = "<config>") -> ModelConfig:
    """Build and validate a :class:`ModelConfig` from a parsed TOML/JSON mapping.

    Args:
        raw: Parsed configuration.
        source: File name used in error messages.

    Raises:
        ConfigError: Unknown keys, wrong types or impossible shapes.
    """
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown section {unknown[0]!r} in {source}; expected: {', '.join(sorted(_TOP_KEYS))}"
        )
    for key in ("name", "architecture"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ConfigError(f'{source} needs a {key} = "..." line')
    kwargs: dict[str, Any] = {
        "name": raw["name"],
        "architecture": raw["architecture"],
        "description": str(raw.get("description", "")),
    }
    for key, cls in _SECTION_TYPES.items():
        if key in raw:
            kwargs[key] = _build(cls, raw[key], f"[{key}] of {source}")
    for key, cls in _LIST_TYPES.items():
        if key in raw:
            items = raw[key]
            if not isinstance(items, list | tuple):
                raise ConfigError(f"{key} in {source} must be a list of tables ([[{key}]])")
            kwargs[key] = tuple(
                _build(cls, item, f"[[{key}]] #{i + 1} of {source}") for i, item in enumerate(items)
            )
    config = ModelConfig(**kwargs)
    validate_model_config(config, source)
    return config


def load_model_config(path: str | Path) -> ModelConfig:
    """Read a model configuration from a ``.toml`` or ``.json`` file and validate it.

    Raises:
        ConfigError: Missing file, syntax error, unknown keys or impossible shapes.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"model config {path} not found; see models/configs/ for examples")
    text = path.read_text(encoding="utf-8")
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot parse model config {path}: {exc}") from exc
    return model_config_from_dict(raw, path.name)


def with_overrides(
    config: ModelConfig, *, sample_rate_hz: float | None = None, **training: Any
) -> ModelConfig:
    """Return a copy with another sample rate and/or training settings, re-validated."""
    signal = config.signal
    if sample_rate_hz is not None:
        signal = replace(signal, sample_rate_hz=float(sample_rate_hz))
    changes = {k: v for k, v in training.items() if v is not None}
    new = replace(config, signal=signal, training=replace(config.training, **changes))
    validate_model_config(new, config.name)
    return new
