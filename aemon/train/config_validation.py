"""Shape and value checks of model configurations (see :mod:`aemon.train.config`).

Every check raises :class:`~aemon.errors.ConfigError` with one line that names the setting
and says how to fix it, before anything is built or trained.
"""

from __future__ import annotations

from aemon.errors import ConfigError
from aemon.train.config_specs import ModelConfig

ARCHITECTURES = ("inceptiontime", "spec2map")
ACTIVATIONS = ("mish", "relu", "gelu", "silu", "elu", "leaky_relu", "tanh")
SPECTRUM_COMPRESSIONS = ("log1p", "none")
KEEP_BEST_BY = ("map_f1", "event_f1")


def _check_activation(name: str, where: str) -> None:
    if name not in ACTIVATIONS:
        raise ConfigError(
            f"{where}: unknown activation {name!r}; use one of {', '.join(ACTIVATIONS)}"
        )


def _positive(value: float, what: str) -> None:
    if not value > 0:
        raise ConfigError(f"{what} must be positive, got {value}")


def validate_model_config(config: ModelConfig, source: str = "<config>") -> None:
    """Check that the configuration describes a model that can be built and trained.

    Raises:
        ConfigError: One line naming the first impossible setting and how to fix it.
    """
    arch = config.architecture
    if arch not in ARCHITECTURES:
        raise ConfigError(f"{source}: architecture {arch!r} unknown; use one of {ARCHITECTURES}")
    sig = config.signal
    _positive(sig.sample_rate_hz, f"{source}: signal.sample_rate_hz")
    _positive(sig.window, f"{source}: signal.window")
    _positive(sig.channels, f"{source}: signal.channels")
    if len(set(sig.classes)) != len(sig.classes) or not all(sig.classes):
        raise ConfigError(f"{source}: signal.classes must be distinct non-empty names")
    if arch == "inceptiontime":
        _validate_inception(config, source)
    else:
        _validate_spec2map(config, source)
    _validate_training(config, source)
    dec = config.decimation
    for what, length in (
        ("signal.window", sig.window),
        ("training.window", config.training.window),
    ):
        if length % dec:
            good = max(dec, round(length / dec) * dec)
            raise ConfigError(
                f"{source}: {what} {length} is not divisible by the total pooling {dec} "
                f"(stride × pools); use a multiple of {dec}, e.g. {good}"
            )
    if config.hop < dec:
        need = 2 * config.margin_bins * dec + dec
        raise ConfigError(
            f"{source}: signal.window {sig.window} is too short for the receptive field of "
            f"{config.receptive_field} samples; use at least {need} samples"
        )


def _validate_inception(config: ModelConfig, source: str) -> None:
    if config.stft or config.conv2d or config.conv1d:
        raise ConfigError(
            f"{source}: [stft]/[[conv2d]]/[[conv1d]] belong to spec2map, not inceptiontime"
        )
    if not config.blocks:
        raise ConfigError(f"{source}: inceptiontime needs at least one [[blocks]] table")
    fe = config.frontend
    if fe:
        for key in ("filters", "kernel", "stride"):
            _positive(getattr(fe, key), f"{source}: frontend.{key}")
        _check_activation(fe.activation, f"{source}: frontend")
        if fe.kernel < fe.stride:
            raise ConfigError(
                f"{source}: frontend.kernel {fe.kernel} is shorter than its stride {fe.stride}; "
                "samples between taps would be ignored"
            )
    for i, block in enumerate(config.blocks, 1):
        where = f"{source}: [[blocks]] #{i}"
        for key in ("filters", "bottleneck", "modules", "pool"):
            _positive(getattr(block, key), f"{where} {key}")
        if any(k < 1 for k in block.kernels):
            raise ConfigError(f"{where}: kernels must be ≥ 1, got {list(block.kernels)}")
        _check_activation(block.activation, where)


def _validate_spec2map(config: ModelConfig, source: str) -> None:
    if config.frontend or config.blocks:
        raise ConfigError(f"{source}: [frontend]/[[blocks]] belong to inceptiontime, not spec2map")
    stft = config.stft
    if stft is None:
        raise ConfigError(f"{source}: spec2map needs an [stft] table (n_fft, hop)")
    _positive(stft.n_fft, f"{source}: stft.n_fft")
    _positive(stft.hop, f"{source}: stft.hop")
    if stft.n_fft < stft.hop or (stft.n_fft - stft.hop) % 2:
        raise ConfigError(
            f"{source}: stft.n_fft {stft.n_fft} must be ≥ hop {stft.hop} and differ from it by an "
            "even number so frames stay centred on their bins"
        )
    if stft.compress not in SPECTRUM_COMPRESSIONS:
        raise ConfigError(f"{source}: stft.compress must be one of {SPECTRUM_COMPRESSIONS}")
    if not config.conv2d:
        raise ConfigError(f"{source}: spec2map needs at least one [[conv2d]] table")
    for i, c2 in enumerate(config.conv2d, 1):
        if len(c2.kernel) != 2 or min(c2.kernel) < 1:
            raise ConfigError(f"{source}: [[conv2d]] #{i} kernel must be [freq, time] ≥ 1")
        _positive(c2.channels, f"{source}: [[conv2d]] #{i} channels")
        _check_activation(c2.activation, f"{source}: [[conv2d]] #{i}")
    for i, c1 in enumerate(config.conv1d, 1):
        _positive(c1.channels, f"{source}: [[conv1d]] #{i} channels")
        _positive(c1.kernel, f"{source}: [[conv1d]] #{i} kernel")
        _check_activation(c1.activation, f"{source}: [[conv1d]] #{i}")


def _validate_training(config: ModelConfig, source: str) -> None:
    tr = config.training
    for key in (
        "window",
        "batch_size",
        "learning_rate",
        "epochs",
        "steps_per_epoch",
        "val_windows",
    ):
        _positive(getattr(tr, key), f"{source}: training.{key}")
    if tr.weight_decay < 0 or tr.patience < 1 or tr.positive_weight <= 0:
        raise ConfigError(f"{source}: training.weight_decay ≥ 0, patience ≥ 1, positive_weight > 0")
    if not 0 <= tr.short_burst_us <= 1e5:
        raise ConfigError(f"{source}: training.short_burst_us must be 0 (off) to 100000 µs")
    if tr.keep_best_by not in KEEP_BEST_BY:
        raise ConfigError(
            f"{source}: training.keep_best_by is {tr.keep_best_by!r}; use one of "
            + ", ".join(KEEP_BEST_BY)
        )
    lo, hi = tr.bursts_per_window
    if len(tr.bursts_per_window) != 2 or not 0 <= lo <= hi:
        raise ConfigError(
            f"{source}: training.bursts_per_window must be [min, max] with 0 ≤ min ≤ max"
        )
    if len(tr.snr_db_range) != 2 or tr.snr_db_range[0] > tr.snr_db_range[1]:
        raise ConfigError(f"{source}: training.snr_db_range must be [low_db, high_db]")
