"""Arrival-time differences by cross-correlation: sub-sample delays from rough onsets, and the
arrival on a sensor that reported no hit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aemon.dsp.raw_history import RawHistory
from aemon.events.arrival import refine_delay
from aemon.events.grouping import HitGrouper
from aemon.events.hit import Hit
from aemon.events.location_config import LocationConfig, Sensor
from aemon.sim.geometry import delayed

RATE = 1_562_500.0
V = 5000.0
BAR = LocationConfig((Sensor(0, 0.0), Sensor(1, 0.2)), V, window_us=50.0, hold_s=0.01)


def hit(t: float, channel: int) -> Hit:
    nan = math.nan
    return Hit(
        t, "", round(t * RATE), channel, "hit", 1.0, "test", t, 10.0, 1e-4, 40.0, 1.0, 3,
        1.0, 1e-5, 1.0, 150.0, 150.0, nan, nan, nan, nan,
    )  # fmt: skip


def burst(rng: np.random.Generator, n: int = 400) -> np.ndarray:
    t = np.arange(n) / RATE
    envelope = np.sin(np.pi / 2 * np.clip(t / 5e-6, 0, 1)) ** 2 * np.exp(-t / 60e-6)
    return envelope * (np.sin(2 * np.pi * 420e3 * t) + 0.6 * np.sin(2 * np.pi * 230e3 * t + 1))


@pytest.mark.parametrize("x", [0.031, 0.1, 0.187])
def test_cross_correlation_recovers_sub_sample_delays(x: float) -> None:
    rng = np.random.default_rng(7)
    n = 20_000
    signal = rng.normal(0, 1e-3, (2, n))
    wave = burst(rng)
    emission = 5000.3
    onsets = {}
    for ch, d in ((0, x), (1, 0.2 - x)):
        arrival = emission + d / V * RATE
        start = math.floor(arrival)
        shaped = delayed(wave, arrival - start) * (1.0 if ch == 0 else 0.7)
        signal[ch, start : start + shaped.size] += shaped
        onsets[ch] = round(arrival) + (3 if ch == 1 else -2)  # onset errors of a few samples
    hits = [hit(s / RATE, ch) for ch, s in onsets.items()]
    plain = HitGrouper(BAR)
    refined = HitGrouper(BAR, sample_rate_hz=RATE)
    refined.add_signal(0, signal.astype(np.float32))
    rough = (plain.push(hits) + plain.flush())[0].x_m
    fine = (refined.push(hits) + refined.flush())[0].x_m
    assert abs(rough - x) > 2e-3  # the onset errors move the AIC estimate by millimetres
    assert fine == pytest.approx(x, abs=0.3e-3)


def test_cross_correlation_finds_the_arrival_on_a_sensor_without_a_hit() -> None:
    rng = np.random.default_rng(8)
    signal = rng.normal(0, 1e-3, (2, 20_000))
    wave = burst(rng)
    signal[0, 5000 : 5000 + wave.size] += wave
    signal[1, 5025 : 5025 + wave.size] += 0.5 * wave  # 16 µs later, no hit reported
    grouper = HitGrouper(BAR, sample_rate_hz=RATE)
    grouper.add_signal(0, signal)
    located = grouper.push([hit(5000 / RATE, 0)]) + grouper.flush()
    expected = 0.1 + V * (-25 / RATE) / 2
    assert located[0].x_m == pytest.approx(expected, abs=0.3e-3)
    assert grouper.table[0].channels == (0, 1)


def test_no_delay_is_refined_without_the_samples_of_both_channels() -> None:
    rng = np.random.default_rng(3)
    signal = rng.normal(0, 1e-3, (2, 4000))
    wave = burst(rng)
    signal[0, 1000 : 1000 + wave.size] += wave
    signal[1, 1010 : 1010 + wave.size] += wave
    history = RawHistory(keep=4000)
    history.append(0, signal)
    found = refine_delay(history, (0, 1000), 1, lo=-40, hi=40, length=64)
    assert found == pytest.approx(10, abs=0.2)
    assert refine_delay(history, (0, 1000), 2, lo=-40, hi=40, length=64) is None  # no channel 2
    assert refine_delay(history, (0, 3990), 1, lo=-40, hi=40, length=64) is None  # not yet seen
    history.drop_before(1000)
    assert refine_delay(history, (0, 1000), 1, lo=-40, hi=40, length=64) is None  # forgotten
