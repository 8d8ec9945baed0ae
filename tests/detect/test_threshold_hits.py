"""Conventional hit detector: HDT, HLT, PDT and maximum duration on constructed signals,
block-size invariance, scale invariance in ×noise mode, units, and hits → events."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from aemon.detect.threshold_hit_stream import ThresholdHitStream, threshold_hits_to_hits
from aemon.detect.threshold_hits import HitDetector, HitDetectorConfig, ThresholdHit, detect_hits
from aemon.errors import ConfigError
from aemon.events.features import dbae_to_volts
from aemon.events.hit import HitBuilder
from aemon.sim.simulator import AESimulator, SimConfig

US = 1_000_000.0  # 1 MHz: one sample per µs, so times in µs are sample counts
THR = dbae_to_volts(40.0)  # 100 µV


def _tone(
    x: np.ndarray, start: int, length: int, amp: float, freq_hz: float = 100e3
) -> tuple[int, int]:
    """Add a tone burst; return (first, last) sample with |x| >= THR inside it."""
    t = np.arange(length)
    x[start : start + length] += amp * np.sin(2 * np.pi * freq_hz / US * t + 0.3)
    above = np.flatnonzero(np.abs(x[start : start + length]) >= THR)
    return start + int(above[0]), start + int(above[-1])


def _hits(x: np.ndarray, **cfg: float) -> list[ThresholdHit]:
    config = HitDetectorConfig(**{"threshold_dbae": 40.0, "hlt_us": 0.0, **cfg})
    return detect_hits(x[None, :].astype(np.float32), config, US)


def test_bursts_closer_than_hdt_are_one_hit_farther_are_two() -> None:
    x = np.zeros(6000)
    first_a, last_a = _tone(x, 1000, 50, 1e-3)
    first_b, last_b = _tone(x, last_a + 80, 50, 1e-3)
    gap = first_b - last_a
    assert 50 < gap <= 100
    (hit,) = _hits(x, hdt_us=100.0)
    assert (hit.start_sample, hit.stop_sample) == (first_a, last_b + 1)
    a, b = _hits(x, hdt_us=gap - 1)
    assert (a.start_sample, a.stop_sample, b.start_sample) == (first_a, last_a + 1, first_b)
    # The boundary: crossings exactly HDT apart still belong to one hit.
    assert len(_hits(x, hdt_us=gap)) == 1


def test_hlt_suppresses_a_retrigger_after_the_hit_closed() -> None:
    x = np.zeros(8000)
    first_a, last_a = _tone(x, 1000, 50, 1e-3)
    close = last_a + 100 + 1  # HDT 100 µs
    first_b, _ = _tone(x, close + 200, 50, 1e-3)  # inside a 500 µs lockout
    first_c, _ = _tone(x, close + 700, 50, 1e-3)  # after it
    locked = _hits(x, hdt_us=100.0, hlt_us=500.0)
    assert [h.start_sample for h in locked] == [first_a, first_c]
    armed = _hits(x, hdt_us=100.0, hlt_us=0.0)
    assert [h.start_sample for h in armed] == [first_a, first_b, first_c]


def test_event_of_a_hit_excludes_crossings_before_its_start() -> None:
    x = np.zeros(8000)
    _, last_a = _tone(x, 1000, 50, 1e-3)
    close = last_a + 100 + 1
    _tone(x, close + 200, 295, 1e-3)  # ignored: ends inside the 500 µs lockout
    first_c, last_c = _tone(x, close + 510, 60, 1e-3)
    hits = _hits(x, hdt_us=100.0, hlt_us=500.0)
    assert [h.start_sample for h in hits][1:] == [first_c]
    event = threshold_hits_to_hits(hits[1:], x[None, :], 0, HitBuilder(US))[0]
    assert event.duration_us == pytest.approx(last_c - first_c)
    assert event.rise_time_us == pytest.approx(hits[1].peak_sample - first_c)


def test_pdt_freezes_the_peak_and_rise_time() -> None:
    x = np.zeros(3000)
    x[1000], x[1010], x[1050] = 2 * THR, 3 * THR, 10 * THR  # within HDT: one hit
    (short,) = _hits(x, hdt_us=100.0, pdt_us=20.0)
    assert (short.peak_sample, short.peak_V) == (1010, pytest.approx(3 * THR))
    (long,) = _hits(x, hdt_us=100.0, pdt_us=40.0)  # 1050 is 40 µs after the 1010 peak
    assert (long.peak_sample, long.peak_V) == (1050, pytest.approx(10 * THR))
    assert short.stop_sample == long.stop_sample == 1051
    builder = HitBuilder(US, aic_pre_us=0.0, aic_post_us=0.0)
    event = threshold_hits_to_hits([short], x[None, :], 0, builder)[0]
    assert event.rise_time_us == pytest.approx(10.0)
    assert event.amplitude_V == pytest.approx(3 * THR)
    assert event.duration_us == pytest.approx(50.0)


def test_max_duration_splits_a_long_hit() -> None:
    x = np.zeros(6000)
    first, last = _tone(x, 1000, 3500, 1e-3)
    hits = _hits(x, hdt_us=100.0, max_duration_us=1000.0)
    assert len(hits) == 4
    assert [h.truncated for h in hits] == [True, True, True, False]
    assert hits[0].start_sample == first and hits[-1].stop_sample == last + 1
    assert all(h.stop_sample - h.start_sample <= 1000 for h in hits)
    for earlier, later in itertools.pairwise(hits):  # no lockout between parts
        assert later.start_sample - earlier.stop_sample < 10
    assert len(_hits(x, hdt_us=100.0, max_duration_us=5000.0)) == 1


@pytest.fixture(scope="module")
def sim_signal() -> np.ndarray:
    config = SimConfig(channels=2, seed=11, burst_rate_hz=60.0, spike_rate_hz=20.0)
    return AESimulator(config).render(int(1_562_500 * 0.3)).samples


def _ordered(items: list[Any]) -> list[Any]:
    """Streams emit hits when they end; order them by start and channel to compare."""
    return sorted(
        items,
        key=lambda h: (
            h.start_sample if isinstance(h, ThresholdHit) else h.time_s,
            h.channel,
        ),
    )


def _push_in_blocks(detector: HitDetector, x: np.ndarray, sizes: list[int]) -> list[ThresholdHit]:
    hits, pos, k = [], 0, 0
    while pos < x.shape[1]:
        n = sizes[k % len(sizes)]
        hits += detector.push(1000 + pos, x[:, pos : pos + n])
        pos, k = pos + n, k + 1
    return _ordered(hits + detector.flush())


@pytest.mark.parametrize(
    "config",
    [
        HitDetectorConfig(threshold_dbae=38.0, hdt_us=150.0, hlt_us=200.0, max_duration_us=300.0),
        HitDetectorConfig(threshold_x_noise=6.0, noise_frame_s=0.01, noise_time_constant_s=0.05),
    ],
    ids=["dbae", "x_noise"],
)
def test_block_boundaries_do_not_change_the_hits(
    sim_signal: np.ndarray, config: HitDetectorConfig
) -> None:
    rate = 1_562_500.0
    whole = _push_in_blocks(HitDetector(config, rate, 2), sim_signal, [sim_signal.shape[1]])
    assert len(whole) > 20 and {h.channel for h in whole} == {0, 1}
    for sizes in ([4096], [1, 7, 333, 65536, 1000]):
        assert _push_in_blocks(HitDetector(config, rate, 2), sim_signal, sizes) == whole


def test_noise_mode_gives_the_same_hits_for_scaled_input(sim_signal: np.ndarray) -> None:
    config = HitDetectorConfig(threshold_x_noise=6.0)
    base = detect_hits(sim_signal, config, 1_562_500.0)
    assert len(base) > 10
    for scale in (1e-6, 1000.0):
        scaled = detect_hits(sim_signal * np.float32(scale), config, 1_562_500.0)
        assert [h[:4] for h in scaled] == [h[:4] for h in base]
        peaks = np.array([h.peak_V for h in scaled]) / scale
        np.testing.assert_allclose(peaks, [h.peak_V for h in base], rtol=1e-5)
        assert scaled[0].threshold_V == pytest.approx(base[0].threshold_V * scale, rel=1e-5)


def test_dbae_threshold_refers_to_the_sensor_through_gain_and_volts_per_count() -> None:
    # 20 dB preamp, 10 µV per count: 40 dBAE at the sensor = 1 mV at the ADC = 100 counts.
    x = np.zeros((1, 2000), dtype=np.int16)
    x[0, 100], x[0, 900] = 99, 101
    config = HitDetectorConfig(threshold_dbae=40.0)
    (hit,) = detect_hits(x, config, US, volts_per_count=10e-6, gain_db=20.0)
    assert hit.start_sample == 900
    assert hit.peak_V == pytest.approx(101 * 10e-6 / 10)
    assert hit.threshold_V == pytest.approx(THR)


def test_a_gap_closes_the_open_hit() -> None:
    det = HitDetector(HitDetectorConfig(hdt_us=100.0), US, 1)
    block = np.zeros((1, 100), dtype=np.float32)
    block[0, 90] = 1e-3
    assert det.push(0, block) == []
    (hit,) = det.push(10_000, np.zeros((1, 50), dtype=np.float32))
    assert (hit.start_sample, hit.stop_sample, hit.truncated) == (90, 91, False)


def test_hit_event_stream_matches_offline_events_and_serves_cascade_windows(
    sim_signal: np.ndarray,
) -> None:
    rate = 1_562_500.0
    config = HitDetectorConfig(threshold_dbae=40.0)
    offline_hits = detect_hits(sim_signal, config, rate)
    offline = threshold_hits_to_hits(offline_hits, sim_signal, 0, HitBuilder(rate))
    stream = ThresholdHitStream(HitDetector(config, rate, 2), HitBuilder(rate), keep_s=0.02)
    events, hits = [], []
    for pos in range(0, sim_signal.shape[1], 10_000):
        new = stream.push_hits(pos, sim_signal[:, pos : pos + 10_000])
        hits += new
        events += [stream.event(h) for h in new]
        for h in new:  # a cascade window: 1024 samples from 100 before the hit
            start, stop = h.window(1024, 100)
            if stream.has(start, stop):
                np.testing.assert_array_equal(stream.window(start, stop), sim_signal[:, start:stop])
    hits += stream.flush_hits()
    events += [stream.event(h) for h in hits[len(events) :]]
    assert _ordered(hits) == offline_hits and len(events) > 10
    np.testing.assert_equal(_ordered(events), offline)  # NaN == NaN (no spectrum) here
    assert {e.detector for e in events} == {"threshold"} and {e.type for e in events} == {"hit"}
    with pytest.raises(ConfigError, match="not in the history"):
        stream.window(0, 10)


def test_impossible_configs_are_refused() -> None:
    with pytest.raises(ConfigError, match="threshold"):
        HitDetectorConfig(threshold_dbae=None).check()
    with pytest.raises(ConfigError, match="HDT"):
        HitDetectorConfig(hdt_us=-1.0).check()
    with pytest.raises(ConfigError, match="maximum duration"):
        HitDetector(HitDetectorConfig(max_duration_us=0.0), US, 1)
    with pytest.raises(ConfigError, match=r"\(2, n\)"):
        HitDetector(HitDetectorConfig(), US, 2).push(0, np.zeros((1, 10)))
    assert isinstance(ThresholdHit(0, 1, 2, 1, 1.0, 0.5, False).detection().score, float)
