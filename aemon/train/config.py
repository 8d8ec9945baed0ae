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
import tomllib
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from aemon.dsp.normalization import NormalizationParams
from aemon.errors import ConfigError
from aemon.train.config_specs import (
    Conv1dSpec,
    Conv2dSpec,
    FrontEndSpec,
    InceptionBlockSpec,
    ModelConfig,
    SignalSpec,
    StftSpec,
    TrainingSpec,
)
from aemon.train.config_validation import ACTIVATIONS, ARCHITECTURES, validate_model_config

logger = logging.getLogger(__name__)

CONFIGS_DIR = Path(__file__).resolve().parent.parent / "models" / "configs"
"""The shipped model configurations (package data)."""

__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURES",
    "Conv1dSpec",
    "Conv2dSpec",
    "FrontEndSpec",
    "InceptionBlockSpec",
    "ModelConfig",
    "SignalSpec",
    "StftSpec",
    "TrainingSpec",
    "load_model_config",
    "model_config_from_dict",
    "validate_model_config",
    "with_overrides",
]


_SECTION_TYPES: dict[str, type] = {
    "signal": SignalSpec,
    "normalization": NormalizationParams,
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
    try:
        return cls(**values)
    except ConfigError as exc:  # a dataclass that checks itself (NormalizationParams)
        raise ConfigError(f"{where}: {exc}") from None


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

    Args:
        path: A file, or the name of a shipped config (``aemon-rt``,
            ``inceptiontime-middle``; see :data:`CONFIGS_DIR`).

    Raises:
        ConfigError: Missing file, syntax error, unknown keys or impossible shapes.
    """
    path = Path(path)
    shipped = CONFIGS_DIR / f"{path.name}.toml"
    if not path.is_file() and path.parent == Path() and shipped.is_file():
        path = shipped
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in CONFIGS_DIR.glob("*.toml")))
        raise ConfigError(f"model config {path} not found; give a file or one of: {names}")
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
