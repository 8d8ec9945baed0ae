"""The runner: the streams' settled time holds, and grouping does not depend on block sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aemon.detect.factory import make_hit_stream
from aemon.detect.options import DetectOptions
from aemon.detect.runner import DetectionRunner, Fanout, HitList, Item
from aemon.events.grouping import HitGrouper
from aemon.events.hit import Hit
from aemon.events.location_config import LocationConfig, Sensor
from aemon.sim.geometry import GeometrySimulator, SensorGeometry
from aemon.sim.simulator import SimConfig
from aemon.types import ChannelInfo, Gap, StreamFormat
from tests.detect_models import RATE, energy_model

FORMAT = StreamFormat(RATE, 2, "float32", 1.0)
CHANNELS = [ChannelInfo("a"), ChannelInfo("b")]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "energy"
    energy_model(path, window=4096, bin_samples=16, margin_bins=8)
    return path


@pytest.fixture(scope="module")
def bar() -> tuple[np.ndarray, LocationConfig]:
    """0.3 s of two sensors 0.2 m apart, with grip noise beyond them (volts)."""
    geometry = SensorGeometry.linear(2, 0.2, wave_speed_m_s=5000.0, grip_rate_hz=20.0)
    config = SimConfig(channels=2, burst_rate_hz=60.0, snr_db_range=(25.0, 40.0), seed=3)
    block, _ = GeometrySimulator(config, geometry).render_located(round(0.3 * RATE))
    sensors = (Sensor(0, 0.0), Sensor(1, 0.2))
    return block.samples.astype(np.float32), LocationConfig(sensors, 5000.0, hold_s=0.0)


GAP = Gap(100_000, 105_000, "test")


def _blocks(x: np.ndarray, sizes: list[int]) -> list[Item]:
    """``x`` cut into blocks of the given sizes, in turn, but for :data:`GAP`."""
    items: list[Item] = []
    start, k = 0, 0
    while start < x.shape[1]:
        stop = min(start + sizes[k % len(sizes)], x.shape[1])
        if start < GAP.start_sample < stop:
            stop = GAP.start_sample
        items.append((start, x[:, start:stop]))
        if stop == GAP.start_sample:
            items.append(GAP)
            stop = GAP.stop_sample
        start, k = stop, k + 1
    return items


@pytest.mark.parametrize("detector", ["threshold", "nn", "cascade"])
def test_no_event_comes_before_the_settled_sample(
    bar: tuple[np.ndarray, LocationConfig], model: Path, detector: str
) -> None:
    x, _ = bar
    options = DetectOptions(model=model, detector=detector, x_noise=6.0)
    if detector == "nn":
        options = options._replace(probability=0.5, x_noise=None)
    stream = make_hit_stream(options, FORMAT, CHANNELS, live=detector == "nn")
    settled, found = stream.settled_sample, 0
    for item in _blocks(x, [3000, 20_000, 777, 65_536]):
        if isinstance(item, Gap):
            stream.gap(item)
            continue
        events = stream.push(*item)
        assert all(e.sample_index >= settled for e in events)
        found += len(events)
        assert stream.settled_sample >= settled  # it never goes back
        settled = stream.settled_sample
        assert settled <= item[0] + item[1].shape[1]
    assert all(e.sample_index >= settled for e in stream.flush())
    assert found > 5


def _located(
    x: np.ndarray, config: LocationConfig, options: DetectOptions, sizes: list[int], live: bool
) -> list[Hit]:
    stream = make_hit_stream(options, FORMAT, CHANNELS, live=live)
    hits = HitList()
    grouper = HitGrouper(config)
    DetectionRunner(stream, [hits], first_sample=0, sample_rate_hz=RATE, grouper=grouper).run(
        _blocks(x, sizes)
    )
    return hits


@pytest.mark.parametrize("detector", ["threshold", "nn"])
def test_grouped_and_located_hits_do_not_depend_on_block_sizes(
    bar: tuple[np.ndarray, LocationConfig], model: Path, detector: str
) -> None:
    x, config = bar
    options = DetectOptions(model=model, detector=detector, x_noise=6.0)
    if detector == "nn":
        options = options._replace(probability=0.5, x_noise=None)
    one = _located(x, config, options, [1 << 18], live=False)
    many = _located(x, config, options, [1000, 32768, 4096], live=True)
    assert len({e.event_id for e in one}) > 5
    assert sum(e.location_status == "inside" for e in one) > 3
    key = [(e.sample_index, e.channel, e.event_id, e.location_status) for e in one]
    assert [(e.sample_index, e.channel, e.event_id, e.location_status) for e in many] == key
    np.testing.assert_array_equal([e.x_m for e in many], [e.x_m for e in one])


def test_fanout_writes_every_sink_in_turn() -> None:
    first, second = HitList(), HitList()
    fanout = Fanout([first, second])
    hits = [_hit(10), _hit(20)]
    assert fanout.write(iter(hits)) == 2 and fanout.write([]) == 0
    assert first == second == hits and fanout.rows == 2


def _hit(sample: int) -> Hit:
    return Hit(*([0.0] * len(Hit._fields)))._replace(sample_index=sample)


def test_a_run_longer_than_the_raw_history_does_not_hold_the_clock_back(model: Path) -> None:
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((2, round(0.8 * RATE))) * 0.01).astype(np.float32)
    # 0.6 s of 50 µs bursts 50 µs apart on channel 0: one run (the gaps are within the merge
    # gap) that would stay open for 0.6 s
    t = np.arange(round(0.1 * RATE), round(0.7 * RATE))
    x[0, t] += np.sin(2 * np.pi * 150e3 / RATE * t) * ((t // 80) % 2)
    options = DetectOptions(model=model, detector="nn", probability=0.5)
    stream = make_hit_stream(options, FORMAT, CHANNELS, live=True)
    block = 32768
    for start in range(0, round(0.6 * RATE), block):
        assert [e.sample_index for e in stream.push(start, x[:, start : start + block])] == []
    end = start + block
    # the run is still open, but its start left the history: the clock follows the history
    assert end - round(0.25 * RATE) < stream.settled_sample < end
