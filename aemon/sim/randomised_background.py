"""Domain-randomised training backgrounds: random noise spectra, machinery and disturbances.

Every call of :func:`draw_background` draws one primary *family* (see
:data:`BACKGROUND_FAMILIES`) and, with a small probability each, a few extra ones, on top of a
stationary coloured-noise base of random spectral shape. The base is scaled to unit RMS, so
burst amplitudes can be given as peak over the base noise RMS.

Frequencies and durations of acoustic content follow the simulator's band scaling
(:func:`band_scale`, as ``aemon.sim_bursts.band_scale``): they are drawn at the reference
rate of 1.5625 MHz and mapped into the band of slower streams, so a window has the same shape
in *samples* at 192 kHz. Mains hum and load cycles are physical rates and are not scaled
(load cycles are drawn as cycles per window, so a window always sees some of the change).

With ``machine_noise`` (``--data randomised-machine``), the machine noise of
:mod:`aemon.sim.machine_noise` replaces the single-ring impacts and trains (multi-mode impact
rings, bearing and gear trains) and adds the ``hydraulic`` (flow noise with cavitation pops)
and ``fretting`` families and level swings; without it the draws are those the shipped models
were trained on, so their cards stay reproducible. With ``friction`` as well
(``randomised-friction``, ``aemon train-classifier --backgrounds``), the ``rubbing`` family is
:func:`~aemon.sim.machine_noise.add_friction`'s sliding friction anywhere in 20-400 kHz instead
of the 15-80 kHz rubbing; without it ``randomised-machine`` draws exactly as before.

Hard negatives (rubbing, spikes, impacts, bearing/gear impact trains) are also returned as
``(onset, end)`` disturbance spans in window samples (end exclusive, clipped to the window),
so training can label them as class 0 or as a disturbance class.
"""

from __future__ import annotations

import logging
import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.fft
from scipy import signal as sps

from aemon.sim._drawing import add_with_span, log_uniform
from aemon.sim.machine_noise import (
    add_fretting,
    add_friction,
    add_impact_trains,
    hydraulic_noise,
    impact_ring,
    level_swing,
)

logger = logging.getLogger(__name__)

REFERENCE_RATE_HZ = 1_562_500.0
"""Rate (Hz) at which acoustic frequencies and durations are drawn without scaling."""

SPECTRAL_SHAPES: tuple[str, ...] = ("white", "ar", "band", "tilt", "resonances", "digital")
"""Shapes of the stationary base noise (one primary, others added with probability 0.3)."""

BACKGROUND_FAMILIES: tuple[str, ...] = (
    "stationary",
    "modulated",
    "machinery",
    "impacts",
    "rubbing",
    "spikes",
    "hum",
    "quantised",
    "clipped",
)
"""Primary families of :func:`draw_background` (the base noise is in all of them)."""

MACHINE_FAMILIES: tuple[str, ...] = ("hydraulic", "fretting")
"""Families added by ``machine_noise`` (:mod:`aemon.sim.machine_noise`)."""

EXTRA_FAMILY_P = 0.15
"""Probability that each non-primary family (except ``stationary``) is added as well."""

SHAPE_GRID = 4097
"""Frequency points on which base-noise shapes are evaluated (then interpolated)."""

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


class Background(NamedTuple):
    """One randomised background window.

    Attributes:
        signal: float32 ``(n,)``, base noise of unit RMS plus the family's additions.
        disturbances: ``(onset, end)`` spans of hard negatives (samples, end exclusive).
        families: Families present; the first is the primary one.
        shape: Spectral shapes of the base noise.
    """

    signal: F32
    disturbances: list[tuple[int, int]]
    families: tuple[str, ...]
    shape: tuple[str, ...]


def band_scale(fs: float) -> float:
    """``min(1, fs / 1.5625 MHz)``: reference frequencies are multiplied by it."""
    if not fs > 0:
        raise ValueError(f"sample rate must be positive, got {fs} Hz")
    return min(1.0, fs / REFERENCE_RATE_HZ)


def _shape_gain(rng: np.random.Generator, shape: str, f: F64, nyq: float) -> F64:
    """Random power gain of one spectral shape on the frequency grid ``f`` (Hz)."""
    if shape == "ar":  # random stable ARMA: poles and zeros inside the unit circle
        order = int(rng.integers(1, 5))
        poles = rng.uniform(0.3, 0.97, order) * np.exp(1j * rng.uniform(0, np.pi, order))
        zeros = rng.uniform(0.0, 0.9, order) * np.exp(1j * rng.uniform(0, np.pi, order))
        a = np.real(np.poly(np.concatenate([poles, poles.conj()])))
        b = np.real(np.poly(np.concatenate([zeros, zeros.conj()])))
        z = np.exp(-1j * np.pi * f / nyq)
        return np.asarray(np.abs(np.polyval(b[::-1], z) / np.polyval(a[::-1], z)) ** 2)
    if shape == "band":  # Butterworth-like magnitude between random edges
        lo = log_uniform(rng, 1e-3, 0.4) * nyq
        hi = min(lo * log_uniform(rng, 1.5, 50.0), 0.98 * nyq)
        k_lo, k_hi = rng.integers(1, 6, 2)
        safe = np.maximum(f, 1e-9 * nyq)
        return np.asarray(1 / ((1 + (safe / hi) ** (2 * k_hi)) * (1 + (lo / safe) ** (2 * k_lo))))
    if shape == "tilt":  # 1/f^alpha, alpha in [-1, 2]
        alpha = rng.uniform(-1.0, 2.0)
        return np.asarray((np.maximum(f, f[1]) / (0.1 * nyq)) ** (-alpha))
    if shape == "resonances":
        gain = np.ones_like(f)
        for _ in range(int(rng.integers(1, 6))):
            f0, q = rng.uniform(0.02, 0.9) * nyq, log_uniform(rng, 2.0, 40.0)
            safe = np.maximum(f, 1e-9 * nyq)
            gain += log_uniform(rng, 3.0, 300.0) / (1 + q**2 * (safe / f0 - f0 / safe) ** 2)
        return gain
    return np.ones_like(f)


def coloured_noise(rng: np.random.Generator, n: int, fs: float) -> tuple[F64, tuple[str, ...]]:
    """Stationary Gaussian noise with a random spectrum, unit RMS (FFT shaping).

    One primary shape from :data:`SPECTRAL_SHAPES`, each other with probability 0.3, and a
    white floor 20–70 dB below the mean power (a sensor/ADC noise floor); or (``"digital"``)
    AR(1) noise through a digital Butterworth band-pass with no floor at all.

    Returns:
        ``(x, shapes)``: float64 ``(n,)`` and the shapes used.
    """
    primary = str(rng.choice(SPECTRAL_SHAPES))
    if primary == "digital":
        return _digital_noise(rng, n, fs), ("digital",)
    n_fft = scipy.fft.next_fast_len(max(n, 16), real=True)
    f = np.arange(n_fft // 2 + 1) * (fs / n_fft)
    shaped = [s for s in SPECTRAL_SHAPES[1:] if s != "digital"]
    shapes = [primary] + [s for s in shaped if s != primary and rng.random() < 0.3]
    coarse = np.linspace(0.0, fs / 2, min(f.size, SHAPE_GRID))  # shapes are smooth on it
    power = np.ones_like(coarse)
    for shape in shapes:
        power *= _shape_gain(rng, shape, coarse, fs / 2)
    power = power / np.mean(power) + 10 ** (-rng.uniform(20.0, 70.0) / 10)
    gain = np.sqrt(np.interp(f, coarse, power))
    spec = rng.standard_normal(2 * f.size).view(np.complex128)
    spec *= gain
    x = np.asarray(scipy.fft.irfft(spec, n_fft)[:n])
    return x / max(float(np.sqrt(np.mean(x**2))), 1e-30), tuple(shapes)


def _digital_noise(rng: np.random.Generator, n: int, fs: float) -> F64:
    """White noise through an AR(1) and a digital Butterworth band-pass, with no noise floor.

    Digital filters put exact zeros at DC and Nyquist, deeper than any analogue chain: a DAQ's
    own anti-alias and AE band filters, or a synthetic test signal, look like this.
    """
    nyq = fs / 2
    lo = log_uniform(rng, 0.005, 0.3) * nyq
    hi = min(lo * log_uniform(rng, 1.5, 30.0), 0.95 * nyq)
    order = int(rng.integers(2, 7))
    sos = sps.butter(order, [lo, hi], "bandpass", fs=fs, output="sos")
    pad = int(min(n, 8 * fs / lo))  # let the filters settle before the kept samples
    w = rng.standard_normal(n + pad)
    if rng.random() < 0.7:
        w = sps.lfilter([1.0], [1.0, -rng.uniform(-0.9, 0.9)], w)
    x = np.asarray(sps.sosfilt(sos, w)[pad:])
    return x / max(float(np.sqrt(np.mean(x**2))), 1e-30)


def _level_envelope(rng: np.random.Generator, n: int) -> F64:
    """Slow level modulation (load cycles, sine) and/or a smoothed gain step, unit RMS."""
    t = np.arange(n) / max(n, 1)
    cycles = log_uniform(rng, 0.3, 20.0)
    phase = rng.uniform(0, 2 * np.pi)
    depth = rng.uniform(0.3, 0.95)
    if rng.random() < 0.5:  # load cycle: sharp peaks of a raised cosine to a power
        env = 1 - depth + depth * (0.5 - 0.5 * np.cos(2 * np.pi * cycles * t + phase)) ** 3
    else:
        env = 1 + depth * np.sin(2 * np.pi * cycles * t + phase)
    if rng.random() < 0.4:  # gain step (range switch, machine start)
        at, width = rng.uniform(0.1, 0.9), rng.uniform(1e-3, 0.05)
        ratio = 10 ** (rng.uniform(-12.0, 12.0) / 20)
        env *= 1 + (ratio - 1) / (1 + np.exp(np.clip(-(t - at) / width, -60.0, 60.0)))
    return np.asarray(env / np.sqrt(np.mean(env**2)))


def _ringing(rng: np.random.Generator, fs: float, band_hz: tuple[float, float]) -> F64:
    """One damped structural ring (impact response), unit peak, to −40 dB of its envelope."""
    scale = band_scale(fs)
    f0 = rng.uniform(*band_hz) * scale
    tau = log_uniform(rng, 20e-6, 300e-6) / scale
    rise = log_uniform(rng, 1e-6, 10e-6) / scale
    length = max(8, math.ceil((rise + tau * math.log(100)) * fs))
    t = np.arange(length) / fs
    env = (1 - np.exp(-t / rise)) * np.exp(-t / tau)
    return np.asarray(env * np.sin(2 * np.pi * f0 * t + rng.uniform(0, 2 * np.pi)) / env.max())


def _machinery(rng: np.random.Generator, out: F64, fs: float, spans: list[tuple[int, int]]) -> None:
    """Periodic impact trains (bearings, gears): impacts at shaft rate × elements."""
    n = out.size
    shaft_hz = rng.uniform(5.0, 60.0)
    rate_hz = shaft_hz * rng.integers(3, 40)
    period = fs / rate_hz / band_scale(fs)  # impact spacing scales like other durations
    level = 10 ** (rng.uniform(6.0, 30.0) / 20)
    kernel = _ringing(rng, fs, (5e3, 90e3))
    start = rng.uniform(-period, 0)
    count = int((n - start) / period) + 1
    times = start + period * np.arange(count) * (1 + 0.01 * rng.standard_normal(count))
    mod = 1 + rng.uniform(0, 0.8) * np.cos(2 * np.pi * shaft_hz * times / fs + rng.uniform(0, 6.3))
    amps = level * mod * np.abs(1 + 0.3 * rng.standard_normal(count))
    for at, amp in zip(np.round(times).astype(int), amps, strict=True):
        add_with_span(out, amp * kernel, int(at), spans)


def _rubbing(rng: np.random.Generator, out: F64, fs: float, spans: list[tuple[int, int]]) -> None:
    """Friction/rubbing episodes: band noise 15–80 kHz, 2–30 ms, stick-slip modulated.

    The carrier RMS is 0–18 dB over the base noise; only the part inside the window is drawn.
    """
    scale = band_scale(fs)
    for _ in range(int(rng.integers(1, 4))):
        length = max(32, math.ceil(log_uniform(rng, 2e-3, 30e-3) / scale * fs))
        lo = rng.uniform(15e3, 50e3) * scale
        hi = min(lo * rng.uniform(1.3, 3.0), 80e3 * scale)
        at = int(rng.integers(-length // 2, out.size))
        first, stop = max(at, 0), min(at + length, out.size)
        n_fft = scipy.fft.next_fast_len(max(stop - first, 32), real=True)
        f = np.arange(n_fft // 2 + 1) * (fs / n_fft)
        band = np.flatnonzero((f >= lo) & (f <= hi))
        spec = np.zeros(f.size, np.complex128)
        spec[band] = rng.standard_normal(2 * band.size).view(np.complex128)
        noise = np.asarray(scipy.fft.irfft(spec, n_fft)[: stop - first])
        noise /= max(float(np.sqrt(np.mean(noise**2))), 1e-30)
        k = np.arange(first - at, stop - at)
        rate = rng.uniform(100, 1500) * scale / fs
        slip = 1 + rng.uniform(0.5, 1) * np.sin(2 * np.pi * rate * k + rng.uniform(0, 6.3))
        fade = np.sin(np.pi * (k + 0.5) / length) ** 0.5
        level = 10 ** (rng.uniform(0.0, 18.0) / 20)
        add_with_span(out, level * noise * fade * slip**2, first, spans)


def _spikes(rng: np.random.Generator, out: F64, spans: list[tuple[int, int]]) -> None:
    """Electrical spikes: 1–3 samples, 26–50 dB over the noise RMS."""
    for _ in range(int(rng.integers(1, 20))):
        width = int(rng.integers(1, 4))
        wave = rng.choice([-1.0, 1.0]) * 10 ** (rng.uniform(26.0, 50.0) / 20)
        shape = np.array([1.0, rng.uniform(-0.8, 0.8), rng.uniform(-0.3, 0.3)])[:width]
        add_with_span(out, wave * shape, int(rng.integers(0, out.size)), spans)


def _hum(rng: np.random.Generator, out: F64, fs: float) -> None:
    """Mains hum, 50 or 60 Hz with random harmonics up to 2 kHz (not band-scaled).

    One period (fundamental rounded to whole samples of the grid) is evaluated on a grid of
    at least 40 kHz, repeated and linearly interpolated (≤ 1.3 % error on the top harmonic).
    """
    f0 = 50.0 if rng.random() < 0.5 else 60.0
    k = np.arange(1, int(min(2e3, fs / 4) // f0) + 1)
    amps = 10 ** (rng.uniform(-10.0, 30.0) / 20) * rng.uniform(0.1, 1.0, k.size) / k**0.7
    phases = rng.uniform(0, 2 * np.pi, k.size)
    step = max(1, int(fs // 40e3))
    period = max(1, round(fs / step / f0))  # one fundamental period on the coarse grid
    table = amps @ np.sin(2 * np.pi * np.outer(k, np.arange(period)) / period + phases[:, None])
    coarse = np.arange(0, out.size + step, step)
    hum = table[(coarse // step + int(rng.integers(period))) % period]
    out += np.interp(np.arange(out.size), coarse, hum)


def draw_background(
    rng: np.random.Generator,
    n: int,
    fs: float,
    machine_noise: bool = False,
    friction: bool = False,
) -> Background:
    """Draw one randomised background window with its disturbance spans.

    Args:
        rng: Random generator; the result depends only on its state.
        n: Window length (samples).
        fs: Sample rate (Hz).
        machine_noise: Draw the machine noise of :mod:`aemon.sim.machine_noise` too (see the
            module docstring); False draws exactly as before it existed.
        friction: With ``machine_noise``, draw ``rubbing`` as broadband sliding friction
            (:func:`~aemon.sim.machine_noise.add_friction`); False draws exactly as before.

    Returns:
        :class:`Background`; ``signal`` is finite float32 whose base noise has unit RMS.
    """
    x, shape = coloured_noise(rng, n, fs)
    names = BACKGROUND_FAMILIES + MACHINE_FAMILIES if machine_noise else BACKGROUND_FAMILIES
    primary = str(rng.choice(names))
    extra = [f for f in names[1:] if f != primary and rng.random() < EXTRA_FAMILY_P]
    families = (primary, *extra)
    spans: list[tuple[int, int]] = []
    if "hydraulic" in families:
        x += hydraulic_noise(rng, n, fs, spans)
    if "modulated" in families:
        swing = machine_noise and rng.random() < 0.4
        x *= level_swing(rng, n) if swing else _level_envelope(rng, n)
    if "hum" in families:
        _hum(rng, x, fs)
    if "machinery" in families:
        (add_impact_trains if machine_noise else _machinery)(rng, x, fs, spans)
    if "impacts" in families:
        for _ in range(int(rng.integers(1, 4))):
            level = 10 ** (rng.uniform(10.0, 40.0) / 20)  # drawn before the ring, as always
            ring = impact_ring(rng, fs) if machine_noise else _ringing(rng, fs, (5e3, 90e3))
            wave = level * ring
            add_with_span(x, wave, int(rng.integers(-wave.size // 2, n)), spans)
    if "fretting" in families:
        add_fretting(rng, x, fs, spans)
    if "rubbing" in families:
        (add_friction if machine_noise and friction else _rubbing)(rng, x, fs, spans)
    if "spikes" in families:
        _spikes(rng, x, spans)
    if "quantised" in families:  # coarse ADC: step 0.1–1.5 × noise RMS
        step = rng.uniform(0.1, 1.5)
        x = np.round(x / step) * step
    if "clipped" in families:  # clip at the 97–99.9 % quantile of |x|
        level = float(np.quantile(np.abs(x), rng.uniform(0.97, 0.999)))
        np.clip(x, -level, level, out=x)
    spans.sort()
    return Background(x.astype(np.float32), spans, families, shape)


def random_background(rng: np.random.Generator, n: int, fs: float) -> F32:
    """:func:`draw_background` without the labels: float32 ``(n,)``, base noise of unit RMS."""
    return draw_background(rng, n, fs).signal
