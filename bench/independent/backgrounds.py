"""Background noise families for the generalisation benchmark.

Every family is a function ``(rng, n, fs) -> float32`` array of ``n`` samples at ``fs`` Hz with
unit RMS over the whole array (the benchmark's "noise RMS" that burst SNRs refer to). They are
written independently of ``aemon.sim_background`` and deliberately cover what it does not:

========================  ======================================================================
``white``                 Gaussian white noise.
``pink``                  1/f power spectrum from 1 kHz to Nyquist (flat below), so most of the
                          power lies below the AE band.
``ar_bandpass``           White → AR(1) ``y[n] = 0.6·y[n-1] + x[n]`` → 4th-order Butterworth
                          band-pass 20-700 kHz (the probe that fooled the shipped model).
``resonant_sensor``       White noise coloured by a sensor resonance near 150 or 300 kHz
                          (Q 3-30) over a weak white floor, then **quantised** by a coarse ADC
                          (noise RMS ≈ 2-4 LSB).
``machine``               Hydraulic-like low-pass noise whose level follows a 1-10 Hz load cycle,
                          plus bearing and gear impulse trains at shaft-related rates (each
                          impulse rings a 20-150 kHz structural resonance).
``rubbing``               Weak floor plus friction episodes: 5-60 ms long, emergent and symmetric
                          (Hann-shaped), band-limited 30-300 kHz noise.
``hum``                   Mains 50 Hz (or 60 Hz) with harmonics to 2 kHz, 10-20 dB above a white
                          floor: audible, and an AE high-pass removes most of it.
========================  ======================================================================
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import scipy.fft
import scipy.signal

logger = logging.getLogger(__name__)

Background = Callable[[np.random.Generator, int, float], npt.NDArray[np.float32]]
"""A background family: ``(rng, n samples, fs Hz) -> float32`` with unit RMS."""


def _unit(x: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """Scale ``x`` to unit RMS (zeros stay zeros) and return float32."""
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0
    out = x / rms if rms > 0 else x
    return np.asarray(out, dtype=np.float32)


def _shaped(
    rng: np.random.Generator, n: int, gain: Callable[[np.ndarray], np.ndarray], fs: float
) -> np.ndarray:
    """White noise shaped by the amplitude response ``gain(f_hz)`` via one FFT."""
    n_fft = scipy.fft.next_fast_len(max(n, 2), real=True)
    spec = scipy.fft.rfft(rng.standard_normal(n_fft))
    spec *= gain(scipy.fft.rfftfreq(n_fft, 1.0 / fs))
    return np.asarray(scipy.fft.irfft(spec, n_fft)[:n])


def white(rng: np.random.Generator, n: int, fs: float) -> npt.NDArray[np.float32]:
    """Gaussian white noise, unit RMS."""
    return _unit(rng.standard_normal(n))


def pink(rng: np.random.Generator, n: int, fs: float) -> npt.NDArray[np.float32]:
    """1/f (pink) noise: power ∝ 1/f above 1 kHz, flat below; unit RMS."""
    return _unit(_shaped(rng, n, lambda f: 1.0 / np.sqrt(np.maximum(f, 1e3)), fs))


def ar_bandpass(rng: np.random.Generator, n: int, fs: float) -> npt.NDArray[np.float32]:
    """White → AR(1) (a = 0.6) → 4th-order Butterworth band-pass 20-700 kHz; unit RMS.

    The band edges are clipped below Nyquist for low ``fs``.
    """
    x = scipy.signal.lfilter([1.0], [1.0, -0.6], rng.standard_normal(n))
    hi = min(700e3, 0.45 * fs)
    sos = scipy.signal.butter(4, [min(20e3, 0.5 * hi), hi], "bandpass", fs=fs, output="sos")
    return _unit(scipy.signal.sosfilt(sos, x))


def resonant_sensor(rng: np.random.Generator, n: int, fs: float) -> npt.NDArray[np.float32]:
    """Noise coloured by a sensor resonance, quantised by a coarse ADC; unit RMS.

    A second-order peak filter at 150 or 300 kHz (±8 %, Q 3-30) on white noise, plus a white
    floor 10-20 dB lower, rounded to an ADC step of 1/4 to 1/2 of the noise RMS (so the noise
    spans only a few LSB), then scaled to unit RMS (values stay on the quantisation grid).
    """
    f0 = min((150e3 if rng.random() < 0.5 else 300e3) * rng.uniform(0.92, 1.08), 0.4 * fs)
    q = math.exp(rng.uniform(math.log(3.0), math.log(30.0)))
    b, a = scipy.signal.iirpeak(f0, q, fs=fs)
    coloured = _unit(scipy.signal.lfilter(b, a, rng.standard_normal(n)))
    floor = 10.0 ** (-rng.uniform(10.0, 20.0) / 20.0)
    x = _unit(coloured + floor * rng.standard_normal(n)).astype(np.float64)
    step = rng.uniform(0.25, 0.5)
    return _unit(np.round(x / step) * step)


def _ringing_impulses(
    rng: np.random.Generator, n: int, fs: float, times_s: np.ndarray, peak: float
) -> np.ndarray:
    """Impulses at ``times_s`` each ringing a 20-150 kHz structural resonance."""
    out = np.zeros(n)
    f_ring = rng.uniform(20e3, min(150e3, 0.3 * fs))
    tau_s = rng.uniform(50e-6, 300e-6)
    m = max(8, int(5 * tau_s * fs))
    t = np.arange(m) / fs
    kernel = np.exp(-t / tau_s) * np.sin(2 * np.pi * f_ring * t)
    kernel /= np.max(np.abs(kernel))
    idx = np.round(times_s * fs).astype(int)
    idx = idx[(idx >= 0) & (idx < n)]
    for i, a in zip(idx, peak * rng.uniform(0.5, 1.0, idx.size), strict=True):
        stop = min(n, i + m)
        out[i:stop] += a * kernel[: stop - i]
    return out


def machine(rng: np.random.Generator, n: int, fs: float) -> npt.NDArray[np.float32]:
    """Hydraulic-like machine noise with load-cycle modulation and bearing/gear impulses.

    Low-pass (corner 10-60 kHz, 2nd order) noise plus a white floor 15-25 dB lower; its level
    is modulated by a 1-10 Hz load cycle (depth 0.3-0.8). A shaft at 10-50 Hz drives a bearing
    defect train (3-8 impulses per revolution) and a gear mesh train (12-40 teeth); impulses
    have ±2 % timing jitter and ring a structural resonance, with peaks 1.5-4 × the noise
    RMS for the bearing and 0.7-2 × for the gear mesh. Unit RMS overall.
    """
    t_s = np.arange(n) / fs
    corner = rng.uniform(10e3, 60e3)
    sos = scipy.signal.butter(2, corner, "lowpass", fs=fs, output="sos")
    hydraulic = _unit(scipy.signal.sosfilt(sos, rng.standard_normal(n)))
    hydraulic += 10.0 ** (-rng.uniform(15.0, 25.0) / 20.0) * rng.standard_normal(n)
    load_hz = rng.uniform(1.0, 10.0)
    depth = rng.uniform(0.3, 0.8)
    level = 1.0 + depth * np.sin(2 * np.pi * load_hz * t_s + rng.uniform(0, 2 * np.pi))
    x = hydraulic * level / math.sqrt(1.0 + depth**2 / 2.0)
    shaft_hz = rng.uniform(10.0, 50.0)
    duration = n / fs
    for per_rev, peak in ((rng.uniform(3.0, 8.0), 1.5 + 2.5 * rng.random()),
                          (float(rng.integers(12, 41)), 0.7 + 1.3 * rng.random())):  # fmt: skip
        period = 1.0 / (shaft_hz * per_rev)
        times = np.arange(rng.uniform(0, period), duration, period)
        times = times + rng.normal(0.0, 0.02 * period, times.size)
        x += _ringing_impulses(rng, n, fs, times, peak)
    return _unit(x)


def rubbing(rng: np.random.Generator, n: int, fs: float) -> npt.NDArray[np.float32]:
    """A weak white floor plus long, emergent, symmetric friction episodes; unit RMS.

    Episodes last 5-60 ms with a Hann envelope (equally slow rise and fall), contain
    band-limited noise in a random sub-band of 30-300 kHz, cover about 30 % of the time and
    peak 6-20 dB above the floor.
    """
    x = rng.standard_normal(n)
    pos = int(rng.exponential(0.05 * fs))
    while pos < n:
        length = int(rng.uniform(5e-3, 60e-3) * fs)
        lo = rng.uniform(30e3, 150e3)
        hi = min(lo * rng.uniform(1.5, 2.5), 300e3, 0.45 * fs)
        sos = scipy.signal.butter(2, [lo, hi], "bandpass", fs=fs, output="sos")
        seg = scipy.signal.sosfilt(sos, rng.standard_normal(length))
        seg *= np.hanning(length) / max(float(np.std(seg)), 1e-12)
        seg *= 10.0 ** (rng.uniform(6.0, 20.0) / 20.0)
        stop = min(n, pos + length)
        x[pos:stop] += seg[: stop - pos]
        pos = stop + int(rng.exponential(2.3 * 32e-3 * fs))
    return _unit(x)


def hum(rng: np.random.Generator, n: int, fs: float) -> npt.NDArray[np.float32]:
    """Mains hum (50 or 60 Hz and harmonics to 2 kHz) 10-20 dB above a white floor; unit RMS.

    Harmonic amplitudes fall as 1/k with odd harmonics favoured (transformer/rectifier hum);
    the total hum RMS is 10-20 dB above the white floor's RMS.
    """
    f_mains = 50.0 if rng.random() < 0.7 else 60.0
    f_mains *= 1.0 + rng.normal(0.0, 0.002)
    # The hum lies below 2 kHz: evaluate it every 16 samples and interpolate linearly
    # (error and images below -60 dB of the hum, i.e. below the white floor).
    step = 16
    coarse = np.arange(0, n + step, step)
    z = np.exp(2j * np.pi * f_mains / fs * coarse)
    zk = z.copy()
    hc = np.zeros(coarse.size)
    for k in range(1, int(2000.0 // f_mains) + 1):
        amp = (1.0 if k % 2 else 0.4) * rng.uniform(0.5, 1.0) / k
        phase = rng.uniform(0, 2 * np.pi)
        hc += amp * (zk.imag * math.cos(phase) + zk.real * math.sin(phase))  # sin(kωt + φ)
        zk *= z
    h = np.interp(np.arange(n), coarse, hc)
    h = _unit(h).astype(np.float64) * 10.0 ** (rng.uniform(10.0, 20.0) / 20.0)
    return _unit(h + rng.standard_normal(n))


FAMILIES: dict[str, Background] = {
    "white": white,
    "pink": pink,
    "ar_bandpass": ar_bandpass,
    "resonant_sensor": resonant_sensor,
    "machine": machine,
    "rubbing": rubbing,
    "hum": hum,
}
"""Every background family by name."""


def background(name: str, rng: np.random.Generator, n: int, fs: float) -> npt.NDArray[np.float32]:
    """Render ``n`` samples of the family ``name`` (unit RMS).

    Raises:
        KeyError: For an unknown family name (message lists the known ones).
    """
    try:
        family = FAMILIES[name]
    except KeyError:
        known = ", ".join(FAMILIES)
        raise KeyError(f"unknown background family {name!r}; use one of {known}") from None
    return family(rng, n, fs)
