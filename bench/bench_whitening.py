"""Whitening and randomised-data figures: ``python bench/bench_whitening.py``.

Times are CPU time of this process (one core), so other load on the machine matters less.
Prints the spectral flatness table of the whitener, its throughput, the SNR of a 150 kHz
resonant burst before and after whitening, and the generation rate of randomised windows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
from scipy import signal as sps

from aemon.dsp.whitening import PreWhitener, spectral_flatness, support_band, whiten_window
from aemon.sim.randomised import random_background, random_burst

logger = logging.getLogger(__name__)

FS = 1_562_500.0


def probe(name: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-RMS test noise: white, AR(1)+band-pass 20–700 kHz, band-pass 50–300 kHz, 1/f."""
    white = rng.standard_normal(n)
    if name == "white":
        x = white
    elif name == "ar1+bp20-700k":
        x = sps.lfilter([1.0], [1.0, -0.6], white)
        x = sps.sosfilt(sps.butter(4, [20e3, 700e3], "bandpass", fs=FS, output="sos"), x)
    elif name == "bp50-300k":
        x = sps.sosfilt(sps.butter(4, [50e3, 300e3], "bandpass", fs=FS, output="sos"), white)
    else:
        spec = np.fft.rfft(white)
        k = np.arange(spec.size, dtype=float)
        k[0] = 1.0
        x = np.fft.irfft(spec / np.sqrt(k), n)
    return np.asarray(x / x.std(), np.float32)


PROBES = ("white", "ar1+bp20-700k", "bp50-300k", "1/f")


def flatness_table(n: int = 1 << 20) -> None:
    """Flatness before/after (whole band, and the probe's 60 dB support band)."""
    print("probe            band(kHz)    full: before  p16   p24 | 60dB band: before  p16   p24")
    for name in PROBES:
        x = probe(name, np.random.default_rng(0), n)
        band = support_band(x, FS)
        ys = [whiten_window(x, order=p)[n // 2 :] for p in (16, 24)]
        full = [spectral_flatness(v, FS) for v in (x, *ys)]
        inband = [spectral_flatness(v, FS, band) for v in (x, *ys)]
        lo, hi = band[0] / 1e3, band[1] / 1e3
        print(
            f"{name:15s} {lo:4.0f}-{hi:4.0f}    "
            + "  ".join(f"{v:5.2f}" for v in full)
            + "   |        "
            + "  ".join(f"{v:5.2f}" for v in inband)
        )


def throughput() -> None:
    """MS/s of one channel, best of 3, for one big block and for 4096-sample blocks."""
    x = np.random.default_rng(1).standard_normal((1, 1 << 22)).astype(np.float32)
    for order in (8, 16, 24, 32):
        w = PreWhitener(1, order)
        w.process(x[:, :10_000])
        big = small = 0.0
        for _ in range(3):
            w.reset()
            t = time.process_time()
            w.process(x)
            big = max(big, x.shape[1] / (time.process_time() - t) / 1e6)
            w.reset()
            t = time.process_time()
            for i in range(0, x.shape[1], 4096):
                w.process(x[:, i : i + 4096])
            small = max(small, x.shape[1] / (time.process_time() - t) / 1e6)
        print(f"order {order:2d}: {big:6.1f} MS/s (one block), {small:6.1f} MS/s (4096-blocks)")


def burst_snr(snr_db: float = 20.0) -> None:
    """Peak over noise RMS of a 150 kHz resonant burst, before and after whitening."""
    n, at = 1 << 19, 400_000
    t = np.arange(1500) / FS
    burst = np.sin(2 * np.pi * 150e3 * t) * (1 - np.exp(-t / 5e-6)) * np.exp(-t / 100e-6)
    burst /= np.max(np.abs(burst))
    print(f"150 kHz resonant burst, raw peak/noise RMS {snr_db:.0f} dB:")
    for name in PROBES:
        noise = probe(name, np.random.default_rng(2), n)
        mix = noise.copy()
        mix[at : at + burst.size] += (10 ** (snr_db / 20) * burst).astype(np.float32)
        region = slice(at, at + burst.size)
        quiet = slice(n // 2, at - 20_000)
        w_noise, w_mix = whiten_window(noise), whiten_window(mix)
        before = np.max(np.abs(mix[region])) / np.std(noise[quiet])
        after = np.max(np.abs(w_mix[region])) / np.std(w_noise[quiet])
        energy_before = np.sum(mix[region] ** 2 - noise[region] ** 2)
        energy_after = np.sum(w_mix[region] ** 2 - w_noise[region] ** 2)
        print(
            f"  {name:15s} peak SNR {20 * np.log10(before):5.1f} -> {20 * np.log10(after):5.1f} dB;"
            f"  energy SNR {10 * np.log10(energy_before / np.var(noise[quiet])):5.1f} -> "
            f"{10 * np.log10(energy_after / np.var(w_noise[quiet])):5.1f} dB"
        )


def _rate(draw: Callable[[np.random.Generator], object], seconds: float = 3.0) -> float:
    rng = np.random.default_rng(3)
    count, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        draw(rng)
        count += 1
    return count / (time.process_time() - start)


def generation_rate(n: int = 32_768) -> None:
    """Randomised windows per second on one core (1 burst, and 1–10 bursts per window)."""
    for fs in (FS, 192_000.0):

        def one(rng: np.random.Generator, fs: float = fs) -> None:
            random_background(rng, n, fs)
            random_burst(rng, fs)

        def mix(rng: np.random.Generator, fs: float = fs) -> None:
            random_background(rng, n, fs)
            for _ in range(int(rng.integers(1, 11))):
                random_burst(rng, fs)

        print(
            f"fs {fs / 1e3:7.1f} kHz: {_rate(one):5.0f} windows/s (background + 1 burst), "
            f"{_rate(mix):5.0f} windows/s (background + 1–10 bursts)"
        )


if __name__ == "__main__":
    flatness_table()
    throughput()
    burst_snr()
    generation_rate()
