"""Numba kernels of the site features, each with its plain-numpy twin (``*_numpy``, the
reference the tests compare it with): the live stream measures every candidate, hundreds a
second on an impulsive machine, so the features cost microseconds, not numpy calls.

- :func:`span_levels`: the levels, peak, decay and kurtosis of a detection's span;
- :func:`band_spectrum`: band powers over the noise's, fractions, centroid, bandwidth,
  flatness;
- :func:`background_peaks`: the AE-band frame peaks of the stretch before the onset.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

from aemon.dsp.normalization import MAD_TO_RMS

logger = logging.getLogger(__name__)

__all__ = [
    "SpanLevels",
    "background_peaks",
    "background_peaks_numpy",
    "band_spectrum",
    "band_spectrum_numpy",
    "span_levels",
    "span_levels_numpy",
]

FLOOR = 1e-30
"""Smallest level (V) a feature's ratio divides by (also the site features')."""
F64 = npt.NDArray[np.float64]


class SpanLevels(NamedTuple):
    """What :func:`span_levels` measures (in the unit of ``x``, about the noise's median).

    Attributes:
        centre: Median of the noise stretch (the DC offset taken off everything).
        noise: Robust RMS of the noise stretch (``median(|n - centre|) / 0.6745``).
        peak: Largest ``|x - centre|`` of the event.
        peak_at: Its index from the onset (samples).
        pre_rms: RMS of the stretch just before the onset (0 if none).
        first_rms: RMS of the span's first samples.
        head_rms: RMS of the span's first half.
        tail_rms: RMS of its second half (0 if the span is one sample).
        span_rms: RMS of the span.
        kurtosis: Kurtosis of the span about its mean (``E[c^4] / max(E[c^2], FLOOR)^2``).
    """

    centre: float
    noise: float
    peak: float
    peak_at: int
    pre_rms: float
    first_rms: float
    head_rms: float
    tail_rms: float
    span_rms: float
    kurtosis: float


def span_levels(
    x: F64, onset: int, stop: int, n_noise: int, length: int, n_pre: int, n_first: int
) -> SpanLevels:
    """Levels of the detection ``x[onset:stop]`` and its span ``x[onset:onset + length]``.

    Args:
        x: One channel (float64).
        onset: Index of the onset.
        stop: One past the event's end (``onset < stop <= x.size``).
        n_noise: Noise samples before the onset (under 16: the event itself is the noise).
        length: Span length (samples), clipped at the end of ``x``.
        n_pre: Samples just before the onset for ``pre_rms``.
        n_first: Samples at the span's start for ``first_rms`` (at least one).
    """
    return SpanLevels(*_span_levels_numba(np.ascontiguousarray(x, np.float64), onset, stop,
                                          n_noise, length, n_pre, n_first))  # fmt: skip


def span_levels_numpy(
    x: F64, onset: int, stop: int, n_noise: int, length: int, n_pre: int, n_first: int
) -> SpanLevels:
    """:func:`span_levels` in plain numpy."""
    noise_part = x[onset - n_noise : onset] if n_noise >= 16 else x[onset:stop]
    centre = float(np.median(noise_part))
    noise = _robust_rms_numpy(np.abs(noise_part - centre))
    span = x[onset : min(x.size, onset + length)] - centre
    a = np.abs(x[onset:stop] - centre)
    peak_at = int(np.argmax(a))
    pre = x[max(0, onset - n_pre) : onset] - centre
    half = max(1, span.size // 2)
    centred = span - np.mean(span)
    var = max(float(np.mean(centred**2)), FLOOR)
    return SpanLevels(centre, noise, float(a[peak_at]), peak_at, _rms(pre),
                      _rms(span[: max(1, n_first)]), _rms(span[:half]), _rms(span[half:]),
                      _rms(span), float(np.mean(centred**4)) / var**2)  # fmt: skip


def _robust_rms_numpy(magnitudes: F64) -> float:
    """``median / 0.6745`` of ``|x|`` values (0 where more than half are 0: the caller floors
    it, and the shipped classifiers learnt that)."""
    return float(np.median(magnitudes)) / MAD_TO_RMS


def _rms(x: F64) -> float:
    return float(np.sqrt(np.mean(x**2))) if x.size else 0.0


def band_spectrum(
    power: F64, noise_power: F64, freqs: F64, edges: npt.NDArray[np.int64]
) -> tuple[F64, F64, float, float, float]:
    """Per band ``[edges[i], edges[i + 1])`` the power over the noise's (dB, 0 for an empty
    band) and the fraction of the power in all bands; the centroid (Hz), bandwidth (octaves
    between the 10 % and 90 % points of the cumulative power) and flatness of the power in
    all bands (``edges[0]`` to ``edges[-1]``, at least one bin)."""
    over, fraction = np.zeros(edges.size - 1), np.zeros(edges.size - 1)
    centroid, bandwidth, flatness = _band_spectrum_numba(
        np.ascontiguousarray(power), np.ascontiguousarray(noise_power),
        np.ascontiguousarray(freqs), np.ascontiguousarray(edges, np.int64), over, fraction,
    )  # fmt: skip
    return over, fraction, centroid, bandwidth, flatness


def band_spectrum_numpy(
    power: F64, noise_power: F64, freqs: F64, edges: npt.NDArray[np.int64]
) -> tuple[F64, F64, float, float, float]:
    """:func:`band_spectrum` in plain numpy."""
    lo, hi = int(edges[0]), int(edges[-1])
    over, fraction = np.zeros(edges.size - 1), np.zeros(edges.size - 1)
    p, f = power[lo:hi], freqs[lo:hi]
    total = max(float(np.sum(p)), FLOOR)
    for i in range(edges.size - 1):
        a, b = int(edges[i]), int(edges[i + 1])
        if b <= a:
            continue
        band = float(np.sum(power[a:b]))
        over[i] = 10 * np.log10(max(band, FLOOR) / max(float(np.sum(noise_power[a:b])), FLOOR))
        fraction[i] = band / total
    cumulative = np.cumsum(p) / total
    f10 = float(f[min(int(np.searchsorted(cumulative, 0.1)), f.size - 1)])
    f90 = float(f[min(int(np.searchsorted(cumulative, 0.9)), f.size - 1)])
    flatness = float(np.exp(np.mean(np.log(p + FLOOR))) / max(float(np.mean(p)), FLOOR))
    return (over, fraction, float(np.sum(f * p) / total),
            float(np.log2(max(f90, 1.0) / max(f10, 1.0))), flatness)  # fmt: skip


def background_peaks(
    x: npt.NDArray[np.float64], first: int, frames: int, frame: int, stop: int
) -> tuple[float, float, float, float]:
    """Median and 90th percentile of the frame peaks of ``|diff(x)|`` over ``frames`` frames of
    ``frame`` samples from ``first``, the robust RMS of that stretch's ``|diff(x)|`` (every 4th
    value), and the peak of ``|diff(x)|`` from the stretch's end up to ``stop`` (0 if none).

    ``x[first - 1]`` must exist (the first difference reaches one sample back).
    """
    return _background_peaks_numba(np.ascontiguousarray(x, np.float64), first, frames, frame,
                                   stop)  # fmt: skip


def background_peaks_numpy(
    x: npt.NDArray[np.float64], first: int, frames: int, frame: int, stop: int
) -> tuple[float, float, float, float]:
    """:func:`background_peaks` in plain numpy."""
    step = np.abs(np.diff(np.asarray(x, np.float64)[first - 1 : stop]))
    stretch, event = step[: frames * frame], step[frames * frame :]
    peaks = stretch.reshape(frames, frame).max(axis=1)
    median, p90 = np.quantile(peaks, (0.5, 0.9))
    noise = _robust_rms_numpy(stretch[::4])
    return float(median), float(p90), noise, float(np.max(event)) if event.size else 0.0


@njit(cache=True, nogil=True)
def _background_peaks_numba(
    x: npt.NDArray[np.float64], first: int, frames: int, frame: int, stop: int
) -> tuple[float, float, float, float]:  # pragma: no cover - compiled
    n = frames * frame
    peaks = np.empty(frames)
    every4 = np.empty((n + 3) // 4)
    k = 0
    for f in range(frames):
        top = 0.0
        for i in range(frame):
            j = f * frame + i
            d = abs(x[first + j] - x[first + j - 1])
            top = max(top, d)
            if j % 4 == 0:
                every4[k] = d
                k += 1
        peaks[f] = top
    event = 0.0
    for j in range(first + n, stop):
        event = max(event, abs(x[j] - x[j - 1]))
    median = np.quantile(peaks, 0.5)
    p90 = np.quantile(peaks, 0.9)
    return median, p90, _robust_rms(every4[:k]), event


@njit(cache=True, nogil=True)
def _robust_rms(magnitudes: F64) -> float:  # pragma: no cover - compiled
    return float(np.median(magnitudes) / MAD_TO_RMS)


@njit(cache=True, nogil=True)
def _sum_squares(x: F64, start: int, stop: int, centre: float) -> float:  # pragma: no cover
    total = 0.0
    for i in range(start, stop):
        total += (x[i] - centre) ** 2
    return total


@njit(cache=True, nogil=True)
def _span_levels_numba(
    x: F64, onset: int, stop: int, n_noise: int, length: int, n_pre: int, n_first: int
) -> tuple[float, float, float, int, float, float, float, float, float, float]:  # pragma: no cover
    a, b = (onset - n_noise, onset) if n_noise >= 16 else (onset, stop)
    centre = np.median(x[a:b])
    noise = _robust_rms(np.abs(x[a:b] - centre))
    peak, peak_at = -1.0, 0
    for i in range(onset, stop):
        d = abs(x[i] - centre)
        if d > peak:
            peak, peak_at = d, i - onset
    end = min(x.size, onset + length)
    size = end - onset
    pre = max(0, onset - n_pre)
    pre_rms = np.sqrt(_sum_squares(x, pre, onset, centre) / (onset - pre)) if onset > pre else 0.0
    first = min(max(1, n_first), size)
    first_rms = np.sqrt(_sum_squares(x, onset, onset + first, centre) / first)
    half = min(max(1, size // 2), size)
    head_rms = np.sqrt(_sum_squares(x, onset, onset + half, centre) / half)
    tail = size - half
    tail_rms = np.sqrt(_sum_squares(x, onset + half, end, centre) / tail) if tail > 0 else 0.0
    span_rms = np.sqrt(_sum_squares(x, onset, end, centre) / size)
    mean = 0.0
    for i in range(onset, end):
        mean += x[i] - centre
    mean /= size
    m2, m4 = 0.0, 0.0
    for i in range(onset, end):
        c = x[i] - centre - mean
        m2 += c * c
        m4 += c * c * c * c
    var = max(m2 / size, FLOOR)
    return (centre, noise, peak, peak_at, pre_rms, first_rms, head_rms, tail_rms, span_rms,
            (m4 / size) / var**2)  # fmt: skip


@njit(cache=True, nogil=True)
def _band_spectrum_numba(
    power: F64,
    noise_power: F64,
    freqs: F64,
    edges: npt.NDArray[np.int64],
    over: F64,
    fraction: F64,
) -> tuple[float, float, float]:  # pragma: no cover
    lo, hi = edges[0], edges[-1]
    total, moment, logs = 0.0, 0.0, 0.0
    for i in range(lo, hi):
        total += power[i]
        moment += freqs[i] * power[i]
        logs += np.log(power[i] + FLOOR)
    mean = total / (hi - lo)
    total = max(total, FLOOR)
    for k in range(edges.size - 1):
        a, b = edges[k], edges[k + 1]
        if b <= a:
            continue
        band, noise = 0.0, 0.0
        for i in range(a, b):
            band += power[i]
            noise += noise_power[i]
        over[k] = 10 * np.log10(max(band, FLOOR) / max(noise, FLOOR))
        fraction[k] = band / total
    f10, f90 = freqs[hi - 1], freqs[hi - 1]
    running, found10 = 0.0, False
    for i in range(lo, hi):
        running += power[i]
        level = running / total
        if not found10 and level >= 0.1:
            f10, found10 = freqs[i], True
        if level >= 0.9:
            f90 = freqs[i]
            break
    flatness = np.exp(logs / (hi - lo)) / max(mean, FLOOR)
    return moment / total, np.log2(max(f90, 1.0) / max(f10, 1.0)), flatness
