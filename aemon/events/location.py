"""Arrival-time source location: linear (sensors on a line) and planar (sensors on a plate).

Input is the first arrival time at each channel of one multi-channel event
(:mod:`aemon.events.grouping` builds them); the sensor layout and wave speed come from a
:class:`~aemon.events.location_config.LocationConfig`.

* **Linear.** The source lies between the first-hit sensor and one of its neighbours on the
  line; with ``a`` left of ``b``: ``x = (x_a + x_b)/2 + v·(t_a − t_b)/2``. The neighbour on
  the far side sees the wave only after it passed the first-hit sensor, so its pair locates
  at that sensor; the pair whose estimate lies farther from it is the source's side. A
  source outside the pair gives ``|t_a − t_b| = (x_b − x_a)/v`` and so locates at the
  sensor, which is why the default gauge interval is inset from the sensors. Uncertainty:
  ``v/2 · √2 · σ_onset``.
* **Planar.** Geiger's method: Gauss-Newton (``scipy.optimize.least_squares``, Levenberg-
  Marquardt) for ``(x, y, t0)`` in ``t_i = t0 + |p − s_i|/v`` over every hit sensor, from two
  starting points; the residual is the RMS of the arrival-time misfit (µs).

Every result has a status: ``inside`` / ``outside`` the gauge region, ``guard`` (first hit on
a guard sensor: rejected, whatever the position), or ``unlocated`` (too few hits, no
solution, or a residual above the configured maximum).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.events.location_config import LocationConfig, Sensor

logger = logging.getLogger(__name__)

INSIDE = "inside"
OUTSIDE = "outside"
GUARD = "guard"
UNLOCATED = "unlocated"
STATUSES = (INSIDE, OUTSIDE, GUARD, UNLOCATED)
"""Values of ``location_status`` for events that went through location ("" otherwise)."""


class Location(NamedTuple):
    """The located position of one event.

    Attributes:
        x_m: Position x (m); NaN when unlocated.
        y_m: Position y (m); 0 for linear location, NaN when unlocated.
        uncertainty_m: 1-sigma position error (m) implied by the onset uncertainty.
        residual_us: RMS arrival-time misfit (µs) of the solution over every hit sensor.
        status: One of :data:`STATUSES`.
    """

    x_m: float = math.nan
    y_m: float = math.nan
    uncertainty_m: float = math.nan
    residual_us: float = math.nan
    status: str = UNLOCATED


def _hits(arrivals: Mapping[int, float], config: LocationConfig) -> list[tuple[float, Sensor]]:
    """(arrival s, sensor) of every channel that has a sensor, earliest first."""
    found = [(float(t), s) for ch, t in arrivals.items() if (s := config.sensor(ch)) is not None]
    return sorted(found, key=lambda h: (h[0], h[1].channel))


def _rms_residual_us(hits: list[tuple[float, Sensor]], x: float, y: float, v: float) -> float:
    """RMS (µs) of ``t_i − t0 − d_i/v`` with the best ``t0`` (their mean)."""
    misfit = np.array([t - math.hypot(x - s.x_m, y - s.y_m) / v for t, s in hits])
    return float(np.sqrt(np.mean((misfit - misfit.mean()) ** 2)) * 1e6)


def locate_linear(arrivals: Mapping[int, float], config: LocationConfig) -> Location:
    """Locate on a line from first arrival times.

    Args:
        arrivals: Channel → first arrival time (s, any common origin).
        config: Sensors (their ``x_m``) and wave speed.

    Returns:
        The location; ``unlocated`` when neither neighbour of the first-hit sensor was hit.
    """
    hits = _hits(arrivals, config)
    if not hits:
        return Location()
    t_first, first = hits[0]
    by_x = sorted(config.sensors, key=lambda s: s.x_m)
    index = by_x.index(first)
    times = {s.channel: t for t, s in hits}
    neighbours = [by_x[i] for i in (index - 1, index + 1) if 0 <= i < len(by_x)]
    reached = [(times[s.channel], s) for s in neighbours if s.channel in times]
    if not reached:
        return Location(status=GUARD if first.guard else UNLOCATED)
    v = config.wave_speed_m_s
    # With the source on one side of the first-hit sensor, the neighbour on the other side
    # sees the wave only after it passed that sensor: its pair locates at the sensor itself.
    # The pair on the source's side locates farther from it, so take the farthest estimate.
    candidates = []
    for t_next, partner in reached:
        (t_a, a), (t_b, b) = sorted([(t_first, first), (t_next, partner)], key=lambda h: h[1].x_m)
        candidates.append((a.x_m + b.x_m) / 2 + v * (t_a - t_b) / 2)
    x = max(candidates, key=lambda c: abs(c - first.x_m))
    residual = _rms_residual_us(hits, x, 0.0, v) if len(hits) > 2 else 0.0
    if first.guard:
        status = GUARD
    else:
        low, high = config.gauge_interval_m
        status = INSIDE if low <= x <= high else OUTSIDE
    return Location(x, 0.0, config.linear_uncertainty_m, residual, status)


def _planar_fit(
    times_us: npt.NDArray[np.float64], pos: npt.NDArray[np.float64], v_m_us: float,
    start: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], bool]:  # fmt: skip
    """Least squares for (x, y, t0): returns the solution, its Jacobian and success."""

    def misfit(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        d = np.hypot(p[0] - pos[:, 0], p[1] - pos[:, 1])
        return np.asarray(times_us - p[2] - d / v_m_us)

    def jacobian(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        d = np.maximum(np.hypot(p[0] - pos[:, 0], p[1] - pos[:, 1]), 1e-9)
        jac = np.empty((pos.shape[0], 3))
        jac[:, 0] = -(p[0] - pos[:, 0]) / d / v_m_us
        jac[:, 1] = -(p[1] - pos[:, 1]) / d / v_m_us
        jac[:, 2] = -1.0
        return jac

    from scipy.optimize import least_squares  # slow to import (~1 s); only when locating

    result = least_squares(misfit, start, jac=jacobian, method="lm", xtol=1e-12, ftol=1e-12)
    return np.asarray(result.x), np.asarray(result.jac), bool(result.success)


def locate_planar(arrivals: Mapping[int, float], config: LocationConfig) -> Location:
    """Locate on a plate (Geiger's method) from first arrival times.

    Args:
        arrivals: Channel → first arrival time (s, any common origin).
        config: Sensors (``x_m``, ``y_m``) and wave speed.

    Returns:
        The location; ``unlocated`` with fewer than 3 hit sensors, without a solution, or
        with a residual above ``config.max_residual_us``.
    """
    hits = _hits(arrivals, config)
    if len(hits) < 3:
        return Location(status=GUARD if hits and hits[0][1].guard else UNLOCATED)
    t0 = hits[0][0]
    times_us = np.array([(t - t0) * 1e6 for t, _ in hits])
    pos = np.array([(s.x_m, s.y_m) for _, s in hits])
    v_m_us = config.wave_speed_m_s * 1e-6
    centre = pos.mean(axis=0)
    best: tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None
    for xy in (centre, 0.7 * pos[0] + 0.3 * centre):
        start = np.array([xy[0], xy[1], -math.hypot(*(xy - pos[0])) / v_m_us])
        solution, jac, ok = _planar_fit(times_us, pos, v_m_us, start)
        if not ok or not np.all(np.isfinite(solution)):
            continue
        cost = _rms_residual_us(hits, float(solution[0]), float(solution[1]), config.wave_speed_m_s)
        if best is None or cost < best[0]:
            best = (cost, solution, jac)
    if best is None:
        return Location(status=GUARD if hits[0][1].guard else UNLOCATED)
    residual, solution, jac = best
    x, y = float(solution[0]), float(solution[1])
    try:
        cov = np.linalg.inv(jac.T @ jac) * config.onset_uncertainty_us**2
        uncertainty = math.sqrt(max(float(cov[0, 0] + cov[1, 1]), 0.0))
    except np.linalg.LinAlgError:
        uncertainty = math.inf
    if hits[0][1].guard:
        status = GUARD
    elif config.max_residual_us is not None and residual > config.max_residual_us:
        status = UNLOCATED
    else:
        (x_lo, x_hi), (y_lo, y_hi) = config.gauge_box_m
        status = INSIDE if x_lo <= x <= x_hi and y_lo <= y <= y_hi else OUTSIDE
    return Location(x, y, uncertainty, residual, status)


def locate(arrivals: Mapping[int, float], config: LocationConfig) -> Location:
    """Locate with the config's mode (:func:`locate_linear` or :func:`locate_planar`)."""
    if config.mode == "planar":
        return locate_planar(arrivals, config)
    return locate_linear(arrivals, config)
