"""Exact rational resampling, streaming: ``up/down`` with the filter of ``resample_poly``.

A source at 2 MHz (spotWave, linWave at decimation 5) reaches the 1.5625 MHz model by
``25/32``; 10 MHz (linWave) by ``5/32``. :class:`RationalResampler` computes, block by block,
exactly the samples one call of ``scipy.signal.resample_poly(x, up, down)`` gives for the
whole signal (same Kaiser-windowed FIR, same alignment, zeros before the first sample and
after :meth:`~RationalResampler.flush`), whatever the block cuts. Output sample ``m``
(counted from the stream's first input sample) lies at input position ``m · down / up``:

    y[m] = Σₙ x[n] · h[m·down + half − n·up],   h = up · firwin(2·half + 1, 1/max(up, down))

with ``half = 10 · max(up, down)``. It needs the input up to ``n = ⌊(m·down + half)/up⌋``,
so an output waits at most ``half / up + 1`` input samples (:attr:`latency_samples`): 13 at
25/32 (6.5 µs at 2 MHz), 65 at 5/32 (6.5 µs at 10 MHz). Polyphase, one Numba loop: each
output costs ``⌈(2·half + 1)/up⌉`` multiply-adds per channel (26 at 25/32, 129 at 5/32).

A gap (:meth:`RationalResampler.restart`) ends a run like the end of the signal and starts
the next one on the same output grid, so output indices stay tied to input time.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

MAX_RATIO_TERM = 1024
"""Largest ``up`` or ``down`` :func:`rational_ratio` accepts (the filter has 20·max + 1 taps)."""
HALF_LENGTH_PER_RATE = 10
"""``resample_poly``'s half filter length per unit of ``max(up, down)``."""


def rational_ratio(from_hz: float, to_hz: float, max_term: int = MAX_RATIO_TERM) -> Fraction | None:
    """``to_hz / from_hz`` as ``up/down`` in lowest terms, if it is exact with small terms.

    Both rates must be whole numbers of hertz (to 1e-6 Hz): 2 MHz → 1.5625 MHz is 25/32,
    10 MHz → 1.5625 MHz is 5/32. None when the ratio needs a term above ``max_term``.
    """
    rates = []
    for rate in (from_hz, to_hz):
        whole = round(rate)
        if whole <= 0 or abs(rate - whole) > 1e-6:
            return None
        rates.append(whole)
    ratio = Fraction(rates[1], rates[0])
    if max(ratio.numerator, ratio.denominator) > max_term:
        return None
    return ratio


def resample_poly_taps(up: int, down: int) -> npt.NDArray[np.float64]:
    """The FIR ``scipy.signal.resample_poly(x, up, down)`` uses by default (gain ``up``)."""
    from scipy.signal import firwin

    max_rate = max(up, down)
    half = HALF_LENGTH_PER_RATE * max_rate
    taps: npt.NDArray[np.float64] = firwin(2 * half + 1, 1.0 / max_rate, window=("kaiser", 5.0))
    return taps * up


@njit(cache=True, nogil=True)
def _polyphase(
    buf: np.ndarray,
    buf_start: int,
    phases: np.ndarray,
    first_out: int,
    count: int,
    up: int,
    down: int,
    half: int,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """``out[:, i] = y[first_out + i]``; ``buf[:, j]`` is input ``buf_start + j`` (zeros before
    the run are in ``buf``); ``phases[p, j] = h[p + j·up]``."""
    taps = phases.shape[1]
    for i in range(count):
        t = (first_out + i) * down + half
        base = t // up - buf_start
        p = t % up
        for c in range(buf.shape[0]):
            acc = 0.0
            for j in range(taps):
                acc += phases[p, j] * buf[c, base - j]
            out[c, i] = acc


class Resampled(NamedTuple):
    """Output of one call: ``samples[:, i]`` is output index ``first + i`` (from the origin)."""

    first: int
    samples: npt.NDArray[np.floating]


class RationalResampler:
    """Streaming ``up/down`` resampler of ``(channels, n)`` blocks, equal to ``resample_poly``.

    Args:
        up: Upsampling factor (``to_rate / from_rate = up / down``).
        down: Downsampling factor.
        channels: Channels per block.
        dtype: Output sample type (float32 for the detector, float64 to compare exactly).
    """

    def __init__(self, up: int, down: int, channels: int, dtype: type = np.float32) -> None:
        if up < 1 or down < 1:
            raise ValueError(f"up and down must be at least 1, not {up}/{down}")
        ratio = Fraction(up, down)
        self.up, self.down = ratio.numerator, ratio.denominator
        self.channels = int(channels)
        self.dtype = np.dtype(dtype)
        self.half = HALF_LENGTH_PER_RATE * max(self.up, self.down)
        taps = resample_poly_taps(self.up, self.down)
        per_phase = math.ceil(taps.size / self.up)
        padded = np.zeros(per_phase * self.up)
        padded[: taps.size] = taps
        self._phases = np.ascontiguousarray(padded.reshape(per_phase, self.up).T)
        self._history = per_phase - 1  # input samples before the newest one an output reads
        self._buf: npt.NDArray[np.float64] = np.zeros((self.channels, self._history))
        self._start_run(0)

    @property
    def latency_samples(self) -> int:
        """Input samples that can arrive before the output they complete is given (at most)."""
        return self.half // self.up + 1

    @property
    def next_input(self) -> int:
        """Input index (from the origin) the next :meth:`push` continues at."""
        return self._end

    def output_at_or_after(self, input_index: int) -> int:
        """First output index whose time is at or after input ``input_index``."""
        return -(-input_index * self.up // self.down)

    def push(self, block: npt.NDArray[np.generic]) -> Resampled:
        """Append the next input block; return every output it completes."""
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ValueError(f"expected a ({self.channels}, n) block, got shape {block.shape}")
        self._buf = np.concatenate([self._buf, block.astype(np.float64)], axis=1)
        self._end += block.shape[1]
        ready = (self._end * self.up - 1 - self.half) // self.down + 1  # y[m] needs n < _end
        return self._emit(ready)

    def flush(self) -> Resampled:
        """End the run: every output before the end of the input, zeros after it (as
        ``resample_poly`` pads), so the run totals ``⌈n · up / down⌉`` outputs."""
        stop = self.output_at_or_after(self._end)
        need = ((stop - 1) * self.down + self.half) // self.up + 1 - self._end
        if need > 0:
            self._buf = np.concatenate([self._buf, np.zeros((self.channels, need))], axis=1)
        out = self._emit(stop)
        self._start_run(self._end)
        return out

    def restart(self, input_index: int) -> Resampled:
        """Flush the run and start the next at input ``input_index`` (after a gap): its first
        output is :meth:`output_at_or_after` ``(input_index)``. Returns the flushed tail."""
        if input_index < self._end:
            raise ValueError(f"restart at {input_index} is before the input end {self._end}")
        tail = self.flush()
        self._start_run(input_index)
        return tail

    def _start_run(self, input_index: int) -> None:
        self._end = int(input_index)
        self._buf_start = self._end - self._history
        self._buf = np.zeros((self.channels, self._history))
        self._next_out = self.output_at_or_after(self._end)

    def _emit(self, stop: int) -> Resampled:
        first, count = self._next_out, max(stop - self._next_out, 0)
        out = np.empty((self.channels, count), dtype=self.dtype)
        if count:
            _polyphase(
                self._buf, self._buf_start, self._phases, first, count,
                self.up, self.down, self.half, out,
            )  # fmt: skip
            self._next_out = stop
        keep_from = (self._next_out * self.down + self.half) // self.up - self._history
        drop = min(max(keep_from - self._buf_start, 0), self._buf.shape[1])
        if drop:
            self._buf = self._buf[:, drop:]
            self._buf_start += drop
        return Resampled(first, out)
