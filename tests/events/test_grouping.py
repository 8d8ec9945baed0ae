"""Multi-channel events: windowing, hold for late hits, location columns, the only-inside
filter."""

from __future__ import annotations

import math

import pytest

from aemon.events.grouping import HitGrouper, LocatingWriter, group_hits, only_inside
from aemon.events.hit import Hit
from aemon.events.location import INSIDE, OUTSIDE, UNLOCATED
from aemon.events.location_config import LocationConfig, Sensor

RATE = 1_562_500.0
V = 5000.0
BAR = LocationConfig((Sensor(0, 0.0), Sensor(1, 0.2)), V, window_us=50.0, hold_s=0.01)


def hit(t: float, channel: int) -> Hit:
    nan = math.nan
    return Hit(
        t, "", round(t * RATE), channel, "hit", 1.0, "test", t, 10.0, 1e-4, 40.0, 1.0, 3,
        1.0, 1e-5, 1.0, 150.0, 150.0, nan, nan, nan, nan,
    )  # fmt: skip


class ListSink:
    def __init__(self) -> None:
        self.events: list[Hit] = []

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
