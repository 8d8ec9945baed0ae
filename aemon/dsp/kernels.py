"""Numba kernels of the detector's preprocessing (see :mod:`aemon.dsp.preprocess`).

All loop over ``(channels, n)`` arrays, release the GIL, and are cached on disk.
:func:`butter2_highpass` designs the coefficients :func:`volts_highpass` runs.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit


def butter2_highpass(corner_hz: float, sample_rate_hz: float) -> npt.NDArray[np.float64]:
    """2nd-order Butterworth high-pass (bilinear, pre-warped) as ``[b0, b1, b2, a1, a2]``.

    The closed form of ``scipy.signal.butter(2, corner_hz, "highpass", fs=sample_rate_hz)``
    (``a0 = 1``), so the live path does not import ``scipy.signal`` (about 1 s at startup).
    """
    k = math.tan(math.pi * corner_hz / sample_rate_hz)
    norm = 1.0 / (1.0 + math.sqrt(2.0) * k + k * k)
    a1 = 2.0 * (k * k - 1.0) * norm
    a2 = (1.0 - math.sqrt(2.0) * k + k * k) * norm
    return np.array([norm, -2.0 * norm, norm, a1, a2], np.float64)


@njit(cache=True, nogil=True)
def volts_highpass(
    block: np.ndarray, scale: float, coef: np.ndarray, state: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``out = highpass(block × scale)``; biquad in transposed direct form II, float64 state."""
    b0, b1, b2, a1, a2 = coef[0], coef[1], coef[2], coef[3], coef[4]
    for c in range(block.shape[0]):
        z1, z2 = state[c, 0], state[c, 1]
        for i in range(block.shape[1]):
            x = float(block[c, i]) * scale
            if not np.isfinite(x):
                x = 0.0
            y = b0 * x + z1
            z1 = b1 * x - a1 * y + z2
            z2 = b2 * x - a2 * y
            out[c, i] = y
        state[c, 0], state[c, 1] = z1, z2


@njit(cache=True, nogil=True)
def volts(block: np.ndarray, scale: float, out: np.ndarray) -> None:  # pragma: no cover
    """``out = block × scale`` without filtering; non-finite samples become 0."""
    for c in range(block.shape[0]):
        for i in range(block.shape[1]):
            x = np.float64(block[c, i]) * scale
            out[c, i] = x if np.isfinite(x) else 0.0


@njit(cache=True, nogil=True)
def fir_decimate(
    buf: np.ndarray, taps: np.ndarray, factor: int, count: int, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``out[c, j] = Σ_k taps[k] · buf[c, j·factor + k]`` for ``j < count`` (NaN propagates)."""
    n_taps = taps.shape[0]
    for c in range(buf.shape[0]):
        for j in range(count):
            base = j * factor
            acc = 0.0
            for k in range(n_taps):
                acc += taps[k] * buf[c, base + k]
            out[c, j] = acc


@njit(cache=True, nogil=True, fastmath={"afn", "arcp", "contract", "nsz", "reassoc"})
def scale_compress(
    x: np.ndarray, inverse: np.ndarray, asinh: bool, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``out = asinh(x · inverse[c])`` (or linear); NaN (missing) samples become 0."""
    for c in range(x.shape[0]):
        inv = inverse[c]
        for i in range(x.shape[1]):
            v = x[c, i] * inv
            if np.isnan(v):
                out[c, i] = 0.0
            elif asinh:  # asinh(v) = sign(v) · log(|v| + sqrt(v² + 1)); exact for |v| < 1e150
                a = abs(v)
                r = np.log(a + np.sqrt(a * a + 1.0))
                out[c, i] = r if v >= 0 else -r
            else:
                out[c, i] = v
