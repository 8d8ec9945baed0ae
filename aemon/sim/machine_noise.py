"""Impulsive and non-stationary machine noise for the randomised training backgrounds.

A fatigue machine's own transients are the detector's hardest negatives: they have sharp
onsets and ring like bursts. This module draws them with the physics that sets them apart from
AE, so a network can learn that difference rather than a single ring shape:

* :func:`impact_ring`: one structural impact response, 1–4 damped modes at 5–300 kHz, each
  with its own decay (20–400 µs): the machine's ring-down *spectrum*, not a single tone.
* :func:`add_impact_trains`: bearing and gear impact trains at shaft-related rates (periodic,
  ±0.5–3 % jitter, shaft-rate amplitude modulation), each train ringing its own structure.
* :func:`hydraulic_noise`: turbulent low-pass flow noise 6–30 dB above the AE-band floor,
  level following a load cycle, with cavitation pops (short broadband noise bursts).
* :func:`add_fretting`: fretting/micro-slip episodes, dense trains of short clicks.
* :func:`add_friction`: sliding-friction episodes, band noise anywhere in 20–400 kHz, 2–60 ms,
  with an emergent rise and fall (the randomised generator's own rubbing stays below 80 kHz).
* :func:`level_swing`: a slow exponential level ramp of up to ±20 dB across the window (a
  40 dB swing within seconds seen through a window of milliseconds, exaggerated).

Every transient's ``(onset, end)`` span is appended to ``spans`` (window samples, end
exclusive) so training can label it as background. Frequencies and durations are drawn at
1.5625 MHz and mapped into slower streams by ``band_scale``, as in the rest of the randomised
generator. The benchmark's generator (``bench/independent``) is separate and shares no code.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import numpy.typing as npt
from scipy import signal as sps

from aemon.sim._drawing import add_with_span, log_uniform
from aemon.sim.bursts import band_scale

logger = logging.getLogger(__name__)

__all__ = [
    "add_fretting",
    "add_friction",
    "add_impact_trains",
    "hydraulic_noise",
    "impact_ring",
    "level_swing",
]

F64 = npt.NDArray[np.float64]

RING_BAND_HZ = (5e3, 300e3)
"""Range (Hz, reference rate) of an impact's structural modes."""

RING_TAU_S = (20e-6, 400e-6)
"""Range (s, reference rate) of each mode's exponential decay time constant."""


def impact_ring(rng: np.random.Generator, fs: float, modes: int | None = None) -> F64:
    """One impact's structural response: 1–4 damped modes, unit peak, cut at −40 dB.

    Args:
        rng: Random generator.
        fs: Sample rate (Hz).
        modes: Number of modes (None: 1–4 at random).

    Returns:
        float64 waveform starting at the impact (sample 0), unit peak.
    """
    scale = band_scale(fs)
    count = int(rng.integers(1, 5)) if modes is None else modes
    rise = log_uniform(rng, 0.5e-6, 8e-6) / scale
    taus = [log_uniform(rng, *RING_TAU_S) / scale for _ in range(count)]
    length = max(16, math.ceil((rise + max(taus) * math.log(100.0)) * fs))
    t = np.arange(length) / fs
    wave = np.zeros(length)
    for tau in taus:
        f0 = min(log_uniform(rng, *RING_BAND_HZ) * scale, 0.45 * fs)
        gain = rng.uniform(0.2, 1.0)
        wave += gain * np.exp(-t / tau) * np.sin(2 * np.pi * f0 * t + rng.uniform(0, 2 * np.pi))
    wave *= 1 - np.exp(-t / rise)
    peak = float(np.max(np.abs(wave)))
    wave /= max(peak, 1e-30)
    above = np.flatnonzero(np.abs(wave) >= 0.01)
    return np.asarray(wave[: int(above[-1]) + 1] if above.size else wave)


def add_impact_trains(
    rng: np.random.Generator, out: F64, fs: float, spans: list[tuple[int, int]]
) -> None:
    """Add one or two periodic impact trains (bearing defect, gear mesh) to ``out`` in place.

    A shaft turns at 5–60 Hz; a bearing train has 3–12 impacts per turn at 6–40 dB over the
    unit base noise, a gear train 12–60 per turn, 0–20 dB. Each train rings its own structure
    (:func:`impact_ring`), with ±15 % per-impact variation of its modes' weights, timing
    jitter of 0.5–3 % and shaft-rate amplitude modulation. Spacing scales like durations.
    """
    scale = band_scale(fs)
    shaft_hz = rng.uniform(5.0, 60.0)
    trains = [(int(rng.integers(3, 13)), (6.0, 40.0)), (int(rng.integers(12, 61)), (0.0, 20.0))]
    if rng.random() < 0.4:
        trains = [trains[int(rng.integers(2))]]
    for per_turn, level_db in trains:
        period = fs / (shaft_hz * per_turn) / scale
        kernels = [impact_ring(rng, fs) for _ in range(2)]
        level = 10 ** (rng.uniform(*level_db) / 20)
        jitter = rng.uniform(0.005, 0.03)
        start = rng.uniform(-period, 0)
        count = int((out.size - start) / period) + 1
        times = start + period * (np.arange(count) + jitter * rng.standard_normal(count))
        depth = rng.uniform(0.0, 0.8)
        mod = 1 + depth * np.cos(2 * np.pi * shaft_hz * scale * times / fs + rng.uniform(0, 6.3))
        amps = level * mod * np.abs(1 + 0.3 * rng.standard_normal(count))
        for at, amp in zip(np.round(times).astype(int), amps, strict=True):
            if at >= out.size or at + max(k.size for k in kernels) <= 0:
                continue
            mix = rng.uniform(0.85, 1.15)
            ring = kernels[0] if rng.random() < 0.5 else kernels[1]
            add_with_span(out, amp * mix * ring, int(at), spans)


def hydraulic_noise(
    rng: np.random.Generator, n: int, fs: float, spans: list[tuple[int, int]]
) -> F64:
    """Turbulent flow noise to add to a unit base noise (float64 ``(n,)``).

    Low-pass noise (corner 2–60 kHz, order 2–4) 6–30 dB above the base noise RMS, its level
    following a load cycle of depth 0.2–0.9, plus cavitation pops: 2–40 µs bursts of
    broadband noise 6–30 dB over the base, at a Poisson rate of 0–3000 /s.
    """
    scale = band_scale(fs)
    corner = min(rng.uniform(2e3, 60e3) * scale, 0.4 * fs)
    sos = sps.butter(int(rng.integers(2, 5)), corner, "lowpass", fs=fs, output="sos")
    pad = min(n, 4096)
    flow = np.asarray(sps.sosfilt(sos, rng.standard_normal(n + pad))[pad:])
    flow /= max(float(np.sqrt(np.mean(flow**2))), 1e-30)
    t = np.arange(n) / max(n, 1)
    depth = rng.uniform(0.2, 0.9)
    flow *= 1 + depth * np.sin(2 * np.pi * rng.uniform(0.1, 2.0) * t + rng.uniform(0, 6.3))
    flow *= 10 ** (rng.uniform(6.0, 30.0) / 20)
    expected = rng.uniform(0.0, 3000.0) * n / fs * scale
    for at in rng.integers(0, n, int(rng.poisson(expected))):
        width = max(4, int(log_uniform(rng, 2e-6, 40e-6) / scale * fs))
        pop = rng.standard_normal(width) * np.hanning(width + 2)[1:-1]
        pop *= 10 ** (rng.uniform(6.0, 30.0) / 20) / max(float(np.max(np.abs(pop))), 1e-30)
        add_with_span(flow, pop, int(at), spans)
    return flow


def add_fretting(
    rng: np.random.Generator, out: F64, fs: float, spans: list[tuple[int, int]]
) -> None:
    """Add 1–3 fretting episodes to ``out`` in place.

    An episode (1–20 ms) is a dense Poisson train of clicks (2 000–50 000 /s), each a
    1–4 µs pulse ringing a 50–500 kHz contact resonance (Q 1–5), 0–20 dB over the base
    noise with log-normal scatter. The whole episode is one span.
    """
    scale = band_scale(fs)
    for _ in range(int(rng.integers(1, 4))):
        length = max(32, int(log_uniform(rng, 1e-3, 20e-3) / scale * fs))
        first = int(rng.integers(-length // 2, out.size))
        episode = np.zeros(length)
        f0 = min(log_uniform(rng, 50e3, 500e3) * scale, 0.4 * fs)
        q = rng.uniform(1.0, 5.0)
        b, a = sps.iirpeak(f0, q, fs=fs)
        level = 10 ** (rng.uniform(0.0, 20.0) / 20)
        rate = log_uniform(rng, 2e3, 5e4) * scale
        count = int(rng.poisson(rate * length / fs))
        at = rng.integers(0, length, count)
        np.add.at(episode, at, level * rng.lognormal(0.0, 0.5, count) * rng.choice([-1, 1], count))
        width = max(1, int(rng.uniform(1e-6, 4e-6) / scale * fs))
        episode = np.convolve(episode, np.hanning(width + 2)[1:-1], mode="same")
        ringing = np.asarray(sps.lfilter(b, a, episode))
        ringing *= level / max(float(np.max(np.abs(ringing))), 1e-30)
        add_with_span(out, ringing, first, spans)


def add_friction(
    rng: np.random.Generator, out: F64, fs: float, spans: list[tuple[int, int]]
) -> None:
    """Add 1–3 sliding-friction episodes to ``out`` in place.

    An episode (2–60 ms) is Gaussian noise band-passed (2nd order) to a random sub-band: lower
    edge 20–200 kHz, upper edge 1.3–3 times that, at most 400 kHz. Its envelope rises and
    falls as ``sin(π t / T) ** γ`` (γ 0.5–3: from abrupt to slowly emergent), with stick-slip
    modulation of depth 0–0.8 at 50–1500 Hz, and its RMS peaks 3–20 dB over the base noise.
    Sliding contacts (fixtures, grips, rubbing crack faces) emit this: long and emergent,
    not a burst's fast rise and decay. The whole episode is one span.
    """
    scale = band_scale(fs)
    for _ in range(int(rng.integers(1, 4))):
        length = max(64, int(log_uniform(rng, 2e-3, 60e-3) / scale * fs))
        first = int(rng.integers(-length // 2, out.size))
        lo = min(log_uniform(rng, 20e3, 200e3) * scale, 0.3 * fs)
        hi = min(lo * rng.uniform(1.3, 3.0), 400e3 * scale, 0.45 * fs)
        sos = sps.butter(2, [lo, hi], "bandpass", fs=fs, output="sos")
        noise = np.asarray(sps.sosfilt(sos, rng.standard_normal(length)))
        noise /= max(float(np.sqrt(np.mean(noise**2))), 1e-30)
        k = (np.arange(length) + 0.5) / length
        envelope = np.sin(np.pi * k) ** rng.uniform(0.5, 3.0)
        slip_hz = rng.uniform(50.0, 1500.0) * scale
        envelope *= 1 + rng.uniform(0.0, 0.8) * np.sin(
            2 * np.pi * slip_hz * np.arange(length) / fs + rng.uniform(0, 2 * np.pi)
        )
        level = 10 ** (rng.uniform(3.0, 20.0) / 20)
        add_with_span(out, level * noise * envelope, first, spans)


def level_swing(rng: np.random.Generator, n: int) -> F64:
    """A smooth exponential level ramp across ``n`` samples, ±(3–20) dB end to end."""
    change_db = rng.uniform(3.0, 20.0) * rng.choice([-1.0, 1.0])
    ramp = np.linspace(-0.5, 0.5, n) * change_db
    return np.asarray(10 ** (ramp / 20))
