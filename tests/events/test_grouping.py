"""Multi-channel events: windowing, hold for late hits, location columns, cross-correlation
of arrival times, the only-inside filter, and the wave-speed calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aemon.events.calibration import KnownPosition, calibrate
from aemon.events.event import Event
from aemon.events.grouping import HitGrouper, LocatingWriter, group_hits, only_inside
from aemon.events.location import INSIDE, OUTSIDE, UNLOCATED
from aemon.events.location_config import LocationConfig, Sensor
from aemon.sim.geometry import delayed

RATE = 1_562_500.0
V = 5000.0
BAR = LocationConfig((Sensor(0, 0.0), Sensor(1, 0.2)), V, window_us=50.0, hold_s=0.01)


def hit(t: float, channel: int) -> Event:
    nan = math.nan
    return Event(
        t, "", round(t * RATE), channel, "hit", 1.0, "test", t, 10.0, 1e-4, 40.0, 1.0, 3,
        1.0, 1e-5, 1.0, 150.0, 150.0, nan, nan, nan, nan,
    )  # fmt: skip


class ListSink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def write(self, events):
        events = list(events)
        self.events += events
        return len(events)


def test_hits_just_inside_the_window_join_and_just_outside_open_a_new_event() -> None:
    window = 50e-6
    hits = [hit(1.0, 0), hit(1.0 + window - 1e-9, 1), hit(2.0, 0), hit(2.0 + window + 1e-7, 1)]
    located, table = group_hits(hits, BAR)
    assert [e.event_id for e in located] == [0, 0, 1, 2]
    assert [t.hits for t in table] == [2, 1, 1]
    assert table[0].first_channel == 0 and table[0].channels == (0, 1)
    assert table[0].delays_us[1] == pytest.approx(50.0, abs=1e-3)
    # Events 1 and 2 have a single hit each: not locatable.
    assert [e.location_status for e in located[2:]] == [UNLOCATED, UNLOCATED]


def test_window_is_measured_from_the_first_hit_not_chained() -> None:
    grouper = HitGrouper(None, window_s=10e-6)
    out = grouper.push([hit(1.0, 0), hit(1.0 + 8e-6, 1), hit(1.0 + 16e-6, 2)])
    out += grouper.flush()
    assert [e.event_id for e in out] == [0, 0, 1]
    assert all(e.location_status == "" and math.isnan(e.x_m) for e in out)


def test_group_locates_and_every_hit_carries_the_location() -> None:
    x = 0.05
    t0 = 3.0
    hits = [hit(t0 + (0.2 - x) / V, 1), hit(t0 + x / V, 0), hit(t0 + x / V + 30e-6, 0)]
    located, table = group_hits(hits, BAR)
    assert len(located) == 3 and {e.event_id for e in located} == {0}
    assert [e.channel for e in located] == [0, 1, 0]  # by onset
    # The repeat hit on channel 0 is linked but is not its arrival.
    assert table[0].channels == (0, 1) and table[0].hits == 3
    for e in located:
        # onsets are whole samples: 0.64 µs → 1.6 mm at most
        assert e.x_m == pytest.approx(x, abs=2e-3)
        assert e.location_status == INSIDE and e.y_m == 0.0


def test_live_grouping_holds_events_until_window_plus_hold_has_passed() -> None:
    grouper = HitGrouper(BAR)
    assert grouper.push([hit(1.0, 0)], until_s=1.0 + 50e-6 + 0.005) == []
    # The other channel's hit arrives late (out of order) but within the hold.
    assert grouper.push([hit(1.0 + 20e-6, 1)], until_s=1.0 + 50e-6 + 0.009) == []
    done = grouper.push([], until_s=1.0 + 50e-6 + 0.0101)
    assert [e.channel for e in done] == [0, 1] and grouper.pending == 0
    assert done[0].location_status == INSIDE


def test_locating_writer_filters_to_inside() -> None:
    sink = ListSink()
    inside = [hit(1.0 + 0.05 / V, 0), hit(1.0 + 0.15 / V, 1)]
    outside = [hit(2.0, 0), hit(2.0 + 0.2 / V, 1)]  # grip side of sensor 0
    with LocatingWriter(sink, HitGrouper(BAR), only_inside=True) as out:
        out.write(inside + outside)
    assert [e.location_status for e in sink.events] == [INSIDE, INSIDE]
    assert out.rows == 2
    _, table = group_hits(inside + outside, BAR)
    assert [t.location.status for t in table] == [INSIDE, OUTSIDE]
    assert only_inside(group_hits(outside, BAR)[0]) == []


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


def test_calibration_recovers_the_wave_speed_and_reports_errors() -> None:
    rng = np.random.default_rng(1)
    guess = LocationConfig((Sensor(0, 0.0), Sensor(1, 0.2)), 4300.0, window_us=60.0)
    positions = [KnownPosition(0, 10, 0.03), KnownPosition(10, 20, 0.16)]
    hits = []
    for p in positions:
        for k in range(8):
            t0 = p.start_s + 1 + k
            for ch, s in ((0, 0.0), (1, 0.2)):
                hits.append(hit(t0 + abs(p.x_m - s) / V + rng.normal(0, 0.1e-6), ch))
    result = calibrate(hits, guess, positions)
    assert result.wave_speed_m_s == pytest.approx(V, rel=0.01)
    assert [row.breaks for row in result.positions] == [8, 8]
    assert all(row.median_error_m < 1e-3 for row in result.positions)
