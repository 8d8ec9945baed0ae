"""Adaptive pre-whitening: a streaming linear-prediction error filter per channel.

Stationary noise of any spectrum should look the same (white, unit variance) to the detector,
while short acoustic-emission bursts pass. Each channel is filtered by its own prediction-error
filter ``e[n] = g·(x[n] + a1·x[n-1] + … + ap·x[n-p])`` whose coefficients come from a slowly
tracked autocorrelation estimate, solved with Levinson–Durbin.

Segment grid (absolute sample indices from the first sample after :meth:`PreWhitener.reset`):
the first segment ends at ``hop // 16``, later ones double in length until they reach ``hop``
(boundaries 256, 512, …, 4096 for ``hop=4096``), then every segment is ``hop`` samples long
(boundaries at multiples of ``hop``). Coefficients change only at these boundaries, and the
kernel computes every output sample and every segment statistic in a fixed order, so the
output is bit-identical however the input is cut into blocks.

Adaptation, per channel, at the end of each segment of length ``L``:

1. ``r_seg[k] = Σ y[n]·y[n-k] / Σ w²`` over the segment, ``y = w·x`` with a Tukey taper
   ``w`` (cosine ends over ``taper/2`` of the segment each, default 0.5): the autocorrelation
   method, so every ``r_seg`` and every average of them is positive definite, and the taper
   keeps spectral leakage low enough to whiten 60 dB of dynamic range.
2. **Skip** the segment if it held a missing sample (NaN).
3. **Freeze rule**: ``P = cᵀ·T(r_seg)·c`` is the segment's power after the current whitening
   filter ``c`` (≈ 1 for noise, because the output is scaled to unit prediction-error power,
   so this compares the segment's power with the tracked noise power *in the whitened
   domain*; a burst that sits in a valley of the noise spectrum counts fully). If
   ``P > freeze_factor`` (default 4, i.e. 6 dB) an event is on and the segment is not used.
   After more than ``max_frozen`` consecutive frozen segments (default 32, 84 ms at
   1.5625 MHz) the background is taken to have changed for good and the estimate restarts
   from the current segment (no deadlock after a permanent level step).
4. Otherwise ``r ← r + w·(r_seg − r)`` with ``w = max(L / accepted, 1 − exp(−L / τ))``: a
   running mean of all accepted samples at start-up (the first segment initialises ``r``),
   an exponential average with time constant ``τ = time_constant_hops · hop`` samples later
   (default 128 hops: 0.34 s at 1.5625 MHz, 2.7 s at 192 kHz).
5. Levinson–Durbin on ``r`` with diagonal loading ``r[0]·(1 + loading)``; if a reflection
   coefficient reaches :data:`~aemon.dsp._whitening_kernels.MAX_REFLECTION` the loading grows
   tenfold until the recursion is stable. Output scale ``g = 1/sqrt(E)`` (``E`` the
   prediction-error power) makes whitened noise unit-variance.

Before the first segment has ended there are no coefficients: the output is 0 there (the
first ``hop // 16`` samples). Missing samples (NaN) count as 0 in the filter history, leave as
0, and exclude their segments from adaptation. Digital silence gives 0 and restarts the
estimate with the next segment.

Cost: about ``2·(order + 1)`` multiply-adds per sample (FIR plus autocorrelation). The default
order 24 was chosen by measurement (``python bench/bench_whitening.py``): order 16 leaves the
band-pass probes at a flatness of 0.80, order 24 reaches 0.85 at ~35 MS/s per core.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from aemon.dsp._whitening_kernels import (
    _C_ERR,
    _C_LASTNAN,
    _P_TAPER,
    _taper_numpy,
    _whiten_numba,
    _whiten_numpy,
)
from aemon.dsp.normalization import NormalizationParams

logger = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

DEFAULT_ORDER = 24
DEFAULT_HOP = 4096
DEFAULT_TIME_CONSTANT_HOPS = 128.0
DEFAULT_FREEZE_FACTOR = 4.0
DEFAULT_LOADING = 1e-8
DEFAULT_MAX_FROZEN = 32
DEFAULT_TAPER = 0.5


class PreWhitener:
    """Streaming adaptive prediction-error whitening of ``(channels, n)`` blocks.

    Args:
        channels: Number of channels (each has its own filter).
        order: Prediction order ``p`` (taps after the first).
        hop: Adaptation hop (samples); must be a multiple of 16 and ≥ ``16·(order + 1)``.
        time_constant_hops: Time constant of the autocorrelation average (hops); at the model
            rate of 1.5625 MHz the default 128 hops of 4096 samples is 0.34 s.
        freeze_factor: Skip adaptation on segments whose whitened power exceeds this factor
            (power ratio; 4 = 6 dB) over the tracked prediction-error power.
        loading: Diagonal loading (fraction of ``r[0]``) before Levinson–Durbin.
        max_frozen: Consecutive frozen segments after which the estimate restarts.
        use_numba: Run the compiled kernel (False: the numpy twin, for tests).
    """

    def __init__(
        self,
        channels: int,
        order: int = DEFAULT_ORDER,
        hop: int = DEFAULT_HOP,
        time_constant_hops: float = DEFAULT_TIME_CONSTANT_HOPS,
        freeze_factor: float = DEFAULT_FREEZE_FACTOR,
        loading: float = DEFAULT_LOADING,
        max_frozen: int = DEFAULT_MAX_FROZEN,
        taper: float = DEFAULT_TAPER,
        use_numba: bool = True,
    ) -> None:
        if channels < 1 or order < 1:
            raise ValueError("pre-whitener needs ≥ 1 channel and order ≥ 1")
        if hop % 16 or hop < 16 * (order + 1):
            raise ValueError(f"hop {hop} must be a multiple of 16 and ≥ 16·(order + 1)")
        if not (time_constant_hops > 0 and freeze_factor > 1 and loading >= 0):
            raise ValueError("time_constant_hops > 0, freeze_factor > 1, loading ≥ 0 required")
        self.channels, self.order, self.hop = channels, order, hop
        self.params = np.array(
            [hop, time_constant_hops * hop, freeze_factor, loading, max_frozen, taper], np.float64
        )
        self._kernel = _whiten_numba if use_numba else _whiten_numpy
        self.reset()

    def reset(self) -> None:
        """Forget everything: the next sample is sample 0 of a new stream."""
        c, p = self.channels, self.order
        self._buf = np.zeros((c, p + self.hop))
        self._acc = np.zeros((c, p + 1))
        self._coef = np.zeros((c, p + 1))
        self._r = np.zeros((c, p + 1))
        self._chan = np.zeros((c, 4))
        self._chan[:, _C_LASTNAN] = -(2.0**62)
        self._clock = np.array([0, 0, self.hop // 16], np.int64)
        self._window = np.ones(self.hop)
        self._window[: self.hop // 16] = _taper_numpy(self.hop // 16, float(self.params[_P_TAPER]))

    def __getstate__(self) -> dict[str, object]:
        """Pickled with the kernel by name: a numba dispatcher pickled by value is a new
        function in another process and compiles afresh there (5 s of CPU)."""
        return {**self.__dict__, "_kernel": self._kernel is _whiten_numba}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._kernel = _whiten_numba if state["_kernel"] else _whiten_numpy

    @property
    def coefficients(self) -> F64:
        """Current filter taps ``g·[1, a1 … ap]`` per channel, shape ``(channels, order+1)``."""
        return self._coef.copy()

    @property
    def error_power(self) -> F64:
        """Prediction-error power per channel (input units squared; 0 before start-up)."""
        return self._chan[:, _C_ERR].copy()

    def process(self, block: npt.ArrayLike) -> F32:
        """Whiten a ``(channels, n)`` block (any float dtype; NaN = missing) → float32."""
        x = np.asarray(block)
        if x.ndim != 2 or x.shape[0] != self.channels:
            raise ValueError(f"expected ({self.channels}, n) blocks, got {x.shape}")
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32)
        out = np.empty(x.shape, np.float32)
        if x.shape[1]:
            self._kernel(
                np.ascontiguousarray(x),
                out,
                self._buf,
                self._acc,
                self._coef,
                self._r,
                self._chan,
                self._clock,
                self._window,
                self.params,
            )
        return out


def whiten_window(
    x: npt.ArrayLike,
    order: int = DEFAULT_ORDER,
    hop: int = DEFAULT_HOP,
    time_constant_hops: float = DEFAULT_TIME_CONSTANT_HOPS,
    freeze_factor: float = DEFAULT_FREEZE_FACTOR,
    loading: float = DEFAULT_LOADING,
    preroll: int = 0,
) -> F32:
    """Whiten one training window with a fresh :class:`PreWhitener` (same code as live).

    Args:
        x: Samples ``(n,)`` or ``(channels, n)``.
        order, hop, time_constant_hops, freeze_factor, loading: As :class:`PreWhitener`.
        preroll: Leading samples that only train the filter; they are dropped from the output
            (so a window cut from a longer record can start with settled coefficients).

    Returns:
        float32 of shape ``x.shape[:-1] + (n - preroll,)``.
    """
    arr = np.asarray(x)
    two_d = np.atleast_2d(arr)
    whitener = PreWhitener(two_d.shape[0], order, hop, time_constant_hops, freeze_factor, loading)
    out = whitener.process(two_d)[:, preroll:]
    return out[0] if arr.ndim == 1 else out


def spectral_flatness(
    x: npt.ArrayLike, fs: float, band: tuple[float, float] | None = None, nperseg: int = 1024
) -> float:
    """Spectral flatness of ``x``: geometric over arithmetic mean of its Welch PSD.

    Args:
        x: 1-D samples.
        fs: Sample rate (Hz).
        band: ``(low, high)`` Hz range of PSD bins to use; None: all bins except DC and Nyquist.
        nperseg: Welch segment length (samples, Hann window, 50 % overlap).

    Returns:
        Flatness in (0, 1]; 1 for a perfectly flat PSD.
    """
    from scipy import signal as sps  # slow to import; not needed by the live path

    freqs, psd = sps.welch(np.asarray(x, np.float64), fs=fs, nperseg=nperseg)
    if band is None:
        keep = (freqs > 0) & (freqs < fs / 2)
    else:
        keep = (freqs >= band[0]) & (freqs <= band[1])
    sel = np.maximum(psd[keep], 1e-300)
    return float(np.exp(np.mean(np.log(sel))) / np.mean(sel))


def support_band(
    x: npt.ArrayLike, fs: float, range_db: float = 60.0, nperseg: int = 1024
) -> tuple[float, float]:
    """Frequency range (Hz) where the Welch PSD of ``x`` lies within ``range_db`` of its peak.

    Used to measure flatness where a probe actually has noise: digitally filtered test noise
    has exact spectral zeros (e.g. a Butterworth band-pass at DC and Nyquist) that no
    finite-order whitener can fill, while real recordings have a sensor/ADC noise floor there.

    Args:
        x: 1-D samples.
        fs: Sample rate (Hz).
        range_db: Dynamic range (dB) below the PSD peak that counts as support.
        nperseg: Welch segment length (samples).

    Returns:
        ``(low, high)`` in Hz: the contiguous run of qualifying bins around the peak (DC
        and Nyquist excluded).
    """
    from scipy import signal as sps  # slow to import; not needed by the live path

    freqs, psd = sps.welch(np.asarray(x, np.float64), fs=fs, nperseg=nperseg)
    inner = slice(1, -1)
    freqs, psd = freqs[inner], psd[inner]
    inside = psd >= psd.max() * 10 ** (-range_db / 10)
    peak = int(np.argmax(psd))
    outside = np.flatnonzero(~inside)
    lo = outside[outside < peak]
    hi = outside[outside > peak]
    first = int(lo[-1]) + 1 if lo.size else 0
    last = int(hi[0]) - 1 if hi.size else psd.size - 1
    return float(freqs[first]), float(freqs[last])


def make_whitener(params: NormalizationParams, channels: int) -> PreWhitener | None:
    """The pre-whitener a model's normalisation asks for (None when it asks for none)."""
    if not params.whiten_order:
        return None
    return PreWhitener(
        channels,
        order=params.whiten_order,
        hop=params.whiten_hop,
        time_constant_hops=params.whiten_time_constant_hops,
    )


def whiten_training_window(x: npt.NDArray[np.floating], params: NormalizationParams) -> F32:
    """Whiten a training window ``(channels, preroll + n)`` with the live pre-whitener.

    The first :func:`training_preroll` samples only settle the filter and are dropped, so the
    model trains on what the live path produces once the filter has adapted.
    """
    whitener = make_whitener(params, x.shape[0])
    if whitener is None:
        return np.asarray(x, np.float32)
    return whitener.process(np.asarray(x, np.float64))[:, training_preroll(params) :]


def training_preroll(params: NormalizationParams) -> int:
    """Samples drawn before each training window to settle the pre-whitener (0 without one)."""
    return 2 * params.whiten_hop if params.whiten_order else 0
