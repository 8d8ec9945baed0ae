"""Standard acoustic-emission hit features of one waveform (ASTM E1316 / EN 1330-9).

Time-domain features come from :mod:`vallenae.features`; spectral features (peak frequency,
spectral centroid, partial powers) from ``openae-core`` (:mod:`openae.features`, the OpenAE
reference implementation). This module decides *which samples* they see and converts units:

- The **feature threshold** (V) defines the hit span: first threshold crossing (``|x| >=
  threshold``) to last threshold crossing, inclusive. Duration, counts and rise time are
  measured against it; energy, RMS, signal strength and the spectrum are computed over the
  span. A waveform that never reaches the threshold has duration, rise time and counts 0
  (as in vallenae) and its other features are computed over the whole waveform.
- The **peak** is ``max |x|`` over the waveform unless the caller gives its index (the hit
  detector does, since its peak definition time may exclude a later, bigger maximum).
- With ``whole_span=True`` (neural detections, which bring their own extent) the span is the
  whole waveform given: duration is its length, rise time onset to peak, and counts the
  threshold crossings inside it.
- The **spectrum** is the one-sided FFT of the span, zero-padded to the next power of two
  and at least :data:`MIN_FFT_SAMPLES` samples, without a window, after removing the span's
  straight-line trend (a slow background would put the peak at 0 kHz). A span shorter than
  :data:`MIN_SPECTRUM_SAMPLES` has no meaningful spectrum (one sample has a flat one): its
  peak frequency, centroid and partial powers are NaN (empty in the CSV).

Example:
    >>> f = hit_features(x_volts, 1_562_500.0, threshold_v=dbae_to_volts(40.0))
    >>> f.amplitude_dbae, f.counts, f.peak_freq_khz
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt
import openae.features as oae
from vallenae import features as vae

from aemon.errors import ConfigError

logger = logging.getLogger(__name__)

DBAE_REFERENCE_V = 1e-6
"""Reference of the dBAE scale: 1 µV at the sensor."""
MIN_FFT_SAMPLES = 256
"""Shortest FFT (samples); shorter spans are zero-padded up to it."""
MIN_SPECTRUM_SAMPLES = 8
"""Shortest span (samples) whose spectral features are computed; shorter ones get NaN."""
PARTIAL_POWER_BANDS = 4
"""Number of partial-power bands (columns ``pp1_pct`` … ``pp4_pct``)."""
_DEFAULT_EDGES_HZ = (0.0, 100e3, 200e3, 400e3)
"""Lower edges of the default bands at MHz rates; the last band runs to Nyquist."""

Band = tuple[float, float]
_Number = TypeVar("_Number", float, npt.NDArray[np.float64])


def volts_to_dbae(volts: _Number) -> _Number:
    """Convert an amplitude in volts at the sensor to dBAE: ``20·log10(|V| / 1 µV)``.

    Args:
        volts: Amplitude (V), scalar or array. 0 V gives ``-inf``.

    Returns:
        Amplitude (dBAE), same shape.
    """
    with np.errstate(divide="ignore"):
        result = 20.0 * np.log10(np.abs(np.asarray(volts, dtype=np.float64)) / DBAE_REFERENCE_V)
    return float(result) if np.ndim(result) == 0 else result  # type: ignore[return-value]


def dbae_to_volts(dbae: _Number) -> _Number:
    """Convert dBAE to volts at the sensor: ``1 µV · 10^(dBAE / 20)``.

    Args:
        dbae: Amplitude (dBAE), scalar or array.

    Returns:
        Amplitude (V), same shape.
    """
    result = DBAE_REFERENCE_V * 10.0 ** (np.asarray(dbae, dtype=np.float64) / 20.0)
    return float(result) if np.ndim(result) == 0 else result  # type: ignore[return-value]


def default_partial_power_bands(sample_rate_hz: float) -> tuple[Band, ...]:
    """The four partial-power bands (Hz) used unless the user sets others.

    At rates whose Nyquist frequency exceeds 400 kHz (the AE rates, e.g. 1.5625 MHz) the
    bands are 0–100, 100–200, 200–400 kHz and 400 kHz–Nyquist. At lower rates (soundcards)
    the Nyquist band is cut in four equal parts.

    Args:
        sample_rate_hz: Sample rate (Hz).
    """
    nyquist = sample_rate_hz / 2.0
    if nyquist > _DEFAULT_EDGES_HZ[-1]:
        edges = [*_DEFAULT_EDGES_HZ, nyquist]
    else:
        edges = [nyquist * k / PARTIAL_POWER_BANDS for k in range(PARTIAL_POWER_BANDS + 1)]
    return tuple((edges[k], edges[k + 1]) for k in range(PARTIAL_POWER_BANDS))


def check_bands(bands: Sequence[Band], sample_rate_hz: float) -> tuple[Band, ...]:
    """Validate partial-power bands: four ``(low, high)`` pairs (Hz) with ``0 <= low < high``.

    Raises:
        ConfigError: Wrong count, reversed or negative edges, or a band above Nyquist.
    """
    checked = tuple((float(lo), float(hi)) for lo, hi in bands)
    if len(checked) != PARTIAL_POWER_BANDS:
        raise ConfigError(
            f"give exactly {PARTIAL_POWER_BANDS} partial-power bands, got {len(checked)}"
        )
    for lo, hi in checked:
        if not (0.0 <= lo < hi) or lo >= sample_rate_hz / 2.0:
            raise ConfigError(
                f"partial-power band {lo:g}..{hi:g} Hz is invalid; use 0 <= low < high with "
                f"low below Nyquist ({sample_rate_hz / 2:g} Hz)"
            )
    return checked


class HitFeatures(NamedTuple):
    """Features of one hit waveform.

    Attributes:
        first_crossing: Index (samples into the waveform) of the first threshold crossing,
            -1 if the threshold was never reached.
        last_crossing: Index of the last threshold crossing, -1 if never reached.
        peak_index: Index of the peak amplitude.
        amplitude_v: Peak amplitude ``|x|`` (V).
        amplitude_dbae: Peak amplitude (dBAE, 1 µV reference).
        rise_time_us: First crossing to peak (µs); 0 without a crossing or if the peak comes
            first.
        duration_us: First to last crossing (µs); 0 without a crossing.
        counts: Positive threshold crossings (rising through ``+threshold``).
        energy_eu: ``∫x² dt`` over the span (eu; 1 eu = 1e-14 V²s).
        rms_v: RMS over the span (V).
        signal_strength_nvs: ``∫|x| dt`` over the span (nV·s).
        peak_freq_khz: Frequency of the largest spectral magnitude (kHz).
        centroid_khz: Power-weighted mean frequency of the spectrum (kHz).
        partial_powers_pct: Share of spectral power in each band (%), see
            :func:`default_partial_power_bands`.
    """

    first_crossing: int
    last_crossing: int
    peak_index: int
    amplitude_v: float
    amplitude_dbae: float
    rise_time_us: float
    duration_us: float
    counts: int
    energy_eu: float
    rms_v: float
    signal_strength_nvs: float
    peak_freq_khz: float
    centroid_khz: float
    partial_powers_pct: tuple[float, ...]


def hit_features(
    waveform: npt.ArrayLike,
    sample_rate_hz: float,
    threshold_v: float,
    *,
    peak_index: int | None = None,
    bands: Sequence[Band] | None = None,
    whole_span: bool = False,
) -> HitFeatures:
    """Compute the AE features of one hit.

    Args:
        waveform: 1-D samples in volts at the sensor, starting at (or before) the hit onset.
        sample_rate_hz: Sample rate (Hz).
        threshold_v: Feature threshold (V, > 0) for span, duration, counts and rise time.
        peak_index: Index of the peak if the caller defines it (e.g. by a peak definition
            time); default ``argmax |x|``.
        bands: Four partial-power bands ``(low, high)`` in Hz; default
            :func:`default_partial_power_bands`.
        whole_span: The waveform is exactly the event (a detector's onset to end): measure
            over all of it instead of from the first to the last threshold crossing.

    Raises:
        ConfigError: Empty waveform, non-positive rate or threshold, bad bands or peak index.
    """
    x = np.ascontiguousarray(waveform, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise ConfigError("cannot compute features of an empty waveform")
    if not (sample_rate_hz > 0 and threshold_v > 0):
        raise ConfigError(
            f"features need a positive sample rate and threshold, got {sample_rate_hz} Hz, "
            f"{threshold_v} V"
        )
    bands = check_bands(bands or default_partial_power_bands(sample_rate_hz), sample_rate_hz)
    # vallenae annotates the rate as int but only divides by it; fractional rates are fine.
    rate: Any = float(sample_rate_hz)
    if peak_index is None:
        peak_index = int(vae.peak_amplitude_index(x))
    elif not 0 <= peak_index < x.size:
        raise ConfigError(f"peak index {peak_index} lies outside the {x.size}-sample waveform")
    amplitude = float(abs(x[peak_index]))

    first = vae.first_threshold_crossing(x, threshold_v)
    last = vae.last_threshold_crossing(x, threshold_v)
    if whole_span:
        first_i, last_i = 0, x.size - 1
        span = x
        rise_us = peak_index / sample_rate_hz * 1e6
        duration_us = x.size / sample_rate_hz * 1e6
        counts = int(vae.counts(x, threshold_v))
    elif first is None or last is None:
        first_i = last_i = -1
        span = x
        rise_us = duration_us = 0.0
        counts = 0
    else:
        first_i, last_i = int(first), int(last)
        span = x[first_i : last_i + 1]
        rise_us = max(0.0, float(vae.rise_time(x, threshold_v, rate, first_i, peak_index))) * 1e6
        duration_us = float(vae.duration(x, threshold_v, rate)) * 1e6
        counts = int(vae.counts(x, threshold_v))
    peak_freq_hz, centroid_hz, partial = spectral_features(span, rate, bands)
    return HitFeatures(
        first_crossing=first_i,
        last_crossing=last_i,
        peak_index=int(peak_index),
        amplitude_v=amplitude,
        amplitude_dbae=volts_to_dbae(amplitude),
        rise_time_us=rise_us,
        duration_us=duration_us,
        counts=counts,
        energy_eu=float(vae.energy(span, rate)),
        rms_v=float(vae.rms(span)),
        signal_strength_nvs=float(vae.signal_strength(span, rate)),
        peak_freq_khz=peak_freq_hz / 1e3,
        centroid_khz=centroid_hz / 1e3,
        partial_powers_pct=tuple(100.0 * p for p in partial),
    )


def fft_length(samples: int) -> int:
    """FFT length (samples) for a span: next power of two, at least :data:`MIN_FFT_SAMPLES`."""
    return max(MIN_FFT_SAMPLES, 1 << max(0, math.ceil(math.log2(max(samples, 1)))))


def spectral_features(
    span: npt.ArrayLike, sample_rate_hz: float, bands: Sequence[Band]
) -> tuple[float, float, tuple[float, ...]]:
    """Peak frequency, spectral centroid (Hz) and partial-power fractions (0–1) of ``span``.

    The spectrum is ``rfft`` of the span zero-padded to :func:`fft_length`; the features are
    computed by openae-core. A span without power (all zeros) or shorter than
    :data:`MIN_SPECTRUM_SAMPLES` gives NaN everywhere.

    Args:
        span: 1-D samples (V).
        sample_rate_hz: Sample rate (Hz).
        bands: ``(low, high)`` bands (Hz). openae-core sums the FFT bins from
            ``floor(low/Δf)`` up to but excluding ``floor(high/Δf)``; the Nyquist bin is in no
            band, so the shares can sum to slightly less than 1.
    """
    x = np.asarray(span, dtype=np.float32).reshape(-1)
    if x.size < MIN_SPECTRUM_SAMPLES:
        return math.nan, math.nan, tuple(math.nan for _ in bands)
    # Remove the span's straight-line trend: a slow background (hydraulic hum, drift) looks
    # like an offset over a few hundred µs and would otherwise put the peak at 0 kHz.
    t = np.arange(x.size, dtype=np.float64)
    slope, offset = np.polyfit(t, x.astype(np.float64), 1)
    x = (x - (slope * t + offset)).astype(np.float32)
    spectrum = np.fft.rfft(x, n=fft_length(x.size)).astype(np.complex64)
    if not np.any(spectrum):
        return math.nan, math.nan, tuple(math.nan for _ in bands)
    data = oae.Input(float(sample_rate_hz), x, spectrum)
    partial = tuple(float(oae.partial_power(data, lo, hi)) for lo, hi in bands)
    return float(oae.spectral_peak_frequency(data)), float(oae.spectral_centroid(data)), partial
