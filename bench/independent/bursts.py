"""Realistic AE bursts: plate-wave propagation from a point source to a sensor.

Written independently of ``aemon.sim*`` (which draws damped sinusoid modes): every burst here
is synthesised in the frequency domain as

    X(f) = S(f) · R(f) · Σ_paths a_p · [w_S0 · P_S0(f, d_p) + P_A0(f, d_p)]

where ``S`` is the source spectrum, ``R`` the sensor response and ``P(f, d) =
exp(-i·2πf·d / c_p(f)) · exp(-α f d) / sqrt(d)`` the propagator of a Lamb-wave mode with
phase velocity ``c_p(f)`` over a path of ``d`` metres:

- **Sources**: ``"plb"`` (pencil-lead break: a force step with a 0.5-3 µs cosine-like rise,
  spectrum ~1/f, excites mostly the flexural A0 mode) and ``"crack"`` (a short 0.1-2 µs
  pulse with a flat spectrum up to ~1/width, in-plane, so the S0 arrival is stronger).
- **Modes**: S0-like (fast, 4.8-5.5 km/s at low frequency, mildly dispersive, weak) and
  A0-like (flexural: phase velocity ∝ sqrt(f·h) at low f, tending to the Rayleigh speed; slow,
  strongly dispersive, strong). Plate thickness 2-12 mm; source distance 0.02-0.5 m.
- **Sensor**: ``"resonant"`` (second-order resonance near 150 or 300 kHz, Q 2-25, with a weak
  overtone) or ``"wideband"`` (analog Butterworth band-pass ~100-900 kHz).
- **Reflections and reverberation**: a few discrete image paths (edges) plus a diffuse field
  of many arrivals whose density builds up over 5-150 µs and decays over 50-600 µs, so the
  envelope maximum often comes late.

Truth rule (documented, used by the benchmark): the envelope is ``|hilbert(x)|`` smoothed by a
centred 5-sample moving average; **onset** is the first sample where it reaches 1/100 of its
maximum (-40 dB), **end** one past the last such sample. Bursts are redrawn until the rise
time (onset to envelope maximum) lies in 1-300 µs and the length fits :data:`MAX_BURST_S`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.fft
import scipy.signal

logger = logging.getLogger(__name__)

SOURCES = ("plb", "crack")
"""Source kinds drawn with equal probability."""
SENSORS = ("resonant", "wideband")
"""Sensor kinds drawn with equal probability."""
DISTANCE_M = (0.02, 0.5)
"""Range (m) of the source-sensor distance (log-uniform)."""
RISE_TIME_S = (1e-6, 300e-6)
"""Accepted range (s) of the rise time, onset to envelope maximum."""
MAX_BURST_S = 2.6e-3
"""Longest accepted burst, onset to end (s)."""
END_LEVEL = 0.01
"""Envelope level (fraction of its maximum, -40 dB) that defines onset and end."""
MARGIN_SAMPLES = 32
"""Samples kept (and tapered) before the onset and after the end in the returned waveform."""

_N_FFT = 8192
_LEAD_S = 40e-6  # source time after the start of the synthesis window
_D_REF_M = 0.1  # spreading reference distance
_DIFFUSE_BINS = 6
_C_DIFFUSE = 2600.0  # m/s, converts a diffuse arrival delay into an extra path length
_MAX_TRIES = 30


@dataclass(frozen=True)
class Burst:
    """One synthetic burst with unit peak.

    Attributes:
        waveform: float64 samples, ``max |waveform| == 1``.
        onset: Index in ``waveform`` of the true onset (envelope reaches 1 % of maximum);
            about :data:`MARGIN_SAMPLES`.
        end: Index one past the last sample whose envelope is at least 1 % of maximum.
        peak: Index of the envelope maximum.
        rise_time_us: ``(peak - onset) / fs`` in µs.
        source: ``"plb"`` or ``"crack"``.
        sensor: ``"resonant"`` or ``"wideband"``.
        distance_m: Direct source-sensor distance (m).
    """

    waveform: npt.NDArray[np.float64]
    onset: int
    end: int
    peak: int
    rise_time_us: float
    source: str
    sensor: str
    distance_m: float


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


@dataclass(frozen=True)
class _Plate:
    """Plate and mode parameters for one burst (SI units)."""

    thickness_m: float
    c_s0: float  # low-frequency S0 (plate) velocity, m/s
    c_shear: float
    alpha_a0: float  # A0 attenuation at 100 kHz, Np/m
    alpha_s0: float

    @staticmethod
    def draw(rng: np.random.Generator) -> _Plate:
        c_s0 = rng.uniform(4800.0, 5500.0)
        return _Plate(
            thickness_m=_log_uniform(rng, 2e-3, 12e-3),
            c_s0=c_s0,
            c_shear=c_s0 * rng.uniform(0.58, 0.62),
            alpha_a0=_log_uniform(rng, 0.3, 6.0),
            alpha_s0=_log_uniform(rng, 0.1, 2.0),
        )

    def wavenumbers(self, f_hz: npt.NDArray[np.float64]) -> tuple[np.ndarray, np.ndarray]:
        """Return the (S0, A0) wavenumbers 2πf/c_p (rad/m) at ``f_hz``."""
        omega = 2.0 * np.pi * f_hz
        c_rayleigh = 0.92 * self.c_shear
        fh = f_hz * self.thickness_m / self.c_shear
        c_p_s0 = np.maximum(self.c_s0 * (1.0 - 0.7 * fh**2), c_rayleigh)
        kappa = self.c_s0 * self.thickness_m / math.sqrt(12.0)
        c_flex2 = np.maximum(omega * kappa, 1e-9)
        c_p_a0 = 1.0 / np.sqrt(1.0 / c_flex2 + 1.0 / c_rayleigh**2)
        return omega / c_p_s0, omega / c_p_a0


def _source_spectrum(rng: np.random.Generator, kind: str, f_hz: np.ndarray) -> np.ndarray:
    """Spectrum of the source-time function (arbitrary scale)."""
    if kind == "plb":
        rise_s = rng.uniform(0.5e-6, 3e-6)
        smooth = np.exp(-((np.pi * f_hz * rise_s / 1.5) ** 2))
        return smooth / (1j * 2.0 * np.pi * np.maximum(f_hz, 5e3))
    width_s = _log_uniform(rng, 0.1e-6, 2e-6)
    return np.exp(-((np.pi * f_hz * width_s) ** 2)).astype(complex)


def _sensor_response(rng: np.random.Generator, kind: str, f_hz: np.ndarray) -> np.ndarray:
    """Complex response of the sensor (plus a 20 kHz preamp high-pass)."""
    w = 2.0 * np.pi * f_hz
    b_hp, a_hp = scipy.signal.butter(2, 2.0 * np.pi * 20e3, "highpass", analog=True)
    response = scipy.signal.freqs(b_hp, a_hp, w)[1]
    if kind == "resonant":
        f0 = (150e3 if rng.random() < 0.5 else 300e3) * rng.uniform(0.92, 1.08)
        q = _log_uniform(rng, 2.0, 25.0)
        total = _resonance(w, f0, q)
        overtone = rng.uniform(1.6, 2.6) * f0
        total += rng.uniform(0.05, 0.4) * _resonance(w, overtone, q * rng.uniform(0.5, 1.5))
        return np.asarray(response * total)
    lo = 100e3 * rng.uniform(0.85, 1.15)
    hi = 900e3 * rng.uniform(0.85, 1.1)
    b, a = scipy.signal.butter(2, [2.0 * np.pi * lo, 2.0 * np.pi * hi], "bandpass", analog=True)
    ripple = 1.0 + rng.uniform(0.0, 0.2) * np.sin(f_hz / rng.uniform(60e3, 150e3))
    return np.asarray(response * scipy.signal.freqs(b, a, w)[1] * ripple)


def _resonance(w: np.ndarray, f0_hz: float, q: float) -> np.ndarray:
    """Second-order band-pass resonance with unit peak gain at ``f0_hz``."""
    w0 = 2.0 * np.pi * f0_hz
    s = 1j * w
    return np.asarray((w0 / q) * s / (s**2 + (w0 / q) * s + w0**2))


def _paths(rng: np.random.Generator, d_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Discrete paths: direct + 0-8 edge reflections. Returns (lengths m, amplitudes)."""
    n_images = int(rng.integers(0, 9))
    extra = np.sort(rng.uniform(0.03, 1.2, n_images))
    refl = rng.uniform(0.4, 0.9, n_images) ** rng.integers(1, 3, n_images)
    signs = rng.choice([-1.0, 1.0], n_images)
    lengths = np.concatenate(([d_m], d_m + extra))
    amps = np.concatenate(([1.0], refl * signs))
    return lengths, amps


def _diffuse(
    rng: np.random.Generator, d_m: float, fs: float
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Diffuse reverberation as sparse impulse trains grouped in distance bins.

    Returns:
        (bin path lengths m, one impulse train per bin, delays relative to its bin, samples).
    """
    level = _log_uniform(rng, 0.1, 5.0)
    build_s = _log_uniform(rng, 5e-6, 150e-6)
    decay_s = _log_uniform(rng, 50e-6, 600e-6)
    span_s = min(build_s + 5.0 * decay_s, 0.75 * MAX_BURST_S)
    n_arrivals = int(rng.integers(40, 160))
    t = np.sort(rng.uniform(0.0, span_s, n_arrivals))
    envelope = (1.0 - np.exp(-t / build_s)) * np.exp(-t / decay_s)
    amps = level * envelope * rng.standard_normal(n_arrivals) * math.sqrt(40.0 / n_arrivals)
    edges = np.linspace(0.0, span_s, _DIFFUSE_BINS + 1)
    lengths = d_m + _C_DIFFUSE * edges[:-1]
    trains = []
    for b in range(_DIFFUSE_BINS):
        sel = (t >= edges[b]) & (t < edges[b + 1])
        train = np.zeros(_N_FFT)
        np.add.at(train, np.round((t[sel] - edges[b]) * fs).astype(int), amps[sel])
        trains.append(train)
    return lengths, trains


def _propagate(
    plate: _Plate, k: tuple[np.ndarray, np.ndarray], f_hz: np.ndarray, d_m: float, w_s0: float
) -> np.ndarray:
    """Both modes over a path of ``d_m`` metres, with spreading and attenuation."""
    k_s0, k_a0 = k
    spread = 1.0 / math.sqrt(d_m / _D_REF_M)
    fr = f_hz / 100e3
    s0 = w_s0 * np.exp(-1j * k_s0 * d_m - plate.alpha_s0 * fr * d_m)
    a0 = np.exp(-1j * k_a0 * d_m - plate.alpha_a0 * fr * d_m)
    return np.asarray(spread * (s0 + a0))


def _synthesise(
    rng: np.random.Generator, fs: float, source: str, sensor: str, d_m: float
) -> npt.NDArray[np.float64]:
    """One raw waveform of ``_N_FFT`` samples (unnormalised)."""
    f_hz = scipy.fft.rfftfreq(_N_FFT, 1.0 / fs)
    plate = _Plate.draw(rng)
    k = plate.wavenumbers(f_hz)
    w_s0 = rng.uniform(0.05, 0.3) if source == "plb" else rng.uniform(0.3, 1.0)
    spectrum = np.zeros(f_hz.size, dtype=complex)
    lengths, amps = _paths(rng, d_m)
    for length, amp in zip(lengths, amps, strict=True):
        spectrum += amp * _propagate(plate, k, f_hz, float(length), w_s0)
    bin_lengths, trains = _diffuse(rng, d_m, fs)
    for length, train in zip(bin_lengths, trains, strict=True):
        if np.any(train):
            spectrum += scipy.fft.rfft(train) * _propagate(plate, k, f_hz, float(length), 0.2)
    spectrum *= _source_spectrum(rng, source, f_hz) * _sensor_response(rng, sensor, f_hz)
    spectrum *= np.exp(-2j * np.pi * f_hz * _LEAD_S)
    return np.asarray(scipy.fft.irfft(spectrum, _N_FFT))


def envelope(x: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Smoothed Hilbert envelope used by the truth rule (5-sample centred moving average)."""
    env = np.abs(scipy.signal.hilbert(np.asarray(x, dtype=np.float64)))
    return np.asarray(np.convolve(env, np.full(5, 0.2), mode="same"))


def make_burst(rng: np.random.Generator, fs: float = 1_562_500.0) -> Burst:
    """Draw one random burst.

    Args:
        rng: Random generator; the result depends only on its state.
        fs: Sample rate (Hz). Designed for 1.5625 MHz; lower rates alias nothing but lose
            the upper part of the band.

    Returns:
        A :class:`Burst` with unit peak, its onset and end by the -40 dB envelope rule.

    Raises:
        RuntimeError: If no burst met the rise-time and length limits in 30 draws.
    """
    for _ in range(_MAX_TRIES):
        source = SOURCES[int(rng.integers(0, len(SOURCES)))]
        sensor = SENSORS[int(rng.integers(0, len(SENSORS)))]
        d_m = _log_uniform(rng, *DISTANCE_M)
        x = _synthesise(rng, fs, source, sensor, d_m)
        env = envelope(x)
        peak = int(np.argmax(env))
        above = np.flatnonzero(env >= END_LEVEL * env[peak])
        onset, end = int(above[0]), int(above[-1]) + 1
        rise_s = (peak - onset) / fs
        if not RISE_TIME_S[0] <= rise_s <= RISE_TIME_S[1] or (end - onset) / fs > MAX_BURST_S:
            continue
        if onset < MARGIN_SAMPLES or end + MARGIN_SAMPLES > x.size:
            continue
        lo, hi = onset - MARGIN_SAMPLES, end + MARGIN_SAMPLES
        wave = x[lo:hi].copy()
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(MARGIN_SAMPLES) + 0.5) / MARGIN_SAMPLES)
        wave[:MARGIN_SAMPLES] *= ramp
        wave[-MARGIN_SAMPLES:] *= ramp[::-1]
        wave /= np.max(np.abs(wave))
        # The truth follows the rule applied to the waveform as returned (after the taper).
        env = envelope(wave)
        peak = int(np.argmax(env))
        above = np.flatnonzero(env >= END_LEVEL * env[peak])
        onset, end = int(above[0]), int(above[-1]) + 1
        rise_s = (peak - onset) / fs
        if onset < MARGIN_SAMPLES // 2 or end > wave.size - MARGIN_SAMPLES // 2:
            continue
        if not RISE_TIME_S[0] <= rise_s <= RISE_TIME_S[1] or (end - onset) / fs > MAX_BURST_S:
            continue
        return Burst(
            waveform=wave,
            onset=onset,
            end=end,
            peak=peak,
            rise_time_us=rise_s * 1e6,
            source=source,
            sensor=sensor,
            distance_m=d_m,
        )
    raise RuntimeError(f"no burst met the limits in {_MAX_TRIES} draws")
