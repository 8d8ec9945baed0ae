"""The one raw sample history: windows by absolute index across blocks and runs, what it
keeps, what it forgets (plain numpy, no numba)."""

from __future__ import annotations

import numpy as np

from aemon.dsp.raw_history import RawHistory


def counts(first: int, n: int, channels: int = 2) -> np.ndarray:
    """Samples whose value tells their absolute index (and channel)."""
    index = np.arange(first, first + n, dtype=np.int32)
    return np.stack([index + 100_000 * c for c in range(channels)])


def held_window(history: RawHistory, start: int, stop: int) -> np.ndarray:
    got = history.window(start, stop)
    assert got is not None, f"{start}..{stop} not held"
    return got


def test_windows_across_blocks_are_the_samples_appended() -> None:
    history = RawHistory(keep=100)
    for first in range(0, 300, 50):
        history.append(first, counts(first, 50))
    assert history.end == 300 and history.newest_range == (history.oldest, 300)
    assert np.array_equal(held_window(history, 230, 290), counts(230, 60))
    assert history.window(100, 120) is None  # older than what is kept
    assert history.window(290, 310) is None  # not yet seen
    assert history.window(250, 250) is None
    first, held = history.span(100, 400) or (0, np.zeros(0))
    assert first == history.oldest and first <= 300 - 100 - 50
    assert np.array_equal(held, counts(first, 300 - first))
    assert not held.flags.writeable


def test_random_blocks_keep_at_least_keep_behind_the_newest_block() -> None:
    rng = np.random.default_rng(5)
    keep, start = 700, 12_345
    history, first = RawHistory(keep), start
    for n in [*rng.integers(1, 400, 60).tolist(), 2000, 5]:  # a long block grows the ring
        history.append(first, counts(first, n))
        first += n
        oldest = max(start, first - n - keep)
        assert history.oldest is not None and history.oldest <= oldest
        assert np.array_equal(held_window(history, oldest, first), counts(oldest, first - oldest))
        assert history.run_start(oldest, first) == history.oldest


def test_append_across_a_gap_starts_a_new_run_and_keeps_the_one_before() -> None:
    history = RawHistory(keep=50)
    history.append(0, counts(0, 100))
    history.append(200, counts(200, 30))  # samples 100..200 never came
    assert history.newest_range == (200, 230)
    assert history.window(150, 210) is None  # across the gap
    assert history.run_start(150, 210) is None
    assert np.array_equal(held_window(history, 60, 100), counts(60, 40))  # the run before
    assert history.run_start(60, 100) == history.oldest == 0
    first, held = history.span(90, 220) or (0, np.zeros(0))
    assert first == 200 and np.array_equal(held, counts(200, 20))  # newest run first
    assert history.span(100, 200) is None
    history.append(230, counts(230, 10))  # contiguous: same run
    assert history.newest_range == (200, 240)
    history.append(500, counts(500, 10))  # a third run: the oldest is forgotten
    assert history.window(60, 100) is None and history.oldest == 200
    history.append(100, counts(100, 20))  # a jump back is a new run too, read first
    assert np.array_equal(held_window(history, 100, 120), counts(100, 20))
    assert history.end == 120


def test_drop_before_forgets_older_samples_and_runs() -> None:
    history = RawHistory(keep=1000)
    history.append(0, counts(0, 100))
    history.append(300, counts(300, 100))
    history.drop_before(50)
    assert history.oldest == 50
    assert history.window(49, 60) is None
    assert np.array_equal(held_window(history, 50, 100), counts(50, 50))
    history.drop_before(320)  # the first run ends before it: gone
    assert history.oldest == 320 and history.run_start(320, 400) == 320
    assert history.window(300, 330) is None
    history.append(400, counts(400, 10))
    assert np.array_equal(held_window(history, 320, 410), counts(320, 90))
    history.drop_before(1000)
    assert history.oldest is None and history.end == 0 and history.newest_range == (0, 0)
    assert history.window(400, 410) is None


def test_volts_scale_each_channel_on_read() -> None:
    history = RawHistory(keep=10)
    history.append(0, np.array([[1, -2, 3], [4, 5, -6]], dtype=np.int16))
    volts = history.volts(1, 3, [0.5, 1e-3])
    assert volts is not None and volts.dtype == np.float32
    expected = np.array([[-2, 3], [5, -6]], np.float32) * np.array([[0.5], [1e-3]], np.float32)
    np.testing.assert_array_equal(volts, expected)
    volts[0, 0] = 9  # a copy
    assert history.window(1, 2)[0, 0] == -2  # type: ignore[index]
    assert history.volts(2, 5, [1.0, 1.0]) is None


def test_an_empty_block_changes_nothing() -> None:
    history = RawHistory(keep=10)
    history.append(5, np.zeros((2, 0), np.int16))
    assert history.oldest is None and history.end == 0
