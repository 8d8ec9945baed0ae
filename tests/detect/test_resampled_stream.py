"""Detection on a 2 MHz stream through the 25/32 resampler with the shipped 1.5625 MHz model."""

from __future__ import annotations

import numpy as np
import pytest

from aemon.detect.factory import make_hit_stream
from aemon.detect.options import DetectOptions
from aemon.detect.resampled_stream import ResampledHitStream
from aemon.drivers.daq_publisher import quantise
from aemon.errors import ConfigError
from aemon.sim.simulator import AESimulator, SimConfig
from aemon.types import ChannelInfo, Gap, StreamFormat

RATE = 2_000_000.0
VPC = 0.1 / 32768


def _simulated(seconds: float, first: int) -> tuple[list[tuple[int, np.ndarray]], list[int]]:
    sim = AESimulator(SimConfig(sample_rate_hz=RATE, channels=1, seed=5, burst_rate_hz=20.0))
    blocks, onsets, at = [], [], first
    for chunk in sim.chunks(30_001):  # blocks that do not line up with 25/32
        counts, _ = quantise(chunk.samples, VPC)
        blocks.append((at, counts))
        onsets += [first + b.onset_sample for b in chunk.bursts]
        at += counts.shape[1]
        if at - first >= seconds * RATE:
            return blocks, onsets
    raise AssertionError("unreachable")


def test_two_mhz_stream_is_detected_at_source_indices() -> None:
    first = 1_000_000  # a source whose first index is not 0
    fmt = StreamFormat(RATE, 1, "int16", VPC)
    stream = make_hit_stream(
        DetectOptions(provider="cpu"), fmt, [ChannelInfo("ch1", volts_per_count=VPC)],
        first_sample=first, live=True,
    )  # fmt: skip
    assert isinstance(stream, ResampledHitStream)
    assert (stream.resampler.up, stream.resampler.down) == (25, 32)
    blocks, onsets = _simulated(3.0, first)
    events = []
    for at, counts in blocks:
        events += stream.push(at, counts)
    events += stream.flush()

    assert len(onsets) > 30
    found = [e for e in events if min(abs(e.sample_index - o) for o in onsets) < 0.0002 * RATE]
    recall = len({min(onsets, key=lambda o: abs(o - e.sample_index)) for e in found})
    assert recall >= 0.9 * len(onsets)
    assert len(found) >= 0.9 * len(events)
    for e in found:  # seconds and source indices agree
        assert e.time_s == pytest.approx((e.sample_index - first) / RATE, abs=1 / RATE)


def test_after_a_gap_bursts_are_found_at_their_source_indices() -> None:
    fmt = StreamFormat(RATE, 1, "int16", VPC)
    stream = make_hit_stream(
        DetectOptions(provider="cpu"), fmt, [ChannelInfo("ch1", volts_per_count=VPC)], live=True
    )
    assert isinstance(stream, ResampledHitStream)
    blocks, onsets = _simulated(3.0, 0)
    lost = blocks[40:75]  # about 0.5 s missing, not on the 25/32 grid
    gap = Gap(lost[0][0], lost[-1][0] + lost[-1][1].shape[1], "restart")
    events = []
    for at, counts in blocks[:40]:
        events += stream.push(at, counts)
    stream.gap(gap)
    for at, counts in blocks[75:]:
        events += stream.push(at, counts)
    events += stream.flush()

    after = [o for o in onsets if o >= gap.stop_sample + 0.001 * RATE]
    assert len(after) > 15
    hits = [o for o in after if any(abs(e.sample_index - o) < 0.0002 * RATE for e in events)]
    assert len(hits) >= 0.9 * len(after)
    assert not any(gap.start_sample + 100 <= e.sample_index < gap.stop_sample for e in events)


def test_a_source_slower_than_the_model_gets_one_line() -> None:
    fmt = StreamFormat(1_000_000.0, 1, "int16", VPC)
    with pytest.raises(ConfigError, match=r"expects 1562500 Hz but the source delivers 1000000"):
        make_hit_stream(DetectOptions(provider="cpu"), fmt, [ChannelInfo("ch1")])
