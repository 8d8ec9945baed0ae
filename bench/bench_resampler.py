"""Cost of the streaming rational resampler: ``python bench/bench_resampler.py``.

For each WaveLine rate (2 MHz spotWave / linWave at decimation 5, 10 MHz linWave) it pushes
a few seconds of two-channel int16 noise in 20 ms blocks and prints the CPU time per second
of signal (one core, this process only) and the latency the filter adds; for comparison,
the CPU time of one ``scipy.signal.resample_poly`` call on the same signal.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.signal import resample_poly

from aemon.dsp.rational_resampler import RationalResampler, rational_ratio

MODEL_RATE_HZ = 1_562_500.0


def bench(rate_hz: float, seconds: float, channels: int) -> dict[str, float]:
    """CPU seconds per second of signal, streaming and one-shot, at ``rate_hz``."""
    ratio = rational_ratio(rate_hz, MODEL_RATE_HZ)
    assert ratio is not None
    n = int(seconds * rate_hz)
    block = int(0.02 * rate_hz)
    x = np.random.default_rng(0).normal(0, 300, (channels, n)).astype(np.int16)
    resampler = RationalResampler(ratio.numerator, ratio.denominator, channels)
    resampler.push(x[:, :block])  # compile outside the timing
    resampler = RationalResampler(ratio.numerator, ratio.denominator, channels)
    t0 = time.process_time()
    for start in range(0, n, block):
        resampler.push(x[:, start : start + block])
    resampler.flush()
    streaming = time.process_time() - t0
    t0 = time.process_time()
    resample_poly(x.astype(np.float64), ratio.numerator, ratio.denominator, axis=1)
    one_shot = time.process_time() - t0
    return {
        "up": ratio.numerator,
        "down": ratio.denominator,
        "streaming_cpu_per_s": streaming / seconds,
        "resample_poly_cpu_per_s": one_shot / seconds,
        "latency_us": resampler.latency_samples / rate_hz * 1e6,
    }


def main() -> None:
    """Print one line per rate."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="signal per rate (s)")
    parser.add_argument("--channels", type=int, default=2)
    args = parser.parse_args()
    print(f"{args.channels} channels, {args.seconds:g} s of int16 per rate, 20 ms blocks")
    for rate in (2e6, 10e6):
        r = bench(rate, args.seconds, args.channels)
        print(
            f"{rate / 1e6:4.0f} MHz -> 1.5625 MHz ({r['up']:.0f}/{r['down']:.0f}): streaming "
            f"{r['streaming_cpu_per_s']:.3f} CPU s per s of signal "
            f"({1 / r['streaming_cpu_per_s']:.1f}x real time on one core), one-shot "
            f"resample_poly {r['resample_poly_cpu_per_s']:.3f}; latency {r['latency_us']:.1f} µs"
        )


if __name__ == "__main__":
    main()
