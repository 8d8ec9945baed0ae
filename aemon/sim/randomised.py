"""Domain-randomised training bursts, and callbacks to mix them into randomised backgrounds.

A burst is rendered in the frequency domain as ``source × propagation × sensor × reverberation``
(one complex FFT also gives the envelope), then cut at the −40 dB points of its envelope:

* **Source**: a Gaussian pulse 0.5–20 µs wide (crack-like), or a force step with a 0.5–3 µs
  rise (pencil-lead-break-like, ``"step"``), whose spectrum falls as 1/f.
* **Propagation** (``"plate"``, ``"reverberant"``, half the ``"step"``): dispersive plate-wave
  modes at a source distance of 20–600 mm: a flexural A0 mode with phase velocity
  ``c_R·sqrt(f / (f + f_c))`` and a weaker, faster S0 mode, with frequency-dependent
  attenuation ``exp(−α·f·d)``.
* **Sensor**: resonant (2nd-order resonance near 150 kHz or 300 kHz, Q 3–12) or wideband
  (30–100 kHz high-pass to 600–1000 kHz low-pass, flat or with a broad emphasis).
* **Reverberation** (``"reverberant"``; 30 % of the others): 1–6 discrete reflections
  10–300 µs late with gains up to 1.3 (so the peak can come late) and a decaying diffuse tail
  (τ 50 µs–1.5 ms).
* **Emergent** bursts: a swarm of source pulses (white noise) under a sin² rise of
  20–250 µs and an exponential decay; overall rise times (onset to envelope peak) span
  about 1–300 µs (longer where a reflection is stronger than the direct arrival).

Onset/end rule: onset is the first sample where ``|x|`` reaches 1 % (−40 dB) of its peak, end
is one past the last such sample (within half a period of where the envelope falls below
1 %; the analytic envelope itself is not used for the cut because its 1/t tails reach before
the causal arrival). The peak is that of the analytic envelope. This is the same convention as
the simulator (``aemon.sim_bursts``: length to 1 % of peak), so ``Event(onset, onset + len)`` in
``aemon.train.data`` labels the burst like simulated ones. The returned wave starts at the
onset (``onset == 0``, ``end == wave.size``) and has unit peak.

Frequencies and times are drawn at the reference rate 1.5625 MHz and scaled into the band of
slower streams (``band_scale``), like the simulator: at 192 kHz a 150 kHz resonance sits at
18.4 kHz and every duration is 8.1 times longer, i.e. the same number of samples.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.fft

from aemon.sim.randomised_background import (
    BACKGROUND_FAMILIES,
    Background,
    band_scale,
    draw_background,
    log_uniform,
    random_background,
)

logger = logging.getLogger(__name__)

__all__ = [
    "BACKGROUND_FAMILIES",
    "BURST_FAMILIES",
    "SENSORS",
    "Background",
    "Burst",
    "MixCallbacks",
    "draw_background",
    "random_background",
    "random_burst",
    "randomised_mix_callbacks",
]

BURST_FAMILIES: tuple[str, ...] = ("resonant", "plate", "reverberant", "step", "emergent")
"""Burst families drawn uniformly by :func:`random_burst`."""

SENSORS: tuple[str, ...] = ("resonant150", "resonant300", "wideband")
"""Sensor responses (drawn uniformly, or by class band: see :func:`random_burst`)."""

CLASS_BANDS_HZ: dict[str, tuple[float, float]] = {"low": (100e3, 250e3), "high": (300e3, 600e3)}
"""Dominant band (Hz, reference rate) of the simulator's two burst classes."""

PULSE_WIDTH_S: dict[str, tuple[float, float]] = {
    "any": (0.5e-6, 20e-6),
    "low": (1.5e-6, 8e-6),
    "high": (0.5e-6, 2.5e-6),
}
"""Range (s, reference rate) of the crack-like source pulse width, per class band."""

END_LEVEL = 0.01
"""Envelope level (fraction of peak, −40 dB) that defines onset and end."""

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
C128 = npt.NDArray[np.complex128]


class Burst(NamedTuple):
    """One randomised burst.

    Attributes:
        wave: float32 waveform, unit peak, starting at the onset.
        onset: Onset sample in ``wave`` (always 0).
        end: One past the last sample above −40 dB of the envelope peak (``wave.size``).
        peak: Sample of the envelope peak (rise time = ``(peak - onset) / fs``).
        family: Entry of :data:`BURST_FAMILIES`.
        sensor: Entry of :data:`SENSORS`.
    """

    wave: F32
    onset: int
    end: int
    peak: int
    family: str
    sensor: str


def _resonance(fr: F64, f0: float, q: float) -> C128:
    """Causal 2nd-order band-pass ``1 / (1 + jQ(f/f0 − f0/f))`` on reference frequencies."""
    safe = np.maximum(fr, 1e-3)
    return np.asarray(1.0 / (1.0 + 1j * q * (safe / f0 - f0 / safe)))


def _butter2(fr: F64, fc: float, highpass: bool) -> C128:
    s = 1j * fr / fc
    if highpass:
        return np.asarray(s**2 / (s**2 + math.sqrt(2) * s + 1))
    return np.asarray(1 / (s**2 + math.sqrt(2) * s + 1))


def _sensor(rng: np.random.Generator, sensor: str, fr: F64, kind: str | None) -> C128:
    if sensor == "wideband":
        h = _butter2(fr, rng.uniform(30e3, 100e3), True) * _butter2(
            fr, rng.uniform(6e5, 1e6), False
        )
        if kind is None and rng.random() < 0.5:  # flat: the fastest rises (about 1 µs)
            return h
        band = CLASS_BANDS_HZ[kind] if kind else (100e3, 600e3)
        q = rng.uniform(1.5, 4.0) if kind else rng.uniform(0.5, 1.5)
        return np.asarray(h * _resonance(fr, rng.uniform(*band), q))
    if kind is None:
        centre = 150e3 if sensor == "resonant150" else 300e3
        f0 = centre * rng.uniform(0.85, 1.15)
    else:
        f0 = rng.uniform(*CLASS_BANDS_HZ[kind])
    h = _resonance(fr, f0, rng.uniform(3.0, 12.0))
    if rng.random() < 0.5:  # a second, weaker resonance
        h = h + rng.uniform(0.1, 0.5) * _resonance(
            fr, f0 * rng.uniform(1.3, 2.5), rng.uniform(3, 12)
        )
    return h


def _propagation(rng: np.random.Generator, fr: F64) -> C128:
    """A0 + S0 plate modes at a random distance of 20–600 mm (delays relative to S0)."""
    d = log_uniform(rng, 0.02, 0.6)
    safe = np.maximum(fr, 1.0)
    c_a0 = rng.uniform(2800.0, 3200.0) * np.sqrt(safe / (safe + rng.uniform(5e4, 4e5)))
    c_p = rng.uniform(5000.0, 5500.0)
    c_s0 = c_p * np.maximum(1 - 0.5 * (safe / rng.uniform(3e5, 1e6)) ** 2, 0.6)
    first = d / c_p  # earliest arrival; the buffer starts there
    loss = np.exp(-rng.uniform(0.3, 3.5) / 1.5e5 * fr * d)
    a0 = np.exp(-2j * np.pi * fr * (d / c_a0 - first))
    s0 = rng.uniform(0.05, 0.6) * np.exp(-2j * np.pi * fr * (d / c_s0 - first))
    return np.asarray(loss * (a0 + s0))


def _reverb(rng: np.random.Generator, rate: float, n_fft: int, tau: float) -> C128:
    """Direct path + 1–6 reflections + diffuse tail (``tau`` s) as a frequency response.

    Reflections sit at whole samples 10–300 µs late with gains ±(0.2–1.3); the tail is
    exponentially decaying noise with 0.3–2 times the direct path's energy.
    """
    length = min(max(int(5 * tau * rate), int(300e-6 * rate) + 1), n_fft)
    h = rng.standard_normal(length) * np.exp(-np.arange(length) / (tau * rate))
    h *= rng.uniform(0.3, 2.0) / max(float(np.sqrt(np.sum(h**2))), 1e-30)
    count = int(rng.integers(1, 7))
    delays = (rng.uniform(10e-6, 300e-6, count) * rate).astype(int)
    np.add.at(h, delays, rng.choice([-1.0, 1.0], count) * rng.uniform(0.2, 1.3, count))
    h[0] += 1.0
    return np.asarray(scipy.fft.rfft(h, n_fft))


def random_burst(rng: np.random.Generator, fs: float, kind: str | None = None) -> Burst:
    """Draw one randomised burst (see the module docstring for families and the end rule).

    Args:
        rng: Random generator; the result depends only on its state.
        fs: Sample rate (Hz).
        kind: ``"low"`` or ``"high"`` puts the sensor resonance / emphasis into that class's
            band (100–250 kHz or 300–600 kHz at the reference rate); None draws freely.

    Returns:
        :class:`Burst` with a finite float32 unit-peak wave starting at its onset.
    """
    scale = band_scale(fs)
    rate = fs / scale  # reference-time sample rate: samples = reference seconds × rate
    family = str(rng.choice(BURST_FAMILIES))
    sensor = str(rng.choice(SENSORS))
    if kind == "high" and sensor == "resonant150":
        sensor = "resonant300"
    if kind == "low" and sensor == "resonant300":
        sensor = "resonant150"
    step = family == "step"
    if step:
        width = log_uniform(rng, 0.5e-6, 3e-6)
    else:
        width = log_uniform(rng, *PULSE_WIDTH_S[kind or "any"])
    dispersive = family in ("plate", "reverberant") or (step and rng.random() < 0.5)
    reverberant = family == "reverberant" or rng.random() < 0.3
    tau = log_uniform(rng, 50e-6, 1.5e-3) if reverberant else 0.0
    rise = log_uniform(rng, 20e-6, 250e-6) if family == "emergent" else 0.0
    decay = rise * rng.uniform(0.3, 2.0)
    lead = 4 * width + 10e-6
    span = lead + 200e-6 + (1.2e-3 if dispersive else 0.0) + 5 * tau + (400e-6 if tau else 0.0)
    span += rise + 5 * decay
    n_fft = scipy.fft.next_fast_len(int(span * rate) + 64)
    fr = np.arange(n_fft // 2 + 1) * (rate / n_fft)
    spec = np.exp(-2.0 * (np.pi * fr * width / 4) ** 2 - 2j * np.pi * fr * lead).astype(
        np.complex128
    )
    if rise:  # emergent: a swarm of source pulses under a sin² rise and exponential decay
        t = np.arange(int((rise + 5 * decay) * rate)) / rate
        shape = np.sin(0.5 * np.pi * np.minimum(t / rise, 1.0)) ** 2 * np.exp(
            -np.maximum(t - rise, 0.0) / decay
        )
        spec *= scipy.fft.rfft(rng.standard_normal(t.size) * shape, n_fft)
    if step:  # force step: 1/f below the pulse's band, finite at DC (sensor removes it)
        spec /= 1j * np.maximum(fr, 2e3) / 1e5
    if dispersive:
        spec *= _propagation(rng, fr)
    spec *= _sensor(rng, sensor, fr, kind)
    if tau:
        spec *= _reverb(rng, rate, n_fft, tau)
    spec[fr > 0.49 * rate] = 0.0
    analytic = np.zeros(n_fft, np.complex128)
    analytic[: fr.size] = 2 * spec
    analytic[0] = spec[0]
    z = scipy.fft.ifft(analytic)
    env = np.abs(z)
    mag = np.abs(z.real)  # the real wave is causal; the analytic envelope has 1/t tails
    above = np.flatnonzero(mag >= END_LEVEL * mag.max())
    onset, end = int(above[0]), int(above[-1]) + 1
    wave = z.real[onset:end]
    taper = min(8, wave.size // 4)
    if taper:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(taper) + 0.5) / taper)
        wave[:taper] *= ramp
        wave[-taper:] *= ramp[::-1]
    wave = wave / max(float(np.max(np.abs(wave))), 1e-30)
    peak = int(np.argmax(env[onset:end]))
    return Burst(wave.astype(np.float32), 0, wave.size, peak, family, sensor)


class MixCallbacks(NamedTuple):
    """The callables :class:`aemon.train.data.MixSource` takes (same order as its arguments).

    Attributes:
        burst: ``(rng, label) -> float64 wave`` (unit peak; label 0 = low, 1 = high band).
        background: ``(rng, n) -> float64 (n,)`` with base noise of unit RMS.
        amplitude: ``(rng) -> peak`` over that unit noise RMS, uniform in dB.
        background_spans: ``(rng, n) -> (background, disturbance spans)``: ``background``
            with the ``(onset, end)`` samples of its hard negatives, for placing bursts on them.
    """

    burst: Callable[[np.random.Generator, int], F64]
    background: Callable[[np.random.Generator, int], F64]
    amplitude: Callable[[np.random.Generator], float]
    background_spans: Callable[[np.random.Generator, int], tuple[F64, list[tuple[int, int]]]]


def randomised_mix_callbacks(
    fs: float,
    snr_db_range: tuple[float, float] = (0.0, 30.0),
    class_bands: bool = True,
    machine_noise: bool = False,
) -> MixCallbacks:
    """Callbacks for ``MixSource`` drawing randomised bursts into randomised backgrounds.

    Args:
        fs: Sample rate (Hz) of the model.
        snr_db_range: Burst peak over the background's base noise RMS (dB), uniform.
        class_bands: Map label 0/1 to the ``"low"``/``"high"`` class bands (the simulator's
            two classes); other labels, or False, draw bursts freely.
        machine_noise: Backgrounds with :mod:`aemon.sim.machine_noise` (``draw_background``).

    Returns:
        :class:`MixCallbacks` ``(burst, background, amplitude, background_spans)``.
    """
    low, high = snr_db_range

    def burst(rng: np.random.Generator, label: int) -> F64:
        kind = ("low", "high")[label] if class_bands and label in (0, 1) else None
        return random_burst(rng, fs, kind).wave.astype(np.float64)

    def background_spans(rng: np.random.Generator, n: int) -> tuple[F64, list[tuple[int, int]]]:
        drawn = draw_background(rng, n, fs, machine_noise)
        return drawn.signal.astype(np.float64), drawn.disturbances

    def background(rng: np.random.Generator, n: int) -> F64:
        return background_spans(rng, n)[0]

    def amplitude(rng: np.random.Generator) -> float:
        return float(10 ** (rng.uniform(low, high) / 20))

    return MixCallbacks(burst, background, amplitude, background_spans)
