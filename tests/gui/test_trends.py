"""Trend accumulators without Qt."""

from __future__ import annotations

import numpy as np
import pytest

from aemon.gui.trends import TREND_KINDS, TrendAccumulator

from .test_hit_table import event


def test_rate_cumulative_amplitude_energy_per_channel_and_type() -> None:
    trends = TrendAccumulator(bin_s=1.0)
    events = [event(i, 40 + i) for i in range(30)]  # 0.1 s apart, channels 0/1 alternating
    events += [event(5, 70, "high")._replace(time_s=2.5, energy_eu=7.0)]
    trends.add(reversed(events))  # out of order on purpose
    assert trends.keys() == [(0, "low"), (1, "high"), (1, "low")]
    t, rate = trends.hit_rate((0, "low"))
    assert t.tolist() == [0.0, 1.0, 2.0] and rate.tolist() == [5.0, 5.0, 5.0]
    t, cum = trends.cumulative((1, "low"))
    assert np.all(np.diff(t) > 0) and cum[-1] == 15
    t, amp = trends.amplitude((0, "low"))
    assert amp[0] == 40 and amp[-1] == 68
    t, energy = trends.energy((1, "high"))
    assert t.tolist() == [2.5] and energy.tolist() == [7.0]
    for kind in TREND_KINDS:
        assert len(trends.curve(kind, (0, "low"))[0]) > 0
    with pytest.raises(ValueError):
        trends.curve("nonsense", (0, "low"))
    version = trends.version
    trends.clear()
    assert trends.version > version and trends.keys() == []


def test_rows_grouped_by_label_match_events_grouped_one_by_one() -> None:
    from aemon.io.event_csv import events_to_array

    events = [event(i, 40 + i, "low" if i % 3 else "high") for i in range(40)]
    groups = [i % 4 - 1 for i in range(40)]  # -1 (not clustered), 0, 1, 2
    one_by_one, vectorised = TrendAccumulator(), TrendAccumulator()
    one_by_one.add(events, groups)
    version = vectorised.version
    assert vectorised.add_rows(events_to_array(events), groups) == 40
    assert vectorised.version > version
    curves = one_by_one.keys()
    assert vectorised.keys() == curves and (-1, "high") in curves
    for key in curves:
        for kind in TREND_KINDS:
            for a, b in zip(vectorised.curve(kind, key), one_by_one.curve(kind, key), strict=True):
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("span_s", "bin_s"), [(0.0, 0.01), (1.0, 0.02), (59.0, 1.0), (600.0, 10.0), (3600.0, 60.0)]
)
def test_automatic_rate_bins_give_a_curve_for_any_span(span_s: float, bin_s: float) -> None:
    trends = TrendAccumulator()
    times = np.linspace(0.0, span_s, 200)
    trends.add(event(0, 50)._replace(time_s=float(t)) for t in times)
    assert trends.rate_bin_s() == bin_s
    t, rate = trends.hit_rate((0, "low"))
    assert len(t) == int(span_s // bin_s) + 1 and len(t) <= 61
    assert rate.sum() * bin_s == pytest.approx(200)  # every event counted once
    assert np.all(np.diff(t) == pytest.approx(bin_s))


def test_automatic_bins_follow_the_latest_event_of_any_curve() -> None:
    trends = TrendAccumulator()
    trends.add([event(0, 50)._replace(time_s=0.5), event(1, 50)._replace(time_s=120.0)])
    assert trends.rate_bin_s() == 2.0
    t, rate = trends.hit_rate((0, "low"))
    assert t[1] - t[0] == 2.0 and rate[0] == 0.5
    with pytest.raises(ValueError):
        TrendAccumulator(bin_s=0.0)
