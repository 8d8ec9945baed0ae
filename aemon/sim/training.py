"""The simulator as training sees it: more hard negatives than the default simulator."""

from __future__ import annotations

import logging

from aemon.sim.bursts import band_scale
from aemon.sim.simulator import SimConfig

logger = logging.getLogger(__name__)

__all__ = ["training_sim_config"]


def training_sim_config(sample_rate_hz: float) -> SimConfig:
    """The :class:`SimConfig` of the training's simulator source at ``sample_rate_hz`` (Hz).

    Friction episodes and spikes are five and ten times more frequent than in the default
    simulator, so the detector sees enough hard negatives. Below 1.5625 MHz the simulator
    stretches friction episodes (not spikes) by the band scale; both rates are scaled down with
    it so disturbances occupy the same share of samples at every rate.
    """
    scale = band_scale(sample_rate_hz)
    return SimConfig(
        sample_rate_hz=sample_rate_hz, friction_rate_hz=10.0 * scale, spike_rate_hz=50.0 * scale
    )
