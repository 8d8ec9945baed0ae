"""Acquisition settings of a Vallen WaveLine device, from flags or a TOML file.

``linwave://HOST`` and ``spotwave://PORT`` sources take: channels, input range, high-pass
and low-pass filter (with its order), and the decimation (or the rate it gives). The flags
``--device-config FILE.toml``, ``--input-range``, ``--highpass``, ``--lowpass``,
``--filter-order``, ``--decimation`` (with ``--rate`` and ``--channels`` shared with other
sources) set them; a flag wins over the file. File keys (all optional)::

    channels = [1, 2]         # linWave channel numbers (spotWave: 1)
    input_range = "50 mV"     # or "5 V", or an index into the device's list
    highpass_hz = 25e3        # omit (or "none") for no high-pass
    lowpass_hz = 800e3
    filter_order = 8          # IIR order (linWave default 8, spotWave 4)
    decimation = 5            # linWave: 10 MHz / 5 = 2 MHz; spotWave: 2 MHz / decimation
    stall_timeout_s = 2.0     # no data this long: the device stopped (e.g. buffer overflow)

Reference: ``docs/waveline.md``.
"""

from __future__ import annotations

import argparse
import math
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from aemon.errors import ConfigError

DEFAULT_DECIMATION = 5
"""linWave default: 10 MHz / 5 = 2 MHz, a 25/32 resampling from the 1.5625 MHz model."""
DEFAULT_STALL_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class WaveLineSettings:
    """What to set on the device before streaming; None leaves the device's default.

    Attributes:
        channels: Device channel numbers to stream (1-based); None: all the device has.
        input_range: Range name (``"50 mV"``, ``"5 V"``) or index into the device's list.
        highpass_hz: High-pass corner (Hz); None: no high-pass.
        lowpass_hz: Low-pass corner (Hz); None: no low-pass.
        filter_order: IIR filter order; None: the device family's default.
        decimation: Rate divider (linWave: 10 MHz / decimation; spotWave: 2 MHz).
        rate_hz: The wanted rate instead of ``decimation`` (Hz); must divide the clock.
        stall_timeout_s: No samples for this long means the device stopped streaming (s).
    """

    channels: tuple[int, ...] | None = None
    input_range: str | int | None = None
    highpass_hz: float | None = None
    lowpass_hz: float | None = None
    filter_order: int | None = None
    decimation: int | None = None
    rate_hz: float | None = None
    stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S

    def resolve_decimation(self, clock_hz: float, default: int) -> int:
        """The decimation to set: from ``decimation``, else ``rate_hz``, else ``default``.

        Raises:
            ConfigError: A rate that is not the clock divided by a whole number, or both
                given and disagreeing.
        """
        from_rate = None
        if self.rate_hz is not None:
            ratio = clock_hz / self.rate_hz
            if ratio < 1 or not math.isclose(ratio, round(ratio), rel_tol=1e-9):
                raise ConfigError(
                    f"--rate {self.rate_hz:g} is not {clock_hz / 1e6:g} MHz / a whole "
                    f"decimation; use e.g. --rate {clock_hz / 5:g} (decimation 5)"
                )
            from_rate = round(ratio)
        if self.decimation is not None and from_rate is not None and from_rate != self.decimation:
            raise ConfigError(
                f"--rate {self.rate_hz:g} means decimation {from_rate}, not {self.decimation}; "
                "give one of them"
            )
        decimation = self.decimation or from_rate or default
        if decimation < 1:
            raise ConfigError(f"decimation must be a whole number ≥ 1, not {decimation}")
        return decimation

    def range_index(self, names: list[str]) -> int:
        """Index of ``input_range`` in the device's range names (``"50 mV"``, ``"5 V"``)."""
        wanted = self.input_range
        if wanted is None:
            return 0
        if isinstance(wanted, int) or str(wanted).strip().isdigit():
            index = int(wanted)
            if 0 <= index < len(names):
                return index
        else:
            key = _range_key(str(wanted))
            for index, name in enumerate(names):
                if _range_key(name) == key:
                    return index
        raise ConfigError(
            f"input range {wanted!r} unknown to this device; use one of "
            f"{', '.join(repr(n) for n in names)} (or its index)"
        )


def _range_key(text: str) -> float:
    """Volts of a range name: ``"50 mV"`` → 0.05, ``"5V"`` → 5.0, ``"0.05"`` → 0.05."""
    t = text.strip().lower().replace(" ", "").replace("±", "")
    scale = 1e-3 if t.endswith("mv") else 1.0
    try:
        return round(float(t.removesuffix("mv").removesuffix("v")) * scale, 9)
    except ValueError:
        return math.nan


def _optional_hz(value: Any, key: str) -> float | None:
    if value is None or (isinstance(value, str) and value.lower() == "none"):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f'{key} must be a frequency in Hz > 0 or "none", not {value!r}')
    return float(value)


def read_settings_file(path: Path) -> WaveLineSettings:
    """Settings from a TOML file (keys in the module docstring).

    Raises:
        ConfigError: Unreadable file, unknown key or a bad value.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"--device-config {path}: {exc}; check the file") from None
    known = {f.name for f in fields(WaveLineSettings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"--device-config {path}: unknown key {unknown[0]!r}; use {', '.join(sorted(known))}"
        )
    values: dict[str, Any] = dict(data)
    if "channels" in values:
        chans = values["channels"]
        if not isinstance(chans, list) or not all(isinstance(c, int) and c >= 1 for c in chans):
            raise ConfigError(f"--device-config {path}: channels must be a list like [1, 2]")
        values["channels"] = tuple(chans)
    for key in ("highpass_hz", "lowpass_hz"):
        if key in values:
            values[key] = _optional_hz(values[key], key)
    for key in ("filter_order", "decimation"):
        if key in values and (not isinstance(values[key], int) or values[key] < 0):
            raise ConfigError(f"--device-config {path}: {key} must be a whole number")
    return WaveLineSettings(**values)


def add_waveline_arguments(group: argparse._ArgumentGroup) -> None:
    """The WaveLine device options, in the source options group."""
    group.add_argument(
        "--device-config", type=Path, metavar="TOML",
        help="linwave:// / spotwave://: acquisition settings file (docs/waveline.md)",
    )  # fmt: skip
    group.add_argument(
        "--input-range", metavar="RANGE", help="linwave://: input range, 50mV (default) or 5V"
    )
    group.add_argument("--highpass", type=float, metavar="HZ", help="WaveLine high-pass (Hz)")
    group.add_argument("--lowpass", type=float, metavar="HZ", help="WaveLine low-pass (Hz)")
    group.add_argument("--filter-order", type=int, metavar="N", help="WaveLine IIR filter order")
    group.add_argument(
        "--decimation", type=int, metavar="D",
        help=f"WaveLine rate divider: linWave 10 MHz / D (default {DEFAULT_DECIMATION}), "
        "spotWave 2 MHz / D (default 1)",
    )  # fmt: skip


def settings_from_args(args: argparse.Namespace) -> WaveLineSettings | None:
    """Settings from ``--device-config`` and the flags (flags win); None if none was given."""
    path = getattr(args, "device_config", None)
    flags = {
        "input_range": getattr(args, "input_range", None),
        "highpass_hz": getattr(args, "highpass", None),
        "lowpass_hz": getattr(args, "lowpass", None),
        "filter_order": getattr(args, "filter_order", None),
        "decimation": getattr(args, "decimation", None),
    }
    given = {key: value for key, value in flags.items() if value is not None}
    if path is None and not given:
        return None
    base = read_settings_file(path) if path is not None else WaveLineSettings()
    for key in ("highpass_hz", "lowpass_hz"):
        if key in given:
            given[key] = _optional_hz(given[key], key.replace("_hz", ""))
    return replace(base, **given)


SETTINGS_FLAGS = ("--device-config", "--input-range", "--highpass", "--lowpass",
                  "--filter-order", "--decimation")  # fmt: skip
"""Flags that only WaveLine sources take."""
