"""Strided 1-D convolutional autoencoder for event similarity (thesis Table 3.1).

The encoder is a stack of ``Conv1d(core_length, stride)`` layers without padding; the decoder
mirrors it with ``ConvTranspose1d`` layers in the opposite order, so the output has the input's
length when every layer satisfies ``(length - core) / stride ∈ ℕ`` (thesis eq. 3.7). The latent
vector is the flattened encoder output; the compression ratio is ``1 - latent / input``. That
latent depends on where in the window the burst starts and on its phase; with
``input = "spectrum"`` a dense autoencoder sees the window's time-averaged log spectrum
instead, whose latent depends on neither (``configs/embedding/spectrum.toml``).

The configuration is a TOML file (``aemon/models/configs/embedding/autoencoders.toml``).
torch is imported only by :func:`build_autoencoder` (the ``train`` extra).
"""

from __future__ import annotations

import itertools
import logging
import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aemon.errors import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_CONFIG = (
    Path(__file__).resolve().parents[1] / "models" / "configs" / "embedding" / "autoencoders.toml"
)
"""The shipped configuration with the Table 3.1 presets."""
INPUTS = ("waveform", "spectrum")
"""What the autoencoder sees: the normalised window, or its time-averaged log spectrum."""
SPECTRUM_BINS = 33
"""Values of the ``spectrum`` input: one-sided bins of a 64-point STFT frame."""


@dataclass(frozen=True)
class AutoencoderConfig:
    """Architecture and training settings of an embedding autoencoder.

    Attributes:
        preset: Table 3.1 row used (0 when ``layers`` were given directly).
        layers: ``(core_length, stride)`` per encoder layer.
        channels: Output channels per encoder layer.
        window_samples: Input window length (samples).
        activation: ``"tanh"`` or ``"relu"`` between layers.
        epochs: Training epochs.
        batch_size: Windows per step.
        learning_rate: Adam learning rate.
        validation_fraction: Share of windows held out for the card's errors.
        seed: Random seed (split, initialisation, batches).
        input: ``"waveform"`` (the normalised window; the strided convolutional network) or
            ``"spectrum"``: the window's time-averaged log STFT magnitude
            (:func:`aemon.similarity.embedding.log_spectrum`, :data:`SPECTRUM_BINS` values) into
            a dense autoencoder whose layer sizes are ``channels`` (the last one is the
            latent); ``layers`` are then unused.
    """

    preset: int
    layers: tuple[tuple[int, int], ...]
    channels: tuple[int, ...]
    window_samples: int
    activation: str = "tanh"
    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 2e-3
    validation_fraction: float = 0.2
    seed: int = 0
    input: str = "waveform"

    def lengths(self) -> list[int]:
        """Signal length after each encoder layer, input first."""
        out = [self.window_samples]
        for core, stride in self.layers:
            rest = out[-1] - core
            if rest < 0 or rest % stride:
                raise ConfigError(
                    f"layer core {core} stride {stride} does not fit length {out[-1]} "
                    f"((length - core) / stride must be a whole number >= 0); change "
                    "window_samples or the preset"
                )
            out.append(rest // stride + 1)
        return out

    @property
    def latent_size(self) -> int:
        """Values in the latent vector: channels × length of the last encoder layer, or the
        last dense layer's size with ``input = "spectrum"``."""
        if self.input == "spectrum":
            return self.channels[-1]
        return self.channels[-1] * self.lengths()[-1]

    @property
    def compression(self) -> float:
        """``1 - latent_size / window_samples`` (0..1; negative means expansion)."""
        return 1.0 - self.latent_size / self.window_samples

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (stored in the model card)."""
        d = asdict(self)
        d["layers"] = [list(layer) for layer in self.layers]
        d["channels"] = list(self.channels)
        return d


def load_autoencoder_config(
    path: str | os.PathLike[str], overrides: dict[str, Any] | None = None
) -> AutoencoderConfig:
    """Read an autoencoder TOML; ``overrides`` replace top-level or ``[training]`` keys.

    Raises:
        ConfigError: Unreadable file, unknown preset, bad layer settings.
    """
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read autoencoder config ({exc})") from exc
    values: dict[str, Any] = {k: v for k, v in raw.items() if k not in ("presets", "training")}
    values.update(raw.get("training", {}))
    values.update(overrides or {})
    presets = raw.get("presets", {})
    preset = int(values.get("preset", 0))
    if "layers" not in values:
        if str(preset) not in presets:
            raise ConfigError(
                f"{path}: preset {preset} is not defined; use one of {', '.join(presets)}"
            )
        values["layers"] = presets[str(preset)]
    layers = tuple((int(c), int(s)) for c, s in values.pop("layers"))
    channels = tuple(int(c) for c in values.pop("channels", [8] * len(layers)))
    if len(channels) != len(layers) or min(channels, default=1) < 1:
        raise ConfigError(f"{path}: channels needs one positive count per layer ({len(layers)})")
    known = set(AutoencoderConfig.__dataclass_fields__)
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"{path}: unknown settings {', '.join(sorted(unknown))}")
    values["preset"] = preset
    config = AutoencoderConfig(layers=layers, channels=channels, **values)
    if config.activation not in ("tanh", "relu"):
        raise ConfigError(f"{path}: activation must be tanh or relu, got {config.activation!r}")
    if config.input not in INPUTS:
        raise ConfigError(f"{path}: input must be waveform or spectrum, got {config.input!r}")
    config.lengths()  # raises for layers that do not fit
    return config


def build_autoencoder(config: AutoencoderConfig) -> Any:
    """The torch module: ``forward(x)`` reconstructs ``x`` ``(batch, 1, window)``;
    ``encode(x)`` gives the latent ``(batch, latent_size)``."""
    import torch
    from torch import nn

    act: type[nn.Module] = nn.Tanh if config.activation == "tanh" else nn.ReLU
    if config.input == "spectrum":
        return _dense_autoencoder(config, act)

    class StridedAutoencoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            encoder: list[nn.Module] = []
            decoder: list[nn.Module] = []
            inputs = [1, *config.channels[:-1]]
            for i, ((core, stride), c_in, c_out) in enumerate(
                zip(config.layers, inputs, config.channels, strict=True)
            ):
                encoder.append(nn.Conv1d(c_in, c_out, core, stride))
                if i < len(config.layers) - 1:
                    encoder.append(act())
                decoder.insert(0, nn.ConvTranspose1d(c_out, c_in, core, stride))
                if i > 0:
                    decoder.insert(1, act())
            self.encoder = nn.Sequential(*encoder)
            self.decoder = nn.Sequential(*decoder)

        def encode(self, x: torch.Tensor) -> torch.Tensor:
            return torch.flatten(self.encoder(x), 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.decoder(self.encoder(x))

    return StridedAutoencoder()


def _dense_autoencoder(config: AutoencoderConfig, act: Any) -> Any:
    """Dense autoencoder of a ``(batch, 1, SPECTRUM_BINS)`` spectrum; latent ``channels[-1]``."""
    import torch
    from torch import nn

    sizes = [SPECTRUM_BINS, *config.channels]
    encoder: list[nn.Module] = [nn.Flatten()]
    decoder: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        encoder.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            encoder.append(act())
        decoder.insert(0, nn.Linear(b, a))
        if i > 0:
            decoder.insert(1, act())

    class SpectrumAutoencoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Sequential(*encoder)
            self.decoder = nn.Sequential(*decoder)

        def encode(self, x: torch.Tensor) -> torch.Tensor:
            return self.encoder(x)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.decoder(self.encoder(x)).reshape(x.shape)

    return SpectrumAutoencoder()
