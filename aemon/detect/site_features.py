"""The numbers a site classifier sees of one detection: shape, spectrum and level against the
noise just before it.

Every value is relative (dB over the noise before the onset, fractions, log-times), so a model
learnt at one gain works at another. The spectrum is compared band by band with the noise
spectrum before the onset: a bearing impact that rings a 60 kHz structural resonance stands
out in one or two bands, a crack or pencil-lead burst in many, up to the sensor's band edge.

:func:`site_features` is called by the live hit stream on the raw samples it holds
(:class:`~aemon.detect.hit_streams.NeuralHitStream`) and by ``aemon adapt`` on the same
samples, so the classifier is trained on exactly what it sees in use.
"""

from __future__ import annotations

import functools
import logging

import numpy as np
import numpy.typing as npt

from aemon.detect._site_kernels import FLOOR, background_peaks, band_spectrum, span_levels

logger = logging.getLogger(__name__)

__all__ = ["BAND_EDGES_HZ", "FEATURE_NAMES", "site_features"]

BAND_EDGES_HZ = (10e3, 30e3, 60e3, 100e3, 160e3, 250e3, 400e3, 600e3, 800e3)
"""Edges (Hz) of the bands whose power is compared with the noise's (capped at Nyquist)."""
SPAN_S = 1.3e-3
"""Longest stretch after the onset (s) the spectrum and envelope are measured on: the
detection's own length, from :data:`MIN_SPAN_S` up to this."""
MIN_SPAN_S = 50e-6
TAPER_FRACTION = 0.1
"""Part of the span tapered (half at each end) before its spectrum is taken."""
NOISE_S = 0.6e-3
"""Noise stretch before the onset (s), where the stream holds that much."""
PRE_S = 50e-6
"""Stretch just before the onset (s) whose level shows an emergent onset or an earlier
transient still ringing."""
CONTEXT_S = 10e-3
"""Background stretch before the onset (s) whose short-frame peaks show how impulsive the
background is: Gaussian noise peaks about 11 dB over its RMS in every frame, a machine with
impacts far higher in some."""
RECENT_S = 50e-3
"""Stretch (s) before a candidate in which the stream counts earlier candidates."""
CONTEXT_FRAME_S = 0.25e-3
"""Frame (s) of the background stretch whose peak is one sample of the background's peaks."""

_BANDS = len(BAND_EDGES_HZ) - 1
FEATURE_NAMES: tuple[str, ...] = (
    "snr_db",
    "log_duration_us",
    "rise_fraction",
    "log_rise_us",
    "score_logit",
    "pre_onset_db",
    "first_50us_db",
    "decay_db",
    "crest_db",
    "kurtosis",
    "centroid_log_hz",
    "bandwidth_octaves",
    "spectral_flatness",
    "bands_above_noise",
    "log_recent_candidates",
    "background_peak_median_db",
    "background_peak_p90_db",
    "peak_over_background_peaks_db",
    *(f"band{i}_over_noise_db" for i in range(_BANDS)),
    *(f"band{i}_fraction" for i in range(_BANDS)),
)
"""Names of the feature vector's entries, in order."""


def site_features(
    x: npt.NDArray[np.generic],
    onset: int,
    stop: int,
    sample_rate_hz: float,
    score: float,
    recent_candidates: int = 0,
) -> npt.NDArray[np.float64]:
    """The feature vector (:data:`FEATURE_NAMES`) of one detection on one channel.

    Args:
        x: Raw samples of the channel (V or counts), with some signal before ``onset``.
        onset: Index into ``x`` of the detection's onset.
        stop: Index one past the detection's end.
        sample_rate_hz: Rate of ``x`` (Hz).
        score: The detector's confidence 0..1 (peak probability of the run).
        recent_candidates: Candidates the stream proposed on this channel in the
            :data:`RECENT_S` before this one (how busy the background is).

    Returns:
        float64 vector of ``len(FEATURE_NAMES)``.
    """
    rate = float(sample_rate_hz)
    x64 = np.ascontiguousarray(x, dtype=np.float64)
    onset = int(min(max(onset, 0), x64.size - 1))
    stop = int(min(max(stop, onset + 1), x64.size))
    n_noise = min(onset, max(16, int(NOISE_S * rate)))
    length = int(min(max(stop - onset, MIN_SPAN_S * rate), SPAN_S * rate))
    levels = span_levels(x64, onset, stop, n_noise, length, int(PRE_S * rate),
                         int(50e-6 * rate))  # fmt: skip
    centre = levels.centre
    noise = max(levels.noise, FLOOR)
    noise_part = (x64[onset - n_noise : onset] if n_noise >= 16 else x64[onset:stop]) - centre
    span = x64[onset : min(x64.size, onset + length)] - centre
    peak = max(levels.peak, FLOOR)
    duration_s = (stop - onset) / rate
    rise_s = levels.peak_at / rate
    decay = levels.head_rms / max(levels.tail_rms, FLOOR) if span.size > 1 else 1.0
    kurtosis = levels.kurtosis
    over, fraction, centroid, bandwidth, flatness = _spectrum(span, noise_part, rate)
    median_db, p90_db, over_peaks_db = _background_peaks(x64, onset, stop, rate)
    p = float(np.clip(score, 1e-6, 1 - 1e-6))
    return np.array(
        [
            _db(peak / noise),
            np.log10(max(duration_s * 1e6, 0.1)),
            rise_s / max(duration_s, 1 / rate),
            np.log10(max(rise_s * 1e6, 0.1)),
            np.log(p / (1 - p)),
            _db(levels.pre_rms / noise) if onset > 0 and int(PRE_S * rate) > 0 else 0.0,
            _db(levels.first_rms / noise),
            _db(decay),
            _db(peak / max(levels.span_rms, FLOOR)),
            np.log10(max(kurtosis, 1e-3)),
            np.log10(max(centroid, 1.0)),
            bandwidth,
            flatness,
            float(np.count_nonzero(over > 6.0)),
            np.log1p(max(recent_candidates, 0)),
            median_db,
            p90_db,
            over_peaks_db,
            *over,
            *fraction,
        ],
        dtype=np.float64,
    )


def _background_peaks(
    x: npt.NDArray[np.float64], onset: int, stop: int, rate: float
) -> tuple[float, float, float]:
    """Median and 90th percentile of the background's frame peaks over its own noise RMS (dB),
    and the detection's peak over that 90th percentile (dB), from up to :data:`CONTEXT_S`
    before ``onset`` (zeros with less than two frames held), all on the sample-to-sample
    difference of ``x``: a first difference weighs AE frequencies (100 kHz-1 MHz) 10-30 times
    more than hum and flow noise (1-10 kHz), so these see the AE band. The median and
    percentile shrug off a burst or two in the stretch."""
    frame = max(4, int(CONTEXT_FRAME_S * rate))
    frames = (min(onset, int(CONTEXT_S * rate)) - 1) // frame
    if frames < 2:
        return 0.0, 0.0, 0.0
    median, p90, noise, peak = background_peaks(x, onset - frames * frame, frames, frame, stop)
    noise = max(noise, FLOOR)
    return _db(median / noise), _db(p90 / noise), _db(peak / max(p90, FLOOR))


def _taper(n: int, fraction: float) -> npt.NDArray[np.float64]:
    """Ones with raised-cosine ends over ``fraction / 2`` of ``n`` at each side (a Tukey
    window; written here because importing scipy.signal costs about a second)."""
    window = np.ones(n)
    edge = int(fraction * n / 2)
    if edge > 0:
        ramp = 0.5 * (1 - np.cos(np.pi * np.arange(edge) / edge))
        window[:edge], window[n - edge :] = ramp, ramp[::-1]
    return window


def _db(ratio: float) -> float:
    return 20.0 * float(np.log10(max(ratio, FLOOR)))


def _spectrum(
    span: npt.NDArray[np.float64], noise: npt.NDArray[np.float64], rate: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float, float, float]:
    """Band power over the noise's (dB), band fractions, centroid (Hz), bandwidth (octaves
    between the 10 % and 90 % points of the cumulative power) and flatness of the span."""
    n = 1 << max(6, int(np.ceil(np.log2(max(span.size, noise.size, 2)))))
    freqs, edges = _layout(n, rate)
    # a short taper only: the event sits at the start of the span, where a Hann window is ~0
    taper, taper_power = _window("taper", span.size)
    power = np.abs(np.fft.rfft(span * taper, n)) ** 2 / taper_power
    hann, hann_power = _window("hann", noise.size)
    noise_power = np.abs(np.fft.rfft(noise * hann, n)) ** 2
    noise_power /= hann_power
    return band_spectrum(power, noise_power, freqs, edges)


@functools.lru_cache(maxsize=64)
def _layout(n: int, rate: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Frequencies (Hz) of an ``n``-point spectrum and the bin index of each band edge
    (frequencies rise, so each band is one run of bins; edges over Nyquist give empty bands)."""
    freqs = np.asarray(np.fft.rfftfreq(n, 1 / rate), dtype=np.float64)
    edges = np.searchsorted(freqs, np.minimum(np.asarray(BAND_EDGES_HZ), 0.5 * rate), "left")
    edges = np.asarray(edges, dtype=np.int64)
    freqs.setflags(write=False)
    edges.setflags(write=False)
    return freqs, edges


@functools.lru_cache(maxsize=4096)
def _window(kind: str, size: int) -> tuple[npt.NDArray[np.float64], float]:
    """The span's taper or the noise's Hann window of ``size`` samples, and its power."""
    window = _taper(size, TAPER_FRACTION) if kind == "taper" else np.hanning(size)
    window.setflags(write=False)
    return window, max(float(np.sum(window**2)), 1e-12)
