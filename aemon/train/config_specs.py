"""The parts of a detector model configuration (see :mod:`aemon.train.config`).

Plain frozen dataclasses; :mod:`aemon.train.config_validation` checks them and
:mod:`aemon.train.config` reads them from TOML/JSON. The input normalisation is the
:class:`~aemon.dsp.normalization.NormalizationParams` that the live path uses too.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from aemon.dsp.normalization import NormalizationParams

__all__ = [
    "Conv1dSpec",
    "Conv2dSpec",
    "FrontEndSpec",
    "InceptionBlockSpec",
    "ModelConfig",
    "SignalSpec",
    "StftSpec",
    "TrainingSpec",
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
        patience: Early stopping after this many epochs without a better validation score
            (see ``keep_best_by``).
        bursts_per_window: Inclusive range of bursts mixed into one window.
        snr_db_range: Burst peak over noise RMS (dB) for simulated bursts.
        positive_weight: BCE weight of positive bins (1 = plain BCE as in the thesis).
        short_burst_us: Bursts shorter than this (µs at the model's rate) get larger loss
            weights, so that each weighs like one of this length (0 = plain BCE; see
            :mod:`aemon.train.loss_weights`).
        keep_best_by: Validation score that picks the kept weights and drives early stopping:
            ``map_f1`` (bin-wise F1 of the binary map at 0.5, dominated by long bursts' bins)
            or ``event_f1`` (event F1 of the validation windows through the live event rule,
            where a 30 µs burst counts as much as a 3 ms one).
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
    short_burst_us: float = 0.0
    keep_best_by: str = "map_f1"


@dataclass(frozen=True)
class ModelConfig:
    """A complete, validated detector definition."""

    name: str
    architecture: str
    description: str = ""
    signal: SignalSpec = field(default_factory=SignalSpec)
    normalization: NormalizationParams = field(default_factory=NormalizationParams)
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
