"""WindowScheduler: cores tile the stream, contents match the signal, ring == push interface."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from aemon.detect.windows import Window, WindowScheduler
from aemon.errors import ConfigError
from aemon.stream.ring import RingBuffer
from aemon.types import Gap

CONFIGS = [(16, 8, 4), (16, 16, 0), (10, 4, 2), (33, 5, 7), (1, 1, 0), (64, 20, 11)]


def signal(first: int, n: int, channels: int = 2) -> np.ndarray:
    """Distinct value per (channel, absolute index); never zero, so padding is visible."""
    index = np.arange(first, first + n, dtype=np.int64) + 1
    return index[None, :] * np.array([1, -1, 7][:channels])[:, None]


def expected_window(
    first: int, length: int, start: int, stop: int, channels: int = 2
) -> np.ndarray:
    """The signal on [first, first + length), zero outside the stream [start, stop)."""
    out = np.zeros((channels, length), np.int64)
    lo, hi = max(first, start), min(first + length, stop)
    if hi > lo:
        out[:, lo - first : hi - first] = signal(lo, hi - lo, channels)
    return out


def push_in_blocks(
    scheduler: WindowScheduler, first: int, n: int, rng: np.random.Generator
) -> list[Window]:
    windows, position = [], first
    while position < first + n:
        size = min(int(rng.integers(0, 50)), first + n - position)
        windows += scheduler.push(position, signal(position, size))
        position += size
    return windows + scheduler.flush()


def check_tiling(
    windows: list[Window], length: int, hop: int, margin: int, start: int, stop: int
) -> None:
    assert windows, "no windows"
    assert windows[0].core_start == start and windows[-1].core_stop == stop
    for previous, window in itertools.pairwise(windows):
        assert window.core_start == previous.core_stop  # no overlap, no hole
    for window in windows:
        assert window.samples.shape == (2, length)
        assert window.core_start - window.first_sample == margin
        assert 0 < window.core_stop - window.core_start <= hop
        assert window.first_sample + length - window.core_stop >= margin
        np.testing.assert_array_equal(
            window.samples, expected_window(window.first_sample, length, start, stop)
        )


@pytest.mark.parametrize(("length", "hop", "margin"), CONFIGS)
@pytest.mark.parametrize("first", [0, 12345])
def test_cores_tile_the_stream_exactly_and_windows_hold_the_signal(
    length: int, hop: int, margin: int, first: int
) -> None:
    rng = np.random.default_rng(length * hop + margin)
    for n in (1, hop, 7 * hop + 3, 500):
        scheduler = WindowScheduler(length, hop, margin, first_sample=first)
        windows = push_in_blocks(scheduler, first, n, rng)
        check_tiling(windows, length, hop, margin, first, first + n)
        assert windows[0].first_sample == first - margin
        assert not windows[-1].samples.flags.writeable


def test_windows_are_emitted_as_soon_as_their_last_sample_arrives() -> None:
    scheduler = WindowScheduler(10, 4, 2)
    assert scheduler.push(0, signal(0, 7)) == []  # window 0 needs samples -2..7
    (window,) = scheduler.push(7, signal(7, 1))
    assert (window.first_sample, window.core_start, window.core_stop) == (-2, 0, 4)
    assert scheduler.push(8, signal(8, 3)) == []
    assert [w.core_start for w in scheduler.push(11, signal(11, 9))] == [4, 8, 12]


def test_windows_stay_valid_after_later_pushes() -> None:
    scheduler = WindowScheduler(32, 8, 4)
    kept = []
    for position in range(0, 2000, 37):
        kept += scheduler.push(position, signal(position, 37))
    check_tiling(kept + scheduler.flush(), 32, 8, 4, 0, 2035)


def test_a_short_jump_is_zero_filled_and_a_long_one_restarts_the_tiling() -> None:
    scheduler = WindowScheduler(16, 8, 4)
    windows = scheduler.push(0, signal(0, 40))
    windows += scheduler.push(50, signal(50, 30))  # 10 missing: zeros
    assert [w.core_start for w in windows] == list(range(0, 72, 8))
    np.testing.assert_array_equal(windows[5].samples[:, 4:14], 0)  # samples 40..49
    assert windows[5].samples[:, 14:].all()
    windows += scheduler.push(1000, signal(1000, 40))  # 920 missing: flush + restart
    windows += scheduler.flush()
    before = [w for w in windows if w.core_start < 1000]
    after = [w for w in windows if w.core_start >= 1000]
    assert before[-1].core_stop == 80 and after[0].core_start == 1000
    assert after[-1].core_stop == 1040
    np.testing.assert_array_equal(after[0].samples[:, :4], 0)  # fresh leading margin
    with pytest.raises(ValueError, match="overlaps"):
        scheduler.push(1030, signal(1030, 5))


def _feed(ring: RingBuffer, first: int, sizes: np.ndarray, gap_at: int) -> None:
    position = first
    for i, size in enumerate(sizes):
        if i == gap_at:
            ring.gap(Gap(position, position + 13, "sequence"))
            position += 13
        ring.push(position, signal(position, int(size)))
        position += int(size)
    ring.close()


@pytest.mark.parametrize(("length", "hop", "margin"), [(64, 32, 16), (40, 10, 5), (16, 16, 0)])
def test_ring_interface_gives_the_same_windows_as_push_interface(
    length: int, hop: int, margin: int
) -> None:
    rng = np.random.default_rng(7)
    sizes = rng.integers(1, 90, 80)
    ring = RingBuffer(2, 128, "int64", first_sample=500)
    reader = ring.reader("detector", blocking=True)
    writer = threading.Thread(target=_feed, args=(ring, 500, sizes, 40))
    writer.start()
    from_ring = list(
        WindowScheduler(length, hop, margin, first_sample=500).windows_from_ring(reader)
    )
    writer.join(timeout=10)

    offline = WindowScheduler(length, hop, margin, first_sample=500)
    from_push, position = [], 500
    for i, size in enumerate(sizes):
        if i == 40:
            position += 13  # the gap: the ring delivers zeros, push() zero-fills the jump
        from_push += offline.push(position, signal(position, int(size)))
        position += int(size)
    from_push += offline.flush()

    assert len(from_ring) == len(from_push) > 0
    for a, b in zip(from_ring, from_push, strict=True):
        assert (a.first_sample, a.core_start, a.core_stop) == (
            b.first_sample,
            b.core_start,
            b.core_stop,
        )
        np.testing.assert_array_equal(a.samples, b.samples)
    assert from_ring[-1].core_stop == position


def test_ring_interface_returns_on_timeout_and_resumes() -> None:
    ring = RingBuffer(1, 256, "float32")
    reader = ring.reader(blocking=True)
    scheduler = WindowScheduler(32, 16, 8)
    ring.push(0, np.ones((1, 30), np.float32))
    first = list(scheduler.windows_from_ring(reader, timeout=0.02))  # ends on the timeout
    assert [w.core_start for w in first] == [0]  # needs samples -8..23 only
    ring.push(30, np.ones((1, 100), np.float32))
    ring.close()
    windows = list(scheduler.windows_from_ring(reader, timeout=0.02))
    assert [w.core_start for w in windows] == list(range(16, 130, 16))
    assert windows[-1].core_stop == 130


@pytest.mark.parametrize(
    ("length", "hop", "margin", "message"),
    [
        (0, 1, 0, "at least 1"),
        (16, 0, 0, "at least 1"),
        (16, 4, -1, "margin"),
        (16, 10, 4, "hop <= length - 2\\*margin = 8"),
    ],
)
def test_impossible_configurations_are_rejected(
    length: int, hop: int, margin: int, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        WindowScheduler(length, hop, margin)
    assert "\n" not in str(info.value)


def test_bad_blocks_are_rejected() -> None:
    scheduler = WindowScheduler(8, 4, 2)
    with pytest.raises(ValueError, match="channels, n"):
        scheduler.push(0, np.zeros(5))
    scheduler.push(0, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="3 channels"):
        scheduler.push(5, np.zeros((3, 5)))
