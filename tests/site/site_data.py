"""A small synthetic site for the site-learning tests: a machine with ringing impacts, and a
pencil-lead-break check in its noise. Written for these tests only (no aemon.sim, no bench)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.signal
import soundfile as sf

RATE = 1_562_500.0
NOISE_RMS_V = 1e-3


def machine(rng: np.random.Generator, seconds: float, impacts_per_s: float = 300.0) -> np.ndarray:
    """Low-pass hydraulic noise, a white floor, and 60 kHz ringing impacts 3-5 x the RMS (V)."""
    n = int(seconds * RATE)
    sos = scipy.signal.butter(2, 30e3, "lowpass", fs=RATE, output="sos")
    x = scipy.signal.sosfilt(sos, rng.standard_normal(n))
    x = x / np.std(x) + 0.1 * rng.standard_normal(n)
    t = np.arange(int(600e-6 * RATE)) / RATE
    ring = np.exp(-t / 100e-6) * np.sin(2 * np.pi * 60e3 * t)
    for at in np.cumsum(rng.exponential(RATE / impacts_per_s, int(seconds * impacts_per_s))):
        at = int(at)
        if at + ring.size < n:
            x[at : at + ring.size] += rng.uniform(3, 5) * ring
    return x * NOISE_RMS_V / np.std(x)


def crack_burst(rng: np.random.Generator, peak_v: float) -> np.ndarray:
    """A broadband burst (from 80-150 kHz up to 400-700 kHz) with a fast rise and a
    100-250 µs decay (V)."""
    n = int(1.2e-3 * RATE)
    band = [rng.uniform(80e3, 150e3), rng.uniform(400e3, 700e3)]
    sos = scipy.signal.butter(4, band, "bandpass", fs=RATE, output="sos")
    decay = np.exp(-np.arange(n) / RATE / rng.uniform(100e-6, 250e-6))
    wave = scipy.signal.sosfilt(sos, rng.standard_normal(n)) * decay
    return wave * peak_v / np.max(np.abs(wave))


def with_bursts(
    rng: np.random.Generator, x: np.ndarray, count: int, snr_db: tuple[float, float]
) -> tuple[np.ndarray, list[int]]:
    """``x`` with ``count`` bursts spread evenly at peaks ``snr_db`` over the noise RMS."""
    out = x.copy()
    step = x.size // (count + 1)
    onsets = []
    for k in range(count):
        at = (k + 1) * step + int(rng.integers(-step // 5, step // 5))
        wave = crack_burst(rng, NOISE_RMS_V * 10 ** (rng.uniform(*snr_db) / 20))
        out[at : at + wave.size] += wave[: x.size - at]
        onsets.append(at)
    return out, onsets


def write_wav(path: Path, x: np.ndarray, rate: float = RATE) -> Path:
    """A float WAV of ``x`` (V; aemon reads WAV float samples as volts)."""
    sf.write(path, x.astype(np.float32), int(rate), subtype="FLOAT")
    return path
