"""Source-location settings: sensor positions, wave speed, mode, gauge region (a TOML file).

A location file (``--location FILE``) describes where the sensors sit and how fast the wave
travels; :mod:`aemon.events.location` locates events with it and :mod:`aemon.events.grouping`
builds multi-channel events with its time window. Layout and defaults: ``docs/events.md``
(*Source location*). Example, two sensors 0.2 m apart and two guard sensors outside them::

    mode = "linear"              # "linear" (sensors on a line) or "planar" (on a plate)
    wave_speed_m_s = 5000.0
    onset_uncertainty_us = 0.2   # 1-sigma error of one arrival time (µs)
    gauge_m = [0.01, 0.19]       # optional: what counts as inside (linear)

    [[sensors]]
    channel = 0
    x_m = 0.0
    [[sensors]]
    channel = 1
    x_m = 0.2
    [[sensors]]
    channel = 2
    x_m = -0.05
    guard = true
"""

from __future__ import annotations

import logging
import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aemon.errors import ConfigError

logger = logging.getLogger(__name__)

MODES = ("linear", "planar")
"""Location modes: sensors on a line (x only) or on a plate (x and y)."""

WINDOW_MARGIN = 1.2
"""The derived event window is this factor times the longest sensor-to-sensor travel time."""

EDGE_SIGMAS = 2.0
"""Default gauge interval: the sensors' span, inset on each side by this many standard
deviations of the location uncertainty (a source at a sensor is outside the gauge length)."""

_KEYS = {
    "mode",
    "wave_speed_m_s",
    "onset_uncertainty_us",
    "window_us",
    "hold_s",
    "gauge_m",
    "gauge_x_m",
    "gauge_y_m",
    "max_residual_us",
    "cross_correlate",
    "sensors",
}
_SENSOR_KEYS = {"channel", "x_m", "y_m", "guard"}


@dataclass(frozen=True)
class Sensor:
    """One sensor.

    Attributes:
        channel: Channel index (0-based) whose hits this sensor records.
        x_m: Position along the specimen (m).
        y_m: Second coordinate on a plate (m); 0 for linear location.
        guard: A guard sensor: an event whose first hit is on it is rejected (``"guard"``).
    """

    channel: int
    x_m: float
    y_m: float = 0.0
    guard: bool = False


@dataclass(frozen=True)
class LocationConfig:
    """Everything source location needs. Invalid values raise :class:`ConfigError`.

    Attributes:
        sensors: The sensors (at least 2 for linear, 3 for planar location).
        wave_speed_m_s: Propagation speed of the located wave mode (m/s).
        mode: ``"linear"`` or ``"planar"``.
        onset_uncertainty_us: 1-sigma error of one refined onset (µs); gives the location
            uncertainty and the default gauge inset.
        window_us: Longest time (µs) from an event's first to its last hit; None derives it
            as :data:`WINDOW_MARGIN` × the longest sensor-to-sensor distance / wave speed.
        hold_s: How long (s of signal) grouping waits, beyond the event window past the
            time the detector has settled to, before an event is final.
        gauge_m: Linear: the interval (m) counted as inside; None: the non-guard sensors'
            span inset by :data:`EDGE_SIGMAS` location uncertainties.
        gauge_x_m: Planar: x interval (m) counted as inside; None: the non-guard sensors'
            bounding box.
        gauge_y_m: Planar: y interval (m), as ``gauge_x_m``.
        max_residual_us: Planar: an RMS arrival residual above this (µs) marks the location
            ``"unlocated"``; None accepts any.
        cross_correlate: Refine the arrival-time differences by cross-correlating the
            channels' waveforms where the raw signal is at hand (detect, monitor).
    """

    sensors: tuple[Sensor, ...]
    wave_speed_m_s: float
    mode: str = "linear"
    onset_uncertainty_us: float = 0.2
    window_us: float | None = None
    hold_s: float = 0.1
    gauge_m: tuple[float, float] | None = None
    gauge_x_m: tuple[float, float] | None = None
    gauge_y_m: tuple[float, float] | None = None
    max_residual_us: float | None = None
    cross_correlate: bool = True
    _by_channel: dict[int, Sensor] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"location mode {self.mode!r} is unknown; use one of {MODES}")
        if not (math.isfinite(self.wave_speed_m_s) and self.wave_speed_m_s > 0):
            raise ConfigError(f"wave_speed_m_s must be positive, got {self.wave_speed_m_s}")
        if not (self.onset_uncertainty_us >= 0 and math.isfinite(self.onset_uncertainty_us)):
            raise ConfigError("onset_uncertainty_us must be >= 0 µs")
        if self.window_us is not None and not self.window_us > 0:
            raise ConfigError(f"window_us must be positive, got {self.window_us}")
        if not (self.hold_s >= 0 and math.isfinite(self.hold_s)):
            raise ConfigError(f"hold_s must be >= 0 s, got {self.hold_s}")
        channels = [s.channel for s in self.sensors]
        if len(set(channels)) != len(channels) or any(c < 0 for c in channels):
            raise ConfigError("each sensor needs its own channel number >= 0")
        needed = 2 if self.mode == "linear" else 3
        if sum(not s.guard for s in self.sensors) < needed:
            raise ConfigError(f"{self.mode} location needs at least {needed} non-guard sensors")
        if len({(s.x_m, s.y_m) for s in self.sensors}) != len(self.sensors):
            raise ConfigError("two sensors share one position; give each its own")
        for name in ("gauge_m", "gauge_x_m", "gauge_y_m"):
            interval = getattr(self, name)
            if interval is not None and not (len(interval) == 2 and interval[0] < interval[1]):
                raise ConfigError(f"{name} must be [low, high] with low < high")
        object.__setattr__(self, "_by_channel", {s.channel: s for s in self.sensors})

    def sensor(self, channel: int) -> Sensor | None:
        """The sensor on ``channel``, or None if that channel has none."""
        return self._by_channel.get(channel)

    @property
    def max_distance_m(self) -> float:
        """Longest distance (m) between two sensors."""
        return max(
            math.hypot(a.x_m - b.x_m, a.y_m - b.y_m) for a in self.sensors for b in self.sensors
        )

    @property
    def event_window_s(self) -> float:
        """Longest first-to-last hit time (s) of one event (explicit or derived)."""
        if self.window_us is not None:
            return self.window_us * 1e-6
        return WINDOW_MARGIN * self.max_distance_m / self.wave_speed_m_s

    @property
    def linear_uncertainty_m(self) -> float:
        """1-sigma error (m) of a linear location: ``v/2 · √2 · onset uncertainty``."""
        return self.wave_speed_m_s / 2 * math.sqrt(2) * self.onset_uncertainty_us * 1e-6

    @property
    def gauge_interval_m(self) -> tuple[float, float]:
        """Linear: the x interval (m) counted as inside (see :attr:`gauge_m`)."""
        if self.gauge_m is not None:
            return (float(self.gauge_m[0]), float(self.gauge_m[1]))
        xs = [s.x_m for s in self.sensors if not s.guard]
        inset = EDGE_SIGMAS * self.linear_uncertainty_m
        return (min(xs) + inset, max(xs) - inset)

    @property
    def gauge_box_m(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """Planar: ``((x_low, x_high), (y_low, y_high))`` counted as inside (m)."""
        xs = [s.x_m for s in self.sensors if not s.guard]
        ys = [s.y_m for s in self.sensors if not s.guard]
        gx = self.gauge_x_m or (min(xs), max(xs))
        gy = self.gauge_y_m or (min(ys), max(ys))
        return ((float(gx[0]), float(gx[1])), (float(gy[0]), float(gy[1])))


def _number(table: Mapping[str, Any], key: str, where: str, default: Any = None) -> Any:
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: {key} must be a number, got {value!r}")
    return float(value)


def _flag(table: Mapping[str, Any], key: str, where: str) -> bool:
    value = table.get(key, True)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be true or false")
    return value


def _interval(table: Mapping[str, Any], key: str, where: str) -> tuple[float, float] | None:
    value = table.get(key)
    if value is None:
        return None
    if not (isinstance(value, Sequence) and len(value) == 2) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        raise ConfigError(f"{where}: {key} must be two numbers [low, high] in m")
    return (float(value[0]), float(value[1]))


def location_config_from_dict(table: Mapping[str, Any], where: str = "location") -> LocationConfig:
    """Build a :class:`LocationConfig` from a parsed TOML table.

    Raises:
        ConfigError: Unknown keys, missing sensors or wave speed, wrong types or values.
    """
    unknown = set(table) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    raw_sensors = table.get("sensors")
    if not isinstance(raw_sensors, list) or not raw_sensors:
        raise ConfigError(f"{where}: add the sensors as [[sensors]] tables (channel, x_m)")
    sensors = []
    for i, s in enumerate(raw_sensors):
        here = f"{where}: sensor {i + 1}"
        if not isinstance(s, Mapping) or not {"channel", "x_m"} <= set(s):
            raise ConfigError(f"{here} needs channel and x_m")
        if set(s) - _SENSOR_KEYS:
            raise ConfigError(f"{here}: unknown key(s) {', '.join(sorted(set(s) - _SENSOR_KEYS))}")
        channel = s["channel"]
        if not isinstance(channel, int) or isinstance(channel, bool):
            raise ConfigError(f"{here}: channel must be a whole number (0-based)")
        guard = s.get("guard", False)
        if not isinstance(guard, bool):
            raise ConfigError(f"{here}: guard must be true or false")
        sensors.append(
            Sensor(channel, _number(s, "x_m", here), _number(s, "y_m", here, 0.0), guard)
        )
    if "wave_speed_m_s" not in table:
        raise ConfigError(f"{where}: set wave_speed_m_s (m/s); aemon locate-calibrate fits it")
    mode = table.get("mode", "linear")
    if not isinstance(mode, str):
        raise ConfigError(f'{where}: mode must be "linear" or "planar"')
    return LocationConfig(
        sensors=tuple(sensors),
        wave_speed_m_s=_number(table, "wave_speed_m_s", where),
        mode=mode,
        onset_uncertainty_us=_number(table, "onset_uncertainty_us", where, 0.2),
        window_us=_number(table, "window_us", where),
        hold_s=_number(table, "hold_s", where, 0.1),
        gauge_m=_interval(table, "gauge_m", where),
        gauge_x_m=_interval(table, "gauge_x_m", where),
        gauge_y_m=_interval(table, "gauge_y_m", where),
        max_residual_us=_number(table, "max_residual_us", where),
        cross_correlate=_flag(table, "cross_correlate", where),
    )


def load_location_config(path: str | os.PathLike[str]) -> LocationConfig:
    """Read a location TOML file (see the module docstring).

    Raises:
        ConfigError: The file is missing, not TOML, or describes an impossible set-up.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            table = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read location file {name}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name} is not valid TOML ({exc}); fix the location file") from None
    return location_config_from_dict(table, name)


def location_config_toml(config: LocationConfig) -> str:
    """The TOML text of ``config`` (what :func:`load_location_config` reads back)."""
    lines = [
        f'mode = "{config.mode}"',
        f"wave_speed_m_s = {config.wave_speed_m_s!r}",
        f"onset_uncertainty_us = {config.onset_uncertainty_us!r}",
        f"hold_s = {config.hold_s!r}",
        f"cross_correlate = {str(config.cross_correlate).lower()}",
    ]
    for name in ("window_us", "max_residual_us"):
        if getattr(config, name) is not None:
            lines.append(f"{name} = {getattr(config, name)!r}")
    for name in ("gauge_m", "gauge_x_m", "gauge_y_m"):
        value = getattr(config, name)
        if value is not None:
            lines.append(f"{name} = [{value[0]!r}, {value[1]!r}]")
    for s in config.sensors:
        lines += ["", "[[sensors]]", f"channel = {s.channel}", f"x_m = {s.x_m!r}"]
        if config.mode == "planar" or s.y_m:
            lines.append(f"y_m = {s.y_m!r}")
        if s.guard:
            lines.append("guard = true")
    return "\n".join(lines) + "\n"
