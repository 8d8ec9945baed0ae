"""Synthetic crack bursts: band-limited, fast-rising, exponentially decaying transients.

A burst is a sum of a few damped modes (each a sinusoid with its own frequency, decay time and
small arrival delay) plus a band-limited noise coda, which is what a resonant AE sensor
records from a crack increment. Two types mirror the two burst classes of the thesis data
set: ``"low"`` (modes in 100–250 kHz) and ``"high"`` (modes in 300–600 kHz).

All frequencies and times are defined at the reference rate of 1.5625 MHz. At lower sample
rates (a soundcard at 192 kHz cannot represent 100 kHz) every frequency is scaled down and
every duration scaled up by ``sample_rate_hz / 1.5625 MHz``, so a burst keeps the same shape in
*samples* and still lies inside the representable band: at 192 kHz the low type lies in
12–31 kHz and the high type in 37–74 kHz. At rates above the reference nothing is scaled.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import scipy.fft

from aemon.errors import ConfigError

logger = logging.getLogger(__name__)

BURST_TYPES: tuple[str, ...] = ("low", "high")
"""Burst type names; the index into this tuple is ``BurstTruth.burst_type``."""

REFERENCE_RATE_HZ = 1_562_500.0
"""Sample rate (Hz) at which frequencies and durations are given without scaling."""

BURST_BANDS_HZ: tuple[tuple[float, float], ...] = ((100e3, 250e3), (300e3, 600e3))
"""Mode frequency range (Hz) of each burst type at the reference rate."""

BURST_DURATION_S = (100e-6, 500e-6)
"""Range (s) of burst length (onset to envelope at 1 % of peak), at the reference rate."""

BURST_RISE_S = (1.5e-6, 30e-6)
"""Range (s) of the rise time (onset to envelope peak), at the reference rate."""

MAX_BURST_SAMPLES_FACTOR = 1.2
"""A burst never exceeds this factor times the longest duration (s), before scaling."""

COINCIDENT_DELAY_S = (5e-6, 80e-6)
"""Range (s, reference rate) of the delay of a burst reaching further channels."""

MAX_BURST_OCCUPANCY = 0.8
"""Highest allowed burst rate times minimum spacing (beyond it bursts would be periodic)."""

_MODE_DELAY_S = 12e-6
_END_LEVEL = 0.01


def band_scale(sample_rate_hz: float) -> float:
    """Return the factor that maps reference frequencies into the band at ``sample_rate_hz``.

    Args:
        sample_rate_hz: Sample rate (Hz) of the stream being simulated.

    Returns:
        ``min(1, sample_rate_hz / 1.5625 MHz)``. Frequencies are multiplied and durations
        divided by this factor.
    """
    if not sample_rate_hz > 0:
        raise ConfigError(f"sample rate must be positive, got {sample_rate_hz} Hz")
    return min(1.0, sample_rate_hz / REFERENCE_RATE_HZ)


def max_burst_samples(sample_rate_hz: float) -> int:
    """Return an upper bound on the length (samples) of any burst from :func:`make_burst`."""
    longest_s = MAX_BURST_SAMPLES_FACTOR * BURST_DURATION_S[1] / band_scale(sample_rate_hz)
    return math.ceil(longest_s * sample_rate_hz) + 1


def burst_spacing_samples(sample_rate_hz: float) -> int:
    """Minimum distance (samples) between burst onsets on one channel.

    Longer than the longest burst plus the largest inter-channel delay, so bursts never
    overlap (about 0.7 ms at 1.5625 MHz; the same number of samples at lower rates).
    """
    delay = math.ceil(COINCIDENT_DELAY_S[1] / band_scale(sample_rate_hz) * sample_rate_hz)
    return max_burst_samples(sample_rate_hz) + delay + 16


def bandpass_noise(
    rng: np.random.Generator, n_samples: int, band_hz: tuple[float, float], sample_rate_hz: float
) -> np.ndarray:
    """White Gaussian noise restricted to ``band_hz`` with raised-cosine band edges.

    Args:
        rng: Random generator.
        n_samples: Length of the result (samples).
        band_hz: Lower and upper band edge (Hz).
        sample_rate_hz: Sample rate (Hz).

    Returns:
        float64 array of ``n_samples`` with unit RMS (zeros if the band is empty).
    """
    n_fft = scipy.fft.next_fast_len(max(n_samples, 2), real=True)
    spectrum = scipy.fft.rfft(rng.standard_normal(n_fft))
    freqs = np.arange(spectrum.size) * (sample_rate_hz / n_fft)
    lo, hi = band_hz
    edge = 0.15 * (hi - lo)
    gain = np.clip(np.minimum(freqs - (lo - edge), (hi + edge) - freqs) / (2 * edge), 0.0, 1.0)
    spectrum *= 0.5 - 0.5 * np.cos(np.pi * gain)
    out = np.asarray(scipy.fft.irfft(spectrum, n_fft)[:n_samples])
    rms = float(np.sqrt(np.mean(out**2))) if n_samples else 0.0
    return out / rms if rms > 0 else out


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _mode_envelope(t_s: np.ndarray, delay_s: float, rise_s: float, tau_s: float) -> np.ndarray:
    """Envelope of one mode: zero before ``delay_s``, sin² rise, then exponential decay."""
    tt = t_s - delay_s
    rise = np.sin(0.5 * np.pi * np.clip(tt / rise_s, 0.0, 1.0)) ** 2
    decay = np.exp(-np.maximum(tt - rise_s, 0.0) / tau_s)
    return np.where(tt >= 0.0, rise * decay, 0.0)


def make_burst(rng: np.random.Generator, burst_type: int, sample_rate_hz: float) -> np.ndarray:
    """Draw one random crack burst waveform.

    Every call randomises the number of modes (2–4), their frequencies inside the type's band,
    their decay times and weights, the rise time (1.5–30 µs), the length (100–500 µs, log-
    uniform, onset to envelope at 1 % of peak) and the share of band-limited noise coda.

    Args:
        rng: Random generator; the result depends only on its state.
        burst_type: Index into :data:`BURST_TYPES` (0 = ``"low"``, 1 = ``"high"``).
        sample_rate_hz: Sample rate (Hz); see the module docstring for scaling below
            1.5625 MHz.

    Returns:
        float64 1-D waveform with unit peak (``max |x| == 1``) whose first sample is the onset
        (the envelope starts at zero). It ends where the envelope falls below 1 % of its peak,
        with a short cosine taper so it joins the background without a step.

    Raises:
        ConfigError: ``burst_type`` is not a valid index or the sample rate is not positive.
    """
    if not 0 <= burst_type < len(BURST_TYPES):
        raise ConfigError(f"burst type must be 0..{len(BURST_TYPES) - 1}, got {burst_type}")
    scale = band_scale(sample_rate_hz)
    f_lo, f_hi = (f * scale for f in BURST_BANDS_HZ[burst_type])
    duration_s = _log_uniform(rng, *BURST_DURATION_S) / scale
    rise_s = _log_uniform(rng, *BURST_RISE_S) / scale
    n_modes = int(rng.integers(2, 5))
    freqs = rng.uniform(f_lo, f_hi, n_modes)
    tau_main = max(duration_s - rise_s, 0.3 * duration_s) / math.log(1.0 / _END_LEVEL)
    taus = tau_main * np.concatenate(([1.0], rng.uniform(0.3, 1.0, n_modes - 1)))
    weights = np.concatenate(([1.0], rng.uniform(0.25, 0.9, n_modes - 1)))
    delays = np.concatenate(([0.0], rng.uniform(0.0, _MODE_DELAY_S / scale, n_modes - 1)))
    phases = rng.uniform(0.0, 2.0 * np.pi, n_modes)
    coda_weight = rng.uniform(0.0, 0.35)

    n = max(8, math.ceil(MAX_BURST_SAMPLES_FACTOR * duration_s * sample_rate_hz))
    t_s = np.arange(n) / sample_rate_hz
    x = np.zeros(n)
    envelope = np.zeros(n)
    for f, tau, w, d, phi in zip(freqs, taus, weights, delays, phases, strict=True):
        env = w * _mode_envelope(t_s, d, rise_s, tau)
        x += env * np.sin(2.0 * np.pi * f * (t_s - d) + phi)
        envelope += env
    main_env = _mode_envelope(t_s, 0.0, rise_s, tau_main)
    coda = bandpass_noise(rng, n, (f_lo, f_hi), sample_rate_hz)
    x += coda_weight * main_env * coda
    envelope += coda_weight * main_env

    peak_at = int(np.argmax(envelope))
    below = np.flatnonzero(envelope[peak_at:] < _END_LEVEL * envelope[peak_at])
    end = peak_at + int(below[0]) if below.size else n
    x = x[:end]
    taper = max(4, end // 10)
    taper = min(taper, end - peak_at - 1)
    if taper > 0:
        x[end - taper :] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(1, taper + 1) / taper)
    return x / np.max(np.abs(x))
