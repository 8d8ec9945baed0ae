"""Compiled and plain-numpy kernels of the adaptive pre-whitener (:mod:`aemon.dsp.whitening`).

:func:`_whiten_numba` is the hot loop; :func:`_whiten_numpy` is its plain-numpy twin with the
same arguments and state layout (used by tests to check the compiled code). Both implement
the segment grid, tapered autocorrelation, freeze rule and Levinson–Durbin solve described in
:mod:`aemon.dsp.whitening`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

MAX_REFLECTION = 0.9999
"""Largest |reflection coefficient| accepted before the loading is raised."""

# params vector layout (float64) shared by both kernels
_P_HOP, _P_TAU, _P_FREEZE, _P_LOAD, _P_MAXFROZEN, _P_TAPER = range(6)
# per-channel scalar state columns
_C_WEIGHT, _C_ERR, _C_FROZEN, _C_LASTNAN = range(4)
# clock: absolute index of the next sample, current segment start, current segment end
_T, _START, _END = range(3)


@njit(cache=True, nogil=True)
def _next_boundary(boundary: int, hop: int) -> int:  # pragma: no cover - compiled
    if boundary < hop:
        return min(2 * boundary, hop)
    return boundary + hop


@njit(cache=True, nogil=True)
def _levinson_once(r: np.ndarray, loading: float, coef: np.ndarray) -> float:  # pragma: no cover
    """Levinson–Durbin on ``r`` with ``r[0]·(1 + loading)``: ``coef = [1, a1…ap]``.

    Returns the prediction-error power, or -1 if a reflection coefficient reached
    :data:`MAX_REFLECTION` (the estimate is not safely positive definite).
    """
    p = r.shape[0] - 1
    a = np.zeros(p + 1)
    prev = np.zeros(p + 1)
    a[0] = 1.0
    err = r[0] * (1.0 + loading)
    for i in range(1, p + 1):
        acc = r[i]
        for j in range(1, i):
            acc += a[j] * r[i - j]
        k = -acc / err
        if not abs(k) < MAX_REFLECTION:
            return -1.0
        prev[:i] = a[:i]
        for j in range(1, i):
            a[j] = prev[j] + k * prev[i - j]
        a[i] = k
        err *= 1.0 - k * k
    coef[:] = a
    return err


@njit(cache=True, nogil=True)
def _levinson(r: np.ndarray, loading: float, coef: np.ndarray) -> float:  # pragma: no cover
    """Prediction-error filter of ``r``, scaled to unit error power: ``coef = g·[1, a1…ap]``.

    The loading starts at ``loading`` and grows tenfold (up to 10 %) until the recursion is
    stable. Returns the prediction-error power ``E`` (0 with coef = 0 when ``r[0] ≤ 0``).
    """
    coef[:] = 0.0
    if not r[0] > 1e-300:
        return 0.0
    load = loading
    err = _levinson_once(r, load, coef)
    while err <= 0.0 and load < 0.1:
        load = max(10.0 * load, 1e-9)
        err = _levinson_once(r, load, coef)
    if err <= 0.0:  # pragma: no cover - cannot happen for r[0] > 0 with 10 % loading
        coef[:] = 0.0
        return 0.0
    gain = 1.0 / math.sqrt(err)
    for j in range(coef.shape[0]):
        coef[j] *= gain
    return err


@njit(cache=True, nogil=True)
def _end_segment(
    c: int,
    length: int,
    seg_start: int,
    buf: np.ndarray,
    acc: np.ndarray,
    coef: np.ndarray,
    r: np.ndarray,
    chan: np.ndarray,
    params: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Adapt channel ``c`` at the end of a segment (see the module docstring)."""
    p = r.shape[1] - 1
    usable = chan[c, _C_LASTNAN] < seg_start
    if usable:
        rs = acc[c].copy()
        if chan[c, _C_WEIGHT] <= 0.0:
            restart = True
        else:
            power = 0.0
            for j in range(p + 1):
                for k in range(p + 1):
                    power += coef[c, j] * coef[c, k] * rs[abs(j - k)]
            restart = False
            if power > params[_P_FREEZE]:
                chan[c, _C_FROZEN] += 1.0
                usable = False
                if chan[c, _C_FROZEN] > params[_P_MAXFROZEN]:
                    restart = True
                    usable = True
        if usable:
            if restart:
                r[c] = rs
                chan[c, _C_WEIGHT] = length
            else:
                w = max(
                    length / (chan[c, _C_WEIGHT] + length),
                    1.0 - math.exp(-length / params[_P_TAU]),
                )
                r[c] += w * (rs - r[c])
                chan[c, _C_WEIGHT] += length
            chan[c, _C_FROZEN] = 0.0
            err = _levinson(r[c], params[_P_LOAD], coef[c])
            chan[c, _C_ERR] = err
            if err <= 0.0:  # digital silence: start again with the next segment
                chan[c, _C_WEIGHT] = 0.0
    acc[c] = 0.0
    buf[c, :p] = buf[c, length : length + p]


@njit(cache=True, nogil=True)
def _taper(length: int, taper: float, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Tukey window of ``length`` samples (cosine ends over ``taper/2`` of it each) into out."""
    edge = int(0.5 * taper * length)
    for j in range(length):
        out[j] = 1.0
    for j in range(edge):
        w = 0.5 - 0.5 * math.cos(math.pi * (j + 0.5) / edge)
        out[j] = w
        out[length - 1 - j] = w


@njit(cache=True, nogil=True, fastmath={"reassoc", "nsz", "arcp"})
def _autocorr(
    seg: np.ndarray, window: np.ndarray, p: int, y: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """Tapered autocorrelation (autocorrelation method, always positive definite).

    ``y = seg·window``; ``out[k] = Σ_j y[j]·y[j-k] / Σ window²`` for lags ``k = 0…p``.
    """
    length = seg.shape[0]
    norm = 0.0
    for j in range(length):
        y[j] = seg[j] * window[j]
        norm += window[j] * window[j]
    k = 0
    while k + 3 <= p:  # four lags per pass over the segment
        s0 = s1 = s2 = s3 = 0.0
        for j in range(k + 3, length):
            v = y[j]
            s0 += v * y[j - k]
            s1 += v * y[j - k - 1]
            s2 += v * y[j - k - 2]
            s3 += v * y[j - k - 3]
        for j in range(k, min(k + 3, length)):  # the first samples of the shorter lags
            v = y[j]
            s0 += v * y[j - k]
            if j >= k + 1:
                s1 += v * y[j - k - 1]
            if j >= k + 2:
                s2 += v * y[j - k - 2]
        out[k], out[k + 1], out[k + 2], out[k + 3] = s0, s1, s2, s3
        k += 4
    while k <= p:
        s = 0.0
        for j in range(k, length):
            s += y[j] * y[j - k]
        out[k] = s
        k += 1
    for k in range(p + 1):
        out[k] /= norm


@njit(cache=True, nogil=True)
def _fir(
    bc: np.ndarray, cc: np.ndarray, base: int, m: int, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``out[j] = Σ_k cc[k]·bc[base+j-k]`` (four taps per pass; per-sample order fixed)."""
    p = cc.shape[0] - 1
    for j in range(m):
        out[j] = 0.0
    k = 0
    while k + 3 <= p:
        c0, c1, c2, c3 = cc[k], cc[k + 1], cc[k + 2], cc[k + 3]
        off = base - k
        for j in range(m):
            head = c0 * bc[off + j] + c1 * bc[off + j - 1]
            out[j] += head + c2 * bc[off + j - 2] + c3 * bc[off + j - 3]
        k += 4
    while k <= p:
        ck = cc[k]
        off = base - k
        for j in range(m):
            out[j] += ck * bc[off + j]
        k += 1


@njit(cache=True, nogil=True)
def _whiten_numba(
    x: np.ndarray,
    out: np.ndarray,
    buf: np.ndarray,
    acc: np.ndarray,
    coef: np.ndarray,
    r: np.ndarray,
    chan: np.ndarray,
    clock: np.ndarray,
    window: np.ndarray,
    params: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Whiten ``x`` (channels, n) into ``out``, updating the state arrays in place."""
    channels, n = x.shape
    p = coef.shape[1] - 1
    hop = int(params[_P_HOP])
    tmp = np.empty(hop)
    i = 0
    while i < n:
        t, seg_start, seg_end = clock[_T], clock[_START], clock[_END]
        m = min(n - i, seg_end - t)
        base = p + (t - seg_start)
        for c in range(channels):
            bc = buf[c]
            for j in range(m):
                v = x[c, i + j]
                if np.isnan(v):
                    bc[base + j] = 0.0
                    chan[c, _C_LASTNAN] = t + j
                else:
                    bc[base + j] = v
            _fir(bc, coef[c], base, m, tmp)
            for j in range(m):
                out[c, i + j] = 0.0 if np.isnan(x[c, i + j]) else tmp[j]
        i += m
        t += m
        clock[_T] = t
        if t == seg_end:
            length = seg_end - seg_start
            for c in range(channels):
                _autocorr(buf[c, p : p + length], window, p, tmp, acc[c])
                _end_segment(c, length, seg_start, buf, acc, coef, r, chan, params)
            clock[_START] = seg_end
            clock[_END] = _next_boundary(seg_end, hop)
            if clock[_END] - seg_end != length:
                _taper(clock[_END] - seg_end, params[_P_TAPER], window)


def _whiten_numpy(
    x: np.ndarray,
    out: np.ndarray,
    buf: np.ndarray,
    acc: np.ndarray,
    coef: np.ndarray,
    r: np.ndarray,
    chan: np.ndarray,
    clock: np.ndarray,
    window: np.ndarray,
    params: np.ndarray,
) -> None:
    """Plain-numpy twin of :func:`_whiten_numba` (same arguments, same state; for tests)."""
    channels, n = x.shape
    p = coef.shape[1] - 1
    hop = int(params[_P_HOP])
    i = 0
    while i < n:
        t, seg_start, seg_end = int(clock[_T]), int(clock[_START]), int(clock[_END])
        m = min(n - i, seg_end - t)
        base = p + (t - seg_start)
        chunk = x[:, i : i + m].astype(np.float64)
        missing = np.isnan(chunk)
        chunk[missing] = 0.0
        for c in range(channels):
            hit = np.flatnonzero(missing[c])
            if hit.size:
                chan[c, _C_LASTNAN] = t + hit[-1]
            buf[c, base : base + m] = chunk[c]
            e = np.convolve(buf[c, base - p : base + m], coef[c], mode="valid")
            out[c, i : i + m] = np.where(missing[c], 0.0, e)
        i += m
        t += m
        clock[_T] = t
        if t == seg_end:
            length = seg_end - seg_start
            for c in range(channels):
                y = buf[c, p : p + length] * window[:length]
                full = np.correlate(y, y, mode="full")[length - 1 : length + p]
                acc[c] = full / np.sum(window[:length] ** 2)
                _end_segment_numpy(c, length, seg_start, buf, acc, coef, r, chan, params)
            clock[_START] = seg_end
            clock[_END] = seg_end + hop if seg_end >= hop else min(2 * seg_end, hop)
            window[: clock[_END] - seg_end] = _taper_numpy(clock[_END] - seg_end, params[_P_TAPER])


def _taper_numpy(length: int, taper: float) -> np.ndarray:
    """Numpy twin of :func:`_taper`."""
    edge = int(0.5 * taper * length)
    w = np.ones(length)
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(edge) + 0.5) / edge) if edge else np.ones(0)
    w[:edge] = ramp
    w[length - edge :] = ramp[::-1]
    return w


def _end_segment_numpy(
    c: int,
    length: int,
    seg_start: int,
    buf: np.ndarray,
    acc: np.ndarray,
    coef: np.ndarray,
    r: np.ndarray,
    chan: np.ndarray,
    params: np.ndarray,
) -> None:
    """Numpy twin of the compiled end-of-segment update (Levinson via scipy)."""
    p = r.shape[1] - 1
    if chan[c, _C_LASTNAN] < seg_start - p:
        rs = acc[c].copy()
        restart, usable = chan[c, _C_WEIGHT] <= 0.0, True
        if not restart:
            lags = np.abs(np.subtract.outer(np.arange(p + 1), np.arange(p + 1)))
            if coef[c] @ rs[lags] @ coef[c] > params[_P_FREEZE]:
                chan[c, _C_FROZEN] += 1.0
                restart = usable = chan[c, _C_FROZEN] > params[_P_MAXFROZEN]
        if usable:
            if restart:
                r[c] = rs
                chan[c, _C_WEIGHT] = length
            else:
                tau = params[_P_TAU]
                w = max(length / (chan[c, _C_WEIGHT] + length), 1.0 - math.exp(-length / tau))
                r[c] += w * (rs - r[c])
                chan[c, _C_WEIGHT] += length
            chan[c, _C_FROZEN] = 0.0
            err = _levinson_numpy(r[c], params[_P_LOAD], coef[c])
            chan[c, _C_ERR] = err
            if err <= 0.0:
                chan[c, _C_WEIGHT] = 0.0
    acc[c] = 0.0
    buf[c, :p] = buf[c, length : length + p]


def _levinson_numpy(r: np.ndarray, loading: float, coef: np.ndarray) -> float:
    """Same recursion and loading schedule as :func:`_levinson`, with numpy vector operations."""
    coef[:] = 0.0
    if not r[0] > 1e-300:
        return 0.0
    load = loading
    while True:
        a, err = _levinson_once_numpy(r, load)
        if err > 0.0 or load >= 0.1:
            break
        load = max(10.0 * load, 1e-9)
    if err <= 0.0:  # pragma: no cover
        return 0.0
    coef[:] = a / math.sqrt(err)
    return err


def _levinson_once_numpy(r: np.ndarray, loading: float) -> tuple[np.ndarray, float]:
    p = r.shape[0] - 1
    rl = r.copy()
    rl[0] = r[0] * (1.0 + loading)
    a = np.zeros(p + 1)
    a[0], err = 1.0, float(rl[0])
    for i in range(1, p + 1):
        k = -(rl[i] + a[1:i] @ rl[i - 1 : 0 : -1]) / err
        if not abs(k) < MAX_REFLECTION:
            return a, -1.0
        a[1:i] = a[1:i] + k * a[i - 1 : 0 : -1]
        a[i] = k
        err *= 1.0 - k * k
    return a, err
