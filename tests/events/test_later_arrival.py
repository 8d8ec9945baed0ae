"""The second look at a neural detection's onset: a burst's arrival after an early pick."""

from __future__ import annotations

import numpy as np
import pytest

from aemon.events.hit import Detection, HitBuilder
from aemon.events.later_arrival import REACH_US, later_arrival

RATE = 1_562_500.0
US = RATE * 1e-6


def _burst_after_noise(rng: np.random.Generator, arrival: int, n: int) -> np.ndarray:
    """White noise (RMS 1) with a ringing burst 20 dB over it from ``arrival`` on."""
    x = rng.standard_normal(n)
    t = np.arange(n - arrival) / RATE
    x[arrival:] += 10 * np.sqrt(2) * np.exp(-t / 200e-6) * np.sin(2 * np.pi * 300e3 * t)
    return x


@pytest.mark.parametrize("seed", range(5))
def test_a_pick_in_the_noise_moves_on_to_the_arrival(seed: int) -> None:
    rng = np.random.default_rng(seed)
    arrival = int(300 * US)
    x = _burst_after_noise(rng, arrival, int(800 * US))
    early = arrival - int(rng.uniform(110, 220) * US)  # where the machine's ring was picked
    run_start = arrival - int((REACH_US - 100) * US)  # the search reaches 100 µs past it
    moved = later_arrival(x, early, run_start, RATE)
    assert abs(moved - arrival) <= 4 * US


@pytest.mark.parametrize("seed", range(5))
def test_a_pick_at_the_arrival_stays(seed: int) -> None:
    rng = np.random.default_rng(seed)
    arrival = int(300 * US)
    x = _burst_after_noise(rng, arrival, int(800 * US))
    assert later_arrival(x, arrival, arrival, RATE) == arrival


def test_noise_alone_keeps_the_pick() -> None:
    x = np.random.default_rng(1).standard_normal(int(600 * US))
    pick = int(150 * US)
    assert later_arrival(x, pick, pick, RATE) == pick


def test_no_arrival_within_reach_keeps_the_pick() -> None:
    rng = np.random.default_rng(2)
    arrival = int(500 * US)
    x = _burst_after_noise(rng, arrival, int(900 * US))
    pick = int(150 * US)
    run_start = arrival - int((REACH_US + 50) * US)  # the search ends 50 µs before it
    assert later_arrival(x, pick, run_start, RATE) == pick


def test_a_neural_run_that_starts_early_is_built_at_the_arrival() -> None:
    """The run starts 150 µs before the burst, beyond the AIC window (50 µs after its start):
    the built hit's onset is the burst's, while the classifier's pick stays the window's."""
    rng = np.random.default_rng(7)
    arrival = int(2000 * US)
    x = _burst_after_noise(rng, arrival, int(3000 * US)) * 1e-3
    builder = HitBuilder(RATE)
    run = Detection(0, "burst", arrival - int(150 * US), arrival + int(400 * US), 0.9)
    window_pick = builder.refined_onset(run, x[None, :], 0)
    assert window_pick < arrival - 100 * US  # the AIC window alone cannot reach the burst
    hit = builder.build(run, x[None, :], 0, detector="nn")
    assert abs(hit.sample_index - arrival) <= 4 * US
    # a threshold hit keeps its window pick: it starts where its threshold was crossed
    crossed = builder.build(run, x[None, :], 0, detector="thr", threshold_v=5e-3)
    assert crossed.sample_index == window_pick
    assert REACH_US > 150
