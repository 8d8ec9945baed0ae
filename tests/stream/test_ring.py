"""RingBuffer / RingReader: double-write views, loss reporting, back-pressure, gaps, close."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from aemon.errors import ConfigError
from aemon.stream.ring import ReadResult, RingBuffer, RingReader, SamplesLost
from aemon.types import Gap, SampleSink


def ramp(start: int, n: int, channels: int = 2, dtype: str = "int64") -> np.ndarray:
    """Samples whose value encodes (channel, absolute index): 1_000_000 * ch + index."""
    index = np.arange(start, start + n, dtype=np.int64)
    return (index[None, :] + 1_000_000 * np.arange(channels)[:, None]).astype(dtype)


def drain(reader: RingReader, max_samples: int | None = None) -> ReadResult:
    result = reader.read(max_samples, timeout=0, min_samples=0)
    assert result is not None
    return result


def test_wraparound_matches_reference_for_odd_block_sizes() -> None:
    rng = np.random.default_rng(1)
    cap = 97
    ring = RingBuffer(3, cap, "float64", first_sample=1000)
    reference = np.empty((3, 0))
    position = 1000
    for _ in range(300):
        n = int(rng.integers(0, 2 * cap))
        block = rng.standard_normal((3, n))
        ring.push(position, block)
        reference = np.concatenate([reference, block], axis=1)[:, -cap:]
        position += n
        assert ring.write_index == position
        assert ring.oldest_index == max(1000, position - cap)
        for _ in range(3):
            count = int(rng.integers(0, min(cap, position - 1000) + 1))
            start = int(rng.integers(ring.oldest_index, position - count + 1))
            view = ring.read(start, count)
            offset = reference.shape[1] - (position - start)
            np.testing.assert_array_equal(view, reference[:, offset : offset + count])


def test_views_are_zero_copy_row_contiguous_and_read_only() -> None:
    ring = RingBuffer(2, 64, "int16")
    ring.push(0, ramp(0, 100, dtype="int16"))  # wrapped: samples 36..99 held
    view = ring.read(36, 64)  # columns 36..99: crosses the end of the first copy
    assert np.shares_memory(view, ring._storage)
    assert view.strides[1] == view.itemsize  # each channel row is contiguous
    np.testing.assert_array_equal(view, ramp(36, 64, dtype="int16"))
    assert not view.flags.writeable
    mono = RingBuffer(1, 64, "float32")
    mono.push(0, np.ones((1, 90), np.float32))
    assert mono.read(40, 50).flags.c_contiguous
    reader = ring.reader(start=40)
    result = drain(reader)
    assert np.shares_memory(result.samples, ring._storage)


def test_lossy_reader_that_falls_behind_gets_exact_lost_range() -> None:
    ring = RingBuffer(2, 100, "int64")
    lossy = ring.reader("gui")
    ring.push(0, ramp(0, 30))
    first = drain(lossy)
    assert (first.first_sample, first.samples.shape[1], first.lost) == (0, 30, None)
    ring.push(30, ramp(30, 90))
    ring.push(120, ramp(120, 55))  # write index 175: samples 75..174 held
    assert not ring.is_valid(30) and ring.is_valid(75)
    result = drain(lossy)
    assert result.lost == Gap(30, 75, "overrun")
    assert result.first_sample == 75 and result.samples.shape[1] == 100
    np.testing.assert_array_equal(result.samples, ramp(75, 100))
    assert lossy.lost_samples == 45 and lossy.position == 175
    assert drain(lossy).lost is None


def test_push_larger_than_capacity_keeps_the_last_capacity_samples() -> None:
    ring = RingBuffer(2, 50, "int64")
    lossy = ring.reader()
    ring.push(0, ramp(0, 10))
    ring.push(10, ramp(10, 173))
    assert ring.write_index == 183 and ring.oldest_index == 133
    result = drain(lossy)
    assert result.lost == Gap(0, 133, "overrun")
    np.testing.assert_array_equal(result.samples, ramp(133, 50))
    with pytest.raises(SamplesLost) as info:
        ring.read(100, 10)
    assert (info.value.start_sample, info.value.stop_sample) == (100, 133)


def _consume(reader: RingReader, total: int, delay_s: float, out: dict[str, Any]) -> None:
    """Read until ``total`` samples arrived; check each view survives ``delay_s`` of writing."""
    received = 0
    while received < total:
        result = reader.read(timeout=5)
        assert result is not None
        out["results"].append((result.first_sample, result.samples.copy(), result.lost))
        received += result.samples.shape[1]
        time.sleep(delay_s)  # the writer is free to run; it must not touch this view
        if not np.array_equal(result.samples, out["results"][-1][1]):
            out["corrupted"] += 1


def test_blocking_reader_back_pressures_the_writer_and_loses_nothing() -> None:
    rng = np.random.default_rng(2)
    ring = RingBuffer(2, 64, "int64")
    reader = ring.reader("recorder", blocking=True)
    out: dict[str, Any] = {"results": [], "corrupted": 0}
    sizes = rng.integers(1, 150, 120)  # many blocks larger than the ring
    total = int(sizes.sum())
    consumer = threading.Thread(target=_consume, args=(reader, total, 0.0005, out))
    consumer.start()
    position = 0
    for n in sizes:
        ring.push(position, ramp(position, int(n)))
        position += int(n)
    consumer.join(timeout=30)
    assert not consumer.is_alive()
    assert out["corrupted"] == 0
    assert all(lost is None for _, _, lost in out["results"])
    firsts = [first for first, _, _ in out["results"]]
    data = np.concatenate([samples for _, samples, _ in out["results"]], axis=1)
    np.testing.assert_array_equal(data, ramp(0, total))
    assert firsts[0] == 0
    stats = ring.stats
    assert stats.backpressure_waits > 0 and stats.backpressure_wait_s > 0
    assert stats.samples_written == total and stats.pushes == len(sizes)


def test_lossy_reader_beside_a_blocking_one_never_holds_the_writer() -> None:
    ring = RingBuffer(1, 32, "int64")
    blocking = ring.reader("recorder", blocking=True)
    lossy = ring.reader("gui")
    for start in range(0, 320, 16):
        ring.push(start, ramp(start, 16, channels=1))
        drain(blocking)
    result = drain(lossy)
    assert result.lost == Gap(0, 288, "overrun")
    assert ring.stats.backpressure_waits == 0


def test_lossy_reader_view_checked_with_is_valid_is_never_torn() -> None:
    ring = RingBuffer(1, 256, "int64")
    sink: SampleSink = ring  # the ring is what sources push into
    reader = ring.reader("gui")
    checked = {"valid": 0, "overwritten": 0, "torn": 0}
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            result = reader.read(timeout=0.01)
            if result is None:
                return
            copy = result.samples.copy()
            if not ring.is_valid(result.first_sample):
                checked["overwritten"] += 1
            elif np.array_equal(copy, ramp(result.first_sample, copy.shape[1], channels=1)):
                checked["valid"] += 1
            else:
                checked["torn"] += 1

    thread = threading.Thread(target=poll)
    thread.start()
    position, deadline = 0, time.monotonic() + 0.3
    while time.monotonic() < deadline:
        sink.push(position, ramp(position, 200, channels=1))
        position += 200
    stop.set()
    ring.close()
    thread.join(timeout=5)
    assert checked["torn"] == 0 and checked["valid"] > 0
    assert reader.lost_samples > 0  # the writer did lap it


def test_gaps_read_as_zeros_and_are_reported() -> None:
    ring = RingBuffer(2, 100, "int64")
    reader = ring.reader(blocking=True)
    ring.push(0, ramp(0, 10))
    with pytest.raises(ValueError, match="declare them with gap"):
        ring.push(30, ramp(30, 5))
    ring.gap(Gap(10, 30, "sequence"))
    ring.push(30, ramp(30, 10))
    result = drain(reader)
    assert result.gaps == [Gap(10, 30, "sequence")] and result.lost is None
    assert np.all(result.samples[:, 10:30] == 0)
    np.testing.assert_array_equal(result.samples[:, 30:], ramp(30, 10))
    ring.push(40, ramp(40, 5))
    assert drain(reader).gaps == []


def test_gap_larger_than_capacity_jumps_without_writing_every_sample() -> None:
    ring = RingBuffer(2, 100, "int64")
    blocking = ring.reader("recorder", blocking=True)
    lossy = ring.reader("gui")
    ring.push(0, ramp(0, 50))
    assert drain(blocking).samples.shape[1] == 50
    drain(blocking)  # releases its view, so the gap may overwrite everything
    huge = Gap(50, 10**12, "sequence")
    started = time.perf_counter()
    ring.gap(huge)
    assert time.perf_counter() - started < 0.5
    assert ring.write_index == 10**12 and ring.oldest_index == 10**12 - 100
    result = drain(blocking)  # must take the zeros that are held before new data can come
    assert result.lost == Gap(50, 10**12 - 100, "gap") and result.gaps == [huge]
    assert result.first_sample == 10**12 - 100 and not result.samples.any()
    assert drain(blocking).samples.shape[1] == 0  # releases the view of the zeros
    ring.push(10**12, ramp(10**12, 20))
    result = drain(blocking)
    assert result.lost is None and result.gaps == []
    np.testing.assert_array_equal(result.samples, ramp(10**12, 20))
    result = drain(lossy)
    assert result.lost == Gap(0, 10**12 - 80, "overrun")  # samples 0..49 were real
    assert result.first_sample == 10**12 - 80 and result.gaps == [huge]
    assert not result.samples[:, :80].any()
    np.testing.assert_array_equal(result.samples[:, 80:], ramp(10**12, 20))
    assert ring.stats.gap_samples == huge.samples


def test_huge_gap_waits_for_a_blocking_reader_to_release_its_view() -> None:
    ring = RingBuffer(1, 100, "int64")
    reader = ring.reader(blocking=True)
    ring.push(0, ramp(0, 60, channels=1))
    held = drain(reader).samples  # still held: the gap must not zero it
    done = threading.Event()

    def write_gap() -> None:
        ring.gap(Gap(60, 10**6, "x"))
        done.set()

    writer = threading.Thread(target=write_gap)
    writer.start()
    assert not done.wait(0.2)
    np.testing.assert_array_equal(held, ramp(0, 60, channels=1))
    result = drain(reader)  # releases the view
    writer.join(timeout=5)
    assert done.is_set() and result.samples.shape[1] == 0
    assert drain(reader).lost == Gap(60, 10**6 - 100, "gap")


def test_close_lets_readers_drain_then_returns_none() -> None:
    ring = RingBuffer(2, 100, "int64")
    reader = ring.reader(blocking=True)
    ring.push(0, ramp(0, 40))
    ring.close()
    assert ring.closed
    result = reader.read(min_samples=100)  # fewer than asked: the stream has ended
    assert result is not None and result.samples.shape[1] == 40
    assert reader.read() is None
    ring.push(40, ramp(40, 10))  # discarded, not an error
    ring.gap(Gap(50, 60, "late"))
    assert ring.write_index == 40 and ring.stats.samples_discarded == 20


def test_reader_waiting_for_data_is_woken_by_close() -> None:
    ring = RingBuffer(1, 10, "float32")
    reader = ring.reader()
    results: list[ReadResult | None] = []
    thread = threading.Thread(target=lambda: results.append(reader.read()))
    thread.start()
    time.sleep(0.05)
    ring.close()
    thread.join(timeout=5)
    assert results == [None]


@pytest.mark.parametrize("interrupt", ["ring", "reader"])
def test_writer_blocked_by_a_stalled_reader_is_released_by_close(interrupt: str) -> None:
    ring = RingBuffer(1, 50, "int64")
    stalled = ring.reader("stalled", blocking=True)
    ring.push(0, ramp(0, 50, channels=1))  # full: the next push must wait
    writer = threading.Thread(target=ring.push, args=(50, ramp(50, 30, channels=1)))
    writer.start()
    time.sleep(0.1)
    assert writer.is_alive() and ring.write_index == 50
    (ring if interrupt == "ring" else stalled).close()
    writer.join(timeout=5)
    assert not writer.is_alive()
    if interrupt == "reader":
        assert ring.write_index == 80  # the write went through once nobody held it back
        with pytest.raises(ValueError, match="closed"):
            stalled.read()
    else:
        assert ring.write_index == 50 and ring.stats.samples_discarded == 30


def test_timeout_returns_an_empty_view_and_min_samples_waits() -> None:
    ring = RingBuffer(3, 100, "float32")
    reader = ring.reader()
    started = time.monotonic()
    result = reader.read(timeout=0.05)
    assert result is not None and result.samples.shape == (3, 0)
    assert time.monotonic() - started >= 0.04
    ring.push(0, np.ones((3, 10), np.float32))
    result = reader.read(min_samples=20, timeout=0.02)
    assert result is not None and result.samples.shape == (3, 0)
    assert reader.position == 0
    timer = threading.Timer(0.05, ring.push, args=(10, np.ones((3, 15), np.float32)))
    timer.start()
    result = reader.read(max_samples=18, min_samples=20, timeout=5)
    timer.join()
    assert result is not None
    assert (result.first_sample, result.samples.shape[1], reader.position) == (0, 18, 18)


def test_compatible_dtypes_are_cast_and_bad_input_is_rejected() -> None:
    ring = RingBuffer(2, 100, "float32")
    ring.push(0, ramp(0, 5, dtype="int16"))  # int into a float ring is fine
    np.testing.assert_array_equal(ring.read(0, 5), ramp(0, 5, dtype="int16").astype(np.float32))
    with pytest.raises(ValueError, match=r"\(2, n\)"):
        ring.push(5, np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r"\(2, n\)"):
        ring.push(5, np.zeros(5, np.float32))
    int_ring = RingBuffer(1, 10, "int16")
    with pytest.raises(ValueError, match="cannot store float64"):
        int_ring.push(0, np.zeros((1, 4)))
    with pytest.raises(ValueError, match="overlaps"):
        ring.push(3, np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="overlaps"):
        ring.gap(Gap(2, 9, "sequence"))
    with pytest.raises(ValueError, match="capacity"):
        ring.read(0, 101)
    with pytest.raises(ValueError, match="past the newest"):
        ring.read(3, 5)
    with pytest.raises(ValueError, match="min_samples"):
        ring.reader().read(min_samples=101)
    for channels, capacity in ((0, 10), (1, 0)):
        with pytest.raises(ConfigError):
            RingBuffer(channels, capacity, "int16")
