"""Fatigue-machine background: hydraulic hum, friction episodes and electrical spikes.

The broadband sensor/amplifier noise is drawn directly by the simulator (it is the hot path);
this module builds the other, sparse or periodic parts. Frequencies and durations follow the
same scaling as the bursts (:func:`aemon.sim.bursts.band_scale`), except the hum, which is a
physical mains/pump frequency and stays at 50 Hz and its harmonics.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

import numpy as np

from aemon.sim.bursts import band_scale, bandpass_noise

logger = logging.getLogger(__name__)

HUM_FUNDAMENTAL_HZ = 50.0
"""Nominal fundamental (Hz) of the hydraulic hum (adjusted so a period is whole samples)."""

HUM_MAX_FREQUENCY_HZ = 1_000.0
"""Highest hum harmonic (Hz); the hum stays far below the AE band."""

FRICTION_DURATION_S = (2e-3, 30e-3)
"""Range (s) of friction episode length, at the reference rate."""

FRICTION_BAND_HZ = (15e3, 80e3)
"""Frequency range (Hz) that friction content is drawn from, at the reference rate."""

FRICTION_LEVEL_DB = (0.0, 18.0)
"""Range (dB) of friction RMS over the broadband noise RMS."""

FRICTION_MODULATION_HZ = (100.0, 1_500.0)
"""Range (Hz) of the stick-slip amplitude modulation, at the reference rate."""

SPIKE_LEVEL_DB = (26.0, 50.0)
"""Range (dB) of electrical spike peak over the broadband noise RMS."""

_MIN_TABLE_SAMPLES = 4096


class TimedEvent(Protocol):
    """Anything with an onset and an end (absolute sample indices, end exclusive)."""

    @property
    def onset(self) -> int: ...

    @property
    def end(self) -> int: ...


EventT = TypeVar("EventT", bound=TimedEvent)


class RenewalProcess(Generic[EventT]):
    """Events at random times: gap = max(``min_gap``, event span) + an exponential gap.

    Events are drawn strictly in time order from a private generator, so the sequence does not
    depend on how far ahead callers ask at a time (the basis of chunk-independent output).

    Args:
        rng: Random generator owned by this process (also passed to ``factory``).
        rate_hz: Mean event rate (1/s); 0 disables the process.
        sample_rate_hz: Sample rate (Hz).
        factory: ``factory(rng, onset)`` returns the events starting at ``onset`` (the first
            one at ``onset``, further ones may follow, e.g. arrivals on other channels).
        min_gap_samples: Minimum distance (samples) between consecutive onsets.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        rate_hz: float,
        sample_rate_hz: float,
        factory: Callable[[np.random.Generator, int], list[EventT]],
        min_gap_samples: int = 0,
    ) -> None:
        self._rng = rng
        self._factory = factory
        self._min_gap = min_gap_samples
        mean_gap = sample_rate_hz / rate_hz if rate_hz > 0 else math.inf
        self._extra_mean = max(mean_gap - min_gap_samples, 0.0)
        self._time = rng.exponential(self._extra_mean) if rate_hz > 0 else math.inf

    def until(self, stop_sample: int) -> list[EventT]:
        """Return the next events whose (first) onset is before ``stop_sample``, in order."""
        events: list[EventT] = []
        while self._time < stop_sample:
            onset = round(self._time)
            new = self._factory(self._rng, onset)
            events.extend(new)
            span = max((e.end for e in new), default=onset) - onset
            self._time += max(self._min_gap, span) + self._rng.exponential(self._extra_mean)
        return events


def hum_table(rng: np.random.Generator, sample_rate_hz: float, amplitude_v: float) -> np.ndarray:
    """Build the periodic hydraulic hum as a table of whole periods.

    The fundamental is 50 Hz rounded so that one period is a whole number of samples, which
    lets the simulator add the hum by copying table slices instead of evaluating sines. Each
    harmonic up to 1 kHz (and below a quarter of the sample rate) gets a random phase and an
    amplitude falling as 1/k; one random harmonic (the pump's piston ripple) is boosted.

    Args:
        rng: Random generator.
        sample_rate_hz: Sample rate (Hz).
        amplitude_v: Peak amplitude (V) of the fundamental; 0 gives an all-zero table.

    Returns:
        float64 table whose length is a multiple of the hum period (at least 4096 samples);
        sample ``i`` of the stream gets ``table[i % len(table)]``.
    """
    period = max(1, round(sample_rate_hz / HUM_FUNDAMENTAL_HZ))
    repeats = math.ceil(_MIN_TABLE_SAMPLES / period)
    fundamental_hz = sample_rate_hz / period
    top_hz = min(HUM_MAX_FREQUENCY_HZ, sample_rate_hz / 4.0)
    n_harmonics = int(top_hz // fundamental_hz)
    t_s = np.arange(period) / sample_rate_hz
    one_period = np.zeros(period)
    if n_harmonics >= 1 and amplitude_v > 0:
        k = np.arange(1, n_harmonics + 1)
        amplitudes = amplitude_v * rng.uniform(0.4, 1.0, n_harmonics) / k
        amplitudes[0] = amplitude_v
        ripple = int(rng.integers(0, n_harmonics))
        amplitudes[ripple] = max(amplitudes[ripple], amplitude_v * rng.uniform(0.3, 0.8))
        phases = rng.uniform(0.0, 2.0 * np.pi, n_harmonics)
        for kk, a, phi in zip(k, amplitudes, phases, strict=True):
            one_period += a * np.sin(2.0 * np.pi * kk * fundamental_hz * t_s + phi)
    return np.tile(one_period, repeats)


def add_periodic(out: np.ndarray, table: np.ndarray, first_sample: int) -> None:
    """Add ``table`` repeated forever, starting at absolute index ``first_sample``, to ``out``.

    Args:
        out: 1-D array to add into (modified in place).
        table: One or more whole periods of the signal, same dtype as ``out``.
        first_sample: Absolute sample index of ``out[0]``.
    """
    period = table.size
    offset = first_sample % period
    i = 0
    n = out.size
    while i < n:
        m = min(period - offset, n - i)
        out[i : i + m] += table[offset : offset + m]
        i += m
        offset = 0


def make_friction(
    rng: np.random.Generator, sample_rate_hz: float, noise_rms_v: float
) -> np.ndarray:
    """Draw one friction/rubbing episode (specimen rubbing in the grips or bearing slots).

    Band-limited noise in a random sub-band of 15–80 kHz, 2–30 ms long, with a smooth
    fade-in/out and a stick-slip amplitude modulation at 100–1500 Hz. It is a hard negative
    for burst detectors: loud and impulsive-looking, but lower in frequency and much longer.

    Args:
        rng: Random generator.
        sample_rate_hz: Sample rate (Hz); frequencies and durations scale like bursts.
        noise_rms_v: Broadband noise RMS (V); the episode RMS is 0–18 dB above it.

    Returns:
        float64 waveform (V) starting at the episode start.
    """
    scale = band_scale(sample_rate_hz)
    duration_s = float(np.exp(rng.uniform(*np.log(FRICTION_DURATION_S)))) / scale
    n = max(16, math.ceil(duration_s * sample_rate_hz))
    lo_hz, hi_hz = FRICTION_BAND_HZ
    f_lo = rng.uniform(lo_hz, 0.5 * (lo_hz + hi_hz))
    f_hi = min(hi_hz, f_lo + rng.uniform(0.3, 0.7) * (hi_hz - lo_hz))
    band = (f_lo * scale, f_hi * scale)
    content = bandpass_noise(rng, n, band, sample_rate_hz)
    t_s = np.arange(n) / sample_rate_hz
    fade = np.sin(np.pi * (np.arange(n) + 0.5) / n) ** 0.5
    mod_hz = rng.uniform(*FRICTION_MODULATION_HZ) * scale
    depth = rng.uniform(0.5, 1.0)
    stick_slip = (1.0 + depth * np.sin(2.0 * np.pi * mod_hz * t_s + rng.uniform(0, 2 * np.pi))) ** 2
    rms_v = noise_rms_v * 10.0 ** (rng.uniform(*FRICTION_LEVEL_DB) / 20.0)
    shaped = content * fade * stick_slip
    shaped_rms = float(np.sqrt(np.mean(shaped**2)))
    return shaped * (rms_v / shaped_rms) if shaped_rms > 0 else shaped


def make_spike(rng: np.random.Generator, noise_rms_v: float) -> np.ndarray:
    """Draw one electrical spike: one or two samples, 26–50 dB above the noise RMS.

    Args:
        rng: Random generator.
        noise_rms_v: Broadband noise RMS (V).

    Returns:
        float64 waveform (V) of length 1 or 2.
    """
    peak_v = noise_rms_v * 10.0 ** (rng.uniform(*SPIKE_LEVEL_DB) / 20.0)
    sign = 1.0 if rng.random() < 0.5 else -1.0
    second = rng.uniform(-0.8, 0.8)
    if rng.random() < 0.5:
        return np.array([sign * peak_v])
    return np.array([sign * peak_v, sign * peak_v * second])
