"""Probability map → detections (hysteresis, minimum duration, merge gap, streaming) and
detections → events (AIC onset refinement, timing, units, features)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from aemon.errors import ConfigError
from aemon.events.features import dbae_to_volts, hit_features
from aemon.events.hit import Detection, Hit, HitBuilder
from aemon.events.segmentation import MapSegmenter, map_to_detections
from aemon.sim.simulator import AESimulator, SimBlock, SimConfig
from aemon.types import ChannelInfo, StreamFormat
from aemon.utc import parse_utc

RATE = 1_562_500.0
BIN = 16  # samples per map bin: 10.24 µs at 1.5625 MHz
BIN_US = BIN / RATE * 1e6


def _runs(p: Any, **options: Any) -> list[tuple[int, int, float]]:
    dets = map_to_detections(np.atleast_2d(p), ["burst"], BIN, RATE, **options)
    return [(d.start_sample // BIN, d.stop_sample // BIN, round(d.score, 3)) for d in dets]


def test_hysteresis_opens_at_on_and_closes_below_off() -> None:
    p = [0, 0.4, 0.6, 0.45, 0.35, 0.2, 0, 0.4, 0.45, 0.1, 0.7, 0.2]
    # Bins 1-4 stay >= off=0.3 and reach on=0.5; bins 7-8 never reach on; bin 10 does.
    assert _runs(p, on=0.5, off=0.3) == [(1, 5, 0.6), (10, 11, 0.7)]
    # Without hysteresis only the bins >= on count.
    assert _runs(p, on=0.5) == [(2, 3, 0.6), (10, 11, 0.7)]


def test_min_duration_drops_short_runs() -> None:
    p = np.zeros(40)
    p[5:7] = 0.9  # 2 bins
    p[20:25] = 0.8  # 5 bins
    assert _runs(p, min_duration_us=3 * BIN_US) == [(20, 25, 0.8)]
    assert _runs(p, min_duration_us=2 * BIN_US) == [(5, 7, 0.9), (20, 25, 0.8)]


def test_merge_gap_joins_close_runs_before_the_duration_test() -> None:
    p = np.zeros(40)
    p[5:7] = 0.9
    p[9:11] = 0.8  # gap of 2 bins
    p[14:16] = 0.7  # gap of 3 bins
    assert _runs(p, merge_gap_us=2 * BIN_US) == [(5, 11, 0.9), (14, 16, 0.7)]
    assert _runs(p, merge_gap_us=3 * BIN_US) == [(5, 16, 0.9)]
    assert _runs(p) == [(5, 7, 0.9), (9, 11, 0.8), (14, 16, 0.7)]
    # Merged runs are long enough, the lone run is not.
    assert _runs(p, merge_gap_us=2 * BIN_US, min_duration_us=4 * BIN_US) == [(5, 11, 0.9)]


def test_detections_carry_absolute_samples_channel_and_class() -> None:
    p = np.zeros((2, 20))
    p[0, 3:6] = 0.8
    p[1, 10:12] = 0.6
    dets = map_to_detections(p, ["low", "high"], BIN, RATE, first_sample=1000, channel=2)
    assert dets == [
        Detection(2, "low", 1000 + 3 * BIN, 1000 + 6 * BIN, 0.8),
        Detection(2, "high", 1000 + 10 * BIN, 1000 + 12 * BIN, 0.6),
    ]


def test_any_class_mode_types_a_run_by_its_most_probable_class() -> None:
    p = np.zeros((2, 20))
    p[0, 3:8] = 0.6
    p[1, 5:7] = 0.9  # overlaps class 0; stronger
    per_class = map_to_detections(p, ["low", "high"], BIN, RATE)
    assert [(d.type, d.start_sample // BIN) for d in per_class] == [("low", 3), ("high", 5)]
    merged = map_to_detections(p, ["low", "high"], BIN, RATE, per_class=False)
    assert merged == [Detection(0, "high", 3 * BIN, 8 * BIN, 0.9)]


@pytest.mark.parametrize("per_class", [True, False])
def test_streaming_gives_the_same_runs_whatever_the_split(per_class: bool) -> None:
    rng = np.random.default_rng(7)
    p = np.clip(rng.normal(0.0, 0.25, (2, 3000)).cumsum(axis=1) % 1.3 - 0.15, 0, 1)
    options: dict[str, Any] = dict(
        on=0.6, off=0.4, min_duration_us=3 * BIN_US, merge_gap_us=4 * BIN_US
    )
    whole = map_to_detections(p, ["a", "b"], BIN, RATE, per_class=per_class, **options)
    assert len(whole) > 20
    seg = MapSegmenter(["a", "b"], BIN, RATE, per_class=per_class, **options)
    got = []
    cuts = np.sort(rng.choice(np.arange(1, p.shape[1]), 60, replace=False))
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, p.shape[1]], strict=True):
        got += seg.push(int(lo) * BIN, p[:, lo:hi])
    got += seg.flush()
    key = lambda d: (d.start_sample, d.type)  # noqa: E731
    assert sorted(got, key=key) == sorted(whole, key=key)


def test_a_jump_in_the_map_ends_open_runs() -> None:
    seg = MapSegmenter(["burst"], BIN, RATE, merge_gap_us=100 * BIN_US)
    assert seg.push(0, np.full((1, 10), 0.9)) == []  # still open
    out = seg.push(50 * BIN, np.full((1, 5), 0.9))  # not contiguous: 10 -> 50
    assert out == [Detection(0, "burst", 0, 10 * BIN, 0.9)]
    assert seg.flush() == [Detection(0, "burst", 50 * BIN, 55 * BIN, 0.9)]


def test_bad_map_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="off <= on"):
        MapSegmenter(["a"], BIN, RATE, on=0.3, off=0.5)
    with pytest.raises(ConfigError, match="map must be"):
        MapSegmenter(["a"], BIN, RATE).push(0, np.zeros((2, 4)))


# -- HitBuilder -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim_block() -> SimBlock:
    config = SimConfig(seed=3, burst_rate_hz=40.0, friction_rate_hz=0.0, spike_rate_hz=0.0)
    return AESimulator(config).render(int(RATE * 0.4))


def test_aic_refines_a_late_or_early_onset_to_the_true_one(sim_block: SimBlock) -> None:
    builder = HitBuilder(RATE)
    bursts = [b for b in sim_block.bursts if b.snr_db > 25]
    assert len(bursts) >= 5
    for burst in bursts:
        for shift in (-40, 30):
            det = Detection(0, "burst", burst.onset_sample + shift, burst.end_sample, 0.9)
            event = builder.build(det, sim_block.samples, 0, detector="nn")
            assert abs(event.sample_index - burst.onset_sample) <= 8, (burst, shift)
            assert event.onset_s == pytest.approx((burst.onset_sample + shift) / RATE)
            # the onset a second look judges before building is the built event's
            assert builder.refined_onset(det, sim_block.samples, 0) == event.sample_index
            first = 1000  # and in a block that starts later
            if det.start_sample - first >= builder.aic_pre:
                block = sim_block.samples[:, first:]
                built = builder.build(det, block, first, detector="nn")
                assert built.sample_index == event.sample_index
                assert builder.refined_onset(det, block, first) == built.sample_index


def test_event_timing_is_relative_to_the_start_and_in_utc(sim_block: SimBlock) -> None:
    start = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    first = 10_000_000
    builder = HitBuilder(RATE, first_sample=first, start_time_utc="2024-05-01T12:00:00Z")
    burst = sim_block.bursts[2]
    det = Detection(0, "burst", first + burst.onset_sample, first + burst.end_sample, 0.75)
    event = builder.build(det, sim_block.samples, first, detector="inception-s")
    assert event.time_s == pytest.approx((event.sample_index - first) / RATE)
    expected = start + timedelta(seconds=event.time_s)
    assert parse_utc(event.utc) == expected.replace(microsecond=expected.microsecond)
    assert event.utc.endswith("Z")
    assert (event.channel, event.type, event.score, event.detector) == (
        0,
        "burst",
        0.75,
        "inception-s",
    )
    assert HitBuilder(RATE).build(det, sim_block.samples, first, detector="x").utc == ""


def test_event_features_equal_the_features_of_the_detected_span(sim_block: SimBlock) -> None:
    """A neural detection is measured from its onset to its end, not between two crossings."""
    burst = max(sim_block.bursts, key=lambda b: b.snr_db)
    builder = HitBuilder(RATE, threshold_dbae=40.0)
    det = Detection(0, "burst", burst.onset_sample, burst.end_sample, 1.0)
    event = builder.build(det, sim_block.samples, 0, detector="nn")
    start = min(event.sample_index, burst.onset_sample)
    x = sim_block.samples[0, start : burst.end_sample]
    f = hit_features(x, RATE, dbae_to_volts(40.0), whole_span=True)
    assert event.duration_us == pytest.approx((burst.end_sample - start) / RATE * 1e6)
    assert event.amplitude_V == pytest.approx(f.amplitude_v)
    assert event.amplitude_dBAE == pytest.approx(burst.snr_db + 20.0, abs=1.0)  # 10 µV noise
    assert event.counts == f.counts > 0
    assert event.duration_us == pytest.approx(f.duration_us)
    assert event.rise_time_us == pytest.approx(f.rise_time_us)
    assert event.energy_eu == pytest.approx(f.energy_eu)
    assert event.peak_freq_kHz == pytest.approx(f.peak_freq_khz)
    assert (event.pp1_pct, event.pp4_pct) == pytest.approx(
        (f.partial_powers_pct[0], f.partial_powers_pct[3])
    )


def test_counts_with_gain_are_referred_to_the_sensor(sim_block: SimBlock) -> None:
    burst = max(sim_block.bursts, key=lambda b: b.snr_db)
    det = Detection(0, "burst", burst.onset_sample, burst.end_sample, 1.0)
    volts = HitBuilder(RATE, threshold_dbae=40.0).build(det, sim_block.samples, 0, detector="nn")
    # The same signal through a 20 dB preamplifier and a 16-bit ADC at 10 µV per count.
    vpc = 10e-6
    counts = np.round(sim_block.samples * 10.0 / vpc).astype(np.int16)
    fmt = StreamFormat(RATE, 1, "int16", vpc)
    builder = HitBuilder.for_stream(fmt, [ChannelInfo("ch1", gain_db=20.0)], threshold_dbae=40.0)
    adc = builder.build(det, counts, 0, detector="nn")
    assert adc.amplitude_dBAE == pytest.approx(volts.amplitude_dBAE, abs=0.1)
    assert adc.energy_eu == pytest.approx(volts.energy_eu, rel=0.01)
    assert abs(adc.sample_index - volts.sample_index) <= 1


def test_noise_threshold_follows_the_signal_scale(sim_block: SimBlock) -> None:
    burst = sim_block.bursts[0]
    det = Detection(0, "burst", burst.onset_sample, burst.end_sample, 1.0)
    builder = HitBuilder(RATE, threshold_x_noise=5.0)
    a = builder.build(det, sim_block.samples, 0, detector="nn")
    b = builder.build(det, sim_block.samples * 1e3, 0, detector="nn")
    assert (a.counts, a.duration_us, a.sample_index) == (b.counts, b.duration_us, b.sample_index)
    assert b.amplitude_dBAE == pytest.approx(a.amplitude_dBAE + 60.0)


def test_detection_outside_the_signal_is_refused() -> None:
    builder = HitBuilder(RATE)
    with pytest.raises(ConfigError, match="outside the signal"):
        builder.build(Detection(0, "burst", 90, 120, 1.0), np.zeros((1, 100)), 0, detector="x")
    with pytest.raises(ConfigError, match="channel 1"):
        builder.build(Detection(1, "burst", 10, 20, 1.0), np.zeros((1, 100)), 0, detector="x")
    with pytest.raises(ConfigError, match="ISO 8601"):
        HitBuilder(RATE, start_time_utc="yesterday")


def test_event_fields_are_the_documented_columns() -> None:
    assert Hit._fields[:8] == (
        "time_s",
        "utc",
        "sample_index",
        "channel",
        "type",
        "score",
        "detector",
        "onset_s",
    )
