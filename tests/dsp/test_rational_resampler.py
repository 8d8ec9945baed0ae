"""The streaming rational resampler equals one-shot ``scipy.signal.resample_poly``."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from scipy.signal import chirp, resample_poly

from aemon.dsp.rational_resampler import RationalResampler, rational_ratio


@pytest.mark.parametrize(
    ("from_hz", "to_hz", "expected"),
    [
        (2e6, 1.5625e6, Fraction(25, 32)),  # spotWave, linWave at decimation 5
        (10e6, 1.5625e6, Fraction(5, 32)),  # linWave at full rate
        (5e6, 1.5625e6, Fraction(5, 16)),  # linWave at decimation 2
        (3.125e6, 1.5625e6, Fraction(1, 2)),
        (1.5625e6, 1.5625e6, Fraction(1, 1)),
    ],
)
def test_known_ratios(from_hz: float, to_hz: float, expected: Fraction) -> None:
    assert rational_ratio(from_hz, to_hz) == expected


def test_ratio_refused_when_terms_are_large_or_rates_fractional() -> None:
    assert rational_ratio(1_000_003.0, 1.5625e6) is None  # 3125000/2000006 in lowest terms
    assert rational_ratio(2e6 + 0.5, 1.5625e6) is None


def _blocks(x: np.ndarray, rng: np.random.Generator, longest: int) -> list[np.ndarray]:
    cuts = np.cumsum(rng.integers(1, longest, size=x.shape[1]))
    cuts = cuts[cuts < x.shape[1]]
    return np.split(x, cuts, axis=1)


@pytest.mark.parametrize(("from_hz", "up", "down"), [(2e6, 25, 32), (10e6, 5, 32), (3e6, 2, 3)])
def test_chirp_through_block_cuts_equals_one_shot_resample_poly(
    from_hz: float, up: int, down: int
) -> None:
    n = 30_011
    t = np.arange(n) / from_hz
    sweep = chirp(t, 1e3, t[-1], 0.45 * from_hz)  # up to just under the input Nyquist
    noise = np.random.default_rng(3).normal(0.0, 1000.0, n)
    x = np.stack([sweep * 3000.0, noise]).astype(np.int16)  # int16 counts, as a device sends
    expected = resample_poly(x.astype(np.float64), up, down, axis=1)

    resampler = RationalResampler(up, down, channels=2, dtype=np.float64)
    pieces, next_out = [], 0
    for block in _blocks(x, np.random.default_rng(7), 4000):
        out = resampler.push(block)
        assert out.first == next_out
        next_out += out.samples.shape[1]
        pieces.append(out.samples)
    tail = resampler.flush()
    assert tail.first == next_out
    streamed = np.concatenate([*pieces, tail.samples], axis=1)

    assert streamed.shape == expected.shape == (2, -(-n * up // down))
    np.testing.assert_allclose(streamed, expected, rtol=0, atol=1e-9 * np.abs(expected).max())


def test_latency_is_bounded_by_the_filter_half_length() -> None:
    resampler = RationalResampler(5, 32, channels=1, dtype=np.float64)
    given = received = 0
    for size in np.random.default_rng(0).integers(1, 400, size=200):
        given += resampler.push(np.ones((1, size))).samples.shape[1]
        received += size
        owed = -(-received * 5 // 32)  # outputs whose time has come
        assert 0 < owed - given <= resampler.latency_samples * 5 // 32 + 1
    assert resampler.latency_samples == 65


def test_restart_keeps_output_indices_on_input_time() -> None:
    up, down = 25, 32
    x = np.random.default_rng(0).normal(size=(1, 20_000))
    gap_start, gap_stop = 7_001, 9_337
    resampler = RationalResampler(up, down, channels=1, dtype=np.float64)
    head = resampler.push(x[:, :gap_start])
    tail = resampler.restart(gap_stop)
    after = resampler.push(x[:, gap_stop:])
    end = resampler.flush()

    # before the gap: exactly resample_poly of the first run (ended with zeros)
    first_run = resample_poly(x[0, :gap_start], up, down)
    got = np.concatenate([head.samples, tail.samples], axis=1)[0]
    np.testing.assert_allclose(got, first_run, atol=1e-12)
    # after the gap: outputs start on the same grid, at the first one at or after gap_stop
    assert after.first == -(-gap_stop * up // down)
    assert end.first + end.samples.shape[1] == -(-x.shape[1] * up // down)
    # and equal resample_poly of the signal with the gap as zeros, away from the gap's edges
    zeroed = x[0].copy()
    zeroed[gap_start:gap_stop] = 0.0
    whole = resample_poly(zeroed, up, down)
    second = np.concatenate([after.samples, end.samples], axis=1)[0]
    np.testing.assert_allclose(second, whole[after.first :], atol=1e-12)
