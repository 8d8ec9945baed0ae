"""Live numbers: the warm-up apart from the steady state, percentiles of the steady state
only, and × real time over a recent window (a manual clock stands for the wall)."""

from __future__ import annotations

import math

import pytest

from aemon.stream.live_stats import CAUGHT_UP_S, MAX_WARMUP_S, RECENT_S, LiveStats

RATE = 1_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_warm_up_ends_when_detection_first_keeps_up_and_its_latencies_stay_apart() -> None:
    clock = Clock()
    stats = LiveStats(RATE, clock)
    stats.start()
    stats.progress(0, 0)  # nothing done yet: not caught up, however small the lag
    stats.progress(200_000, 1000)  # the first blocks: small lag, before the first inference
    clock.now += 1.0
    stats.progress(400_000, int(4.0 * RATE))  # the first inference left 4 s of backlog
    stats.add_latencies([4000.0, 3500.0, 2500.0])
    assert math.isnan(stats.warmup_s) and math.isnan(stats.latency_ms()[0])
    clock.now += 2.2
    stats.progress(6_000_000, int(CAUGHT_UP_S * RATE))  # caught up
    assert stats.warmup_s == pytest.approx(3.2)
    stats.add_latencies([20.0 + i % 10 for i in range(200)])
    p50, p99 = stats.latency_ms()
    assert 20 <= p50 <= 29 and p99 <= 29  # the warm-up's seconds are not in the steady state
    assert stats.warmup_latency_max_ms() == 4000.0
    clock.now += 5.0
    stats.progress(9_000_000, int(3 * RATE))  # falling behind later is not a warm-up
    assert stats.warmup_s == pytest.approx(3.2)


def test_recent_realtime_factor_is_over_the_last_window_not_since_the_start() -> None:
    clock = Clock()
    stats = LiveStats(RATE, clock)
    assert math.isnan(stats.recent_realtime_factor(0))  # under a second: not known yet
    samples = 0
    for _ in range(30):  # 30 s at 0.5× real time
        clock.now += 1.0
        samples += int(0.5 * RATE)
        stats.recent_realtime_factor(samples)
    for _ in range(int(RECENT_S) + 1):  # then 11 s at 1×
        clock.now += 1.0
        samples += int(RATE)
        recent = stats.recent_realtime_factor(samples)
    assert recent == pytest.approx(1.0, abs=0.01)  # the running average would say 0.63


def test_a_detector_that_never_catches_up_ends_its_warm_up_after_a_while() -> None:
    clock = Clock()
    stats = LiveStats(RATE, clock)
    stats.start()
    clock.now += MAX_WARMUP_S - 1
    stats.progress(int(20 * RATE), int(3 * RATE))
    assert math.isnan(stats.warmup_s)
    clock.now += 1
    stats.progress(int(21 * RATE), int(3 * RATE))
    assert stats.warmup_s == MAX_WARMUP_S
