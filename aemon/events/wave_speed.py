"""Wave speed from pencil-lead breaks (PLB) at known positions (``aemon locate-calibrate``).

For a source at a known position ``p``, the arrival-time difference between sensor ``i`` and
the first-hit sensor ``f`` is ``Δt_i = (|p − s_i| − |p − s_f|) · slowness``. Every hit sensor
of every break gives one such equation; the slowness (1 / wave speed) is their least-squares
fit through the origin, refitted twice without the equations whose residual exceeds three
scaled median absolute deviations (reflections, a missed first arrival). With the fitted
speed each break is located again and its error against the known position is reported.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from aemon.errors import ConfigError
from aemon.events.grouping import LocatedEvent, group_hits
from aemon.events.hit import Hit
from aemon.events.location import locate
from aemon.events.location_config import LocationConfig

logger = logging.getLogger(__name__)

OUTLIER_MADS = 3.0
"""Equations with a residual beyond this many scaled MADs are dropped from the refit."""


class KnownPosition(NamedTuple):
    """Pencil-lead breaks made at one position during one stretch of the recording.

    Attributes:
        start_s: Start of the stretch (s since the start of the recording).
        stop_s: End of the stretch (s).
        x_m: Break position x (m).
        y_m: Break position y (m; 0 on a line).
    """

    start_s: float
    stop_s: float
    x_m: float
    y_m: float = 0.0


class PositionError(NamedTuple):
    """Location with the fitted speed at one known position.

    Attributes:
        position: The known position.
        breaks: Events (breaks) found in its stretch with hits on at least two sensors.
        x_m: Median located x (m).
        y_m: Median located y (m).
        median_error_m: Median distance located − known (m).
        max_error_m: Largest distance located − known (m).
    """

    position: KnownPosition
    breaks: int
    x_m: float
    y_m: float
    median_error_m: float
    max_error_m: float


class WaveSpeedFit(NamedTuple):
    """Result of :func:`fit_wave_speed`.

    Attributes:
        wave_speed_m_s: Fitted wave speed (m/s).
        equations: Arrival-time differences used in the final fit.
        dropped: Equations dropped as outliers.
        rms_residual_us: RMS residual of the final fit (µs).
        positions: Location error at each known position.
    """

    wave_speed_m_s: float
    equations: int
    dropped: int
    rms_residual_us: float
    positions: list[PositionError]


def _fit_slowness(dd: np.ndarray, dt: np.ndarray) -> tuple[float, np.ndarray]:
    keep = np.ones(dd.size, dtype=bool)
    slowness = 0.0
    for _ in range(3):
        slowness = float(np.dot(dd[keep], dt[keep]) / np.dot(dd[keep], dd[keep]))
        residual = dt - slowness * dd
        mad = 1.4826 * float(np.median(np.abs(residual[keep] - np.median(residual[keep]))))
        keep = np.abs(residual) <= max(OUTLIER_MADS * mad, 0.05e-6)
        if np.count_nonzero(keep) < 1 or not np.any(dd[keep] != 0):
            break
    return slowness, keep


def fit_wave_speed(
    events: Sequence[Hit] | Sequence[LocatedEvent],
    config: LocationConfig,
    positions: Sequence[KnownPosition],
) -> WaveSpeedFit:
    """Fit the wave speed to breaks at known positions.

    Args:
        events: The recording's multi-channel events (``HitGrouper.table``, whose arrival
            times may be cross-correlated), or its hits (any detector, all channels), which
            are then grouped here from their refined onsets.
        config: Sensor layout; its wave speed only sets the event window (use a guess
            within about ±20 %, or set ``window_us``).
        positions: Where and when the breaks were made.

    Raises:
        ConfigError: No break was hit on two sensors with a distance difference.
    """
    table = [e for e in events if isinstance(e, LocatedEvent)]
    if len(table) < len(events):
        table = group_hits([e for e in events if isinstance(e, Hit)], config)[1]
    per_event: list[tuple[int, dict[int, float]]] = []
    dd, dt = [], []
    for event in table:
        k = next((i for i, p in enumerate(positions) if p.start_s <= event.time_s < p.stop_s), None)
        if k is None:
            continue
        p = positions[k]
        arrivals = {ch: d * 1e-6 for ch, d in zip(event.channels, event.delays_us, strict=True)}
        sensors = [(config.sensor(ch), t) for ch, t in arrivals.items()]
        known = [(s, t) for s, t in sensors if s is not None]
        if len(known) < 2:
            continue
        per_event.append((k, {s.channel: t for s, t in known}))
        d_first = math.hypot(p.x_m - known[0][0].x_m, p.y_m - known[0][0].y_m)
        for s, t in known[1:]:
            dd.append(math.hypot(p.x_m - s.x_m, p.y_m - s.y_m) - d_first)
            dt.append(t - known[0][1])
    dd_a, dt_a = np.asarray(dd), np.asarray(dt)
    if dd_a.size == 0 or not np.any(dd_a != 0):
        raise ConfigError(
            "no break in the given stretches was hit on two sensors at different distances; "
            "check the --at times, the channels in the location file and the detector threshold"
        )
    slowness, keep = _fit_slowness(dd_a, dt_a)
    speed = 1.0 / slowness if slowness > 0 else math.nan
    residual = dt_a[keep] - slowness * dd_a[keep]
    fitted = dataclasses.replace(config, wave_speed_m_s=speed) if speed > 0 else config
    rows = []
    for k, p in enumerate(positions):
        located = [locate(a, fitted) for i, a in per_event if i == k]
        located = [loc for loc in located if math.isfinite(loc.x_m)]
        errors = [math.hypot(loc.x_m - p.x_m, loc.y_m - p.y_m) for loc in located]
        rows.append(
            PositionError(
                p,
                len(located),
                float(np.median([loc.x_m for loc in located])) if located else math.nan,
                float(np.median([loc.y_m for loc in located])) if located else math.nan,
                float(np.median(errors)) if errors else math.nan,
                max(errors, default=math.nan),
            )
        )
    return WaveSpeedFit(
        speed,
        int(np.count_nonzero(keep)),
        int(keep.size - np.count_nonzero(keep)),
        float(np.sqrt(np.mean(residual**2)) * 1e6) if residual.size else math.nan,
        rows,
    )


def wave_speed_table(result: WaveSpeedFit, config: LocationConfig) -> str:
    """A printable report of ``result``."""
    lines = [
        f"wave speed {result.wave_speed_m_s:.1f} m/s (was {config.wave_speed_m_s:g}); "
        f"{result.equations} arrival-time differences, {result.dropped} outliers dropped, "
        f"RMS residual {result.rms_residual_us:.3f} µs",
        f"{'known x_m':>10} {'known y_m':>10} {'breaks':>6} {'located x_m':>11} "
        f"{'located y_m':>11} {'median err mm':>13} {'max err mm':>10}",
    ]
    for row in result.positions:
        p = row.position
        lines.append(
            f"{p.x_m:10.4f} {p.y_m:10.4f} {row.breaks:6d} {row.x_m:11.4f} {row.y_m:11.4f} "
            f"{row.median_error_m * 1e3:13.2f} {row.max_error_m * 1e3:10.2f}"
        )
    return "\n".join(lines)
