"""``aemon sim``: its option defaults are the simulator's own."""

from __future__ import annotations

from aemon.commands.sim import SIM_DEFAULTS
from aemon.sim.simulator import SimConfig


def test_option_defaults_equal_the_simulator_defaults() -> None:
    config = SimConfig()
    for name, value in SIM_DEFAULTS.items():
        assert getattr(config, name) == value, name
