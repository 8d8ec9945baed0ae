"""Conventional hit detector throughput (MS/s per channel, × real time at 1.5625 MHz).

Scans simulated AE (bursts, friction, spikes; 10 µV noise) in int16 counts or float32 volts,
pushed in blocks as a live source would, in both threshold modes: fixed dBAE and × noise RMS
(which also estimates the noise per frame). A second figure adds what the live path does for
each hit: AIC onset refinement and features (``ThresholdHitStream``), reported with the hit rate.
The first push of each case compiles nothing (numba caches to disk) and is not timed.

Usage: ``python bench/bench_hits.py [--seconds 2] [--channels 1] [--block 65536]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from aemon.detect.threshold_hit_stream import ThresholdHitStream
from aemon.detect.threshold_hits import HitDetector, HitDetectorConfig
from aemon.events.hit import HitBuilder
from aemon.sim.simulator import AESimulator, SimConfig

DAQ_RATE_HZ = 1.5625e6
VOLTS_PER_COUNT = 1e-6  # int16 counts of 1 µV: ±32.8 mV full scale


def make_signal(seconds: float, channels: int, dtype: str) -> np.ndarray:
    """Simulated signal (``(channels, n)``) in ``dtype``: volts or counts of 1 µV."""
    sim = AESimulator(SimConfig(channels=channels, seed=1, burst_rate_hz=50.0))
    volts = sim.render(int(seconds * DAQ_RATE_HZ)).samples
    if dtype == "float32":
        return volts
    return np.clip(np.round(volts / VOLTS_PER_COUNT), -32768, 32767).astype(np.int16)


def run(x: np.ndarray, config: HitDetectorConfig, block: int, events: bool) -> tuple[float, int]:
    """Push ``x`` in blocks; return (samples per second per channel, hits found)."""
    vpc = VOLTS_PER_COUNT if x.dtype == np.int16 else 1.0
    detector = HitDetector(config, DAQ_RATE_HZ, x.shape[0], volts_per_count=vpc)
    stream = ThresholdHitStream(detector, HitBuilder(DAQ_RATE_HZ, volts_per_count=vpc))
    push = stream.push if events else detector.push
    push(0, x[:, :block])  # warm-up: loads the cached kernel for this dtype
    found = 0
    started = time.perf_counter()
    for pos in range(block, x.shape[1], block):
        found += len(push(pos, x[:, pos : pos + block]))
    elapsed = time.perf_counter() - started
    return (x.shape[1] - block) / elapsed, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="signal length (s)")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--block", type=int, default=65536, help="samples per push")
    args = parser.parse_args()
    modes = {
        "40 dBAE": HitDetectorConfig(threshold_dbae=40.0),
        "6 x noise": HitDetectorConfig(threshold_x_noise=6.0),
    }
    print(
        f"hit detector, {args.channels} channel(s), blocks of {args.block} samples, "
        f"{args.seconds:g} s of simulated AE at {DAQ_RATE_HZ / 1e6:g} MHz"
    )
    print(
        f"{'dtype':<8}{'threshold':<11}{'stage':<16}{'MS/s/ch':>9}{'x real time':>13}{'hits/s':>8}"
    )
    for dtype in ("int16", "float32"):
        x = make_signal(args.seconds, args.channels, dtype)
        for name, config in modes.items():
            for events in (False, True):
                rate, found = run(x, config, args.block, events)
                stage = "hits + events" if events else "hits"
                hits_per_s = found / (x.shape[1] / DAQ_RATE_HZ) / args.channels
                print(
                    f"{dtype:<8}{name:<11}{stage:<16}{rate / 1e6:>9.1f}"
                    f"{rate / DAQ_RATE_HZ:>13.1f}{hits_per_s:>8.0f}"
                )


if __name__ == "__main__":
    main()
