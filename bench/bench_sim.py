"""Simulator speed: how fast ``AESimulator.render`` produces signal on one core.

``aemon daq-sim`` streams the simulator live, so it must render several channels at
1.5625 MHz with room to spare. Prints MS/s (all channels) and × real time.

Usage::

    OMP_NUM_THREADS=1 python bench/bench_sim.py [--seconds 2] [--chunk 65536]
"""

from __future__ import annotations

import argparse
import time

from aemon.sim.simulator import AESimulator, SimConfig


def measure(channels: int, rate_hz: float, chunk: int, seconds: float) -> tuple[float, float]:
    """Render ``seconds`` of signal in chunks; return (MS/s over all channels, × real time)."""
    sim = AESimulator(SimConfig(sample_rate_hz=rate_hz, channels=channels, seed=1))
    sim.render(chunk)  # warm-up: filter design, caches
    total = int(seconds * rate_hz)
    t0 = time.perf_counter()
    for _ in range(0, total, chunk):
        sim.render(chunk)
    elapsed = time.perf_counter() - t0
    return total * channels / elapsed / 1e6, total / rate_hz / elapsed


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="signal per case (s)")
    parser.add_argument("--chunk", type=int, default=65536, help="samples per render call")
    args = parser.parse_args()
    print(f"{'rate Hz':>10} {'channels':>8} {'MS/s':>8} {'× rt':>7}")
    for rate in (1_562_500.0, 192_000.0):
        for channels in (1, 4, 8):
            msps, x_rt = measure(channels, rate, args.chunk, args.seconds)
            print(f"{rate:>10.0f} {channels:>8d} {msps:>8.1f} {x_rt:>7.1f}")


if __name__ == "__main__":
    main()
