"""Append throughput of RecordingWriter: MS/s per channel and × real time at 1.5625 MHz.

Pushes blocks of 65536 samples of AE-like noise (Gaussian, σ = 200 counts, with sparse
bursts) for 1, 4 and 8 channels, for each compression preset, and prints the figures. The
recorder must keep up with 8 channels × 1.5625 MS/s int16 (25 MB/s) on one core.

Usage:
    python bench/bench_recording.py [--seconds 2] [--chunk 131072] [--compression blosc-lz4]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from aemon.io import schema
from aemon.io.recording import RecordingWriter
from aemon.types import ChannelInfo, StreamFormat

RATE_HZ = 1_562_500.0
BLOCK = 65536


def make_signal(channels: int, samples: int, dtype: str, seed: int = 0) -> np.ndarray:
    """AE-like test signal: noise plus a few decaying bursts, in counts (int16) or volts."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 200.0, (channels, samples))
    t = np.arange(512)
    burst = 8000.0 * np.exp(-t / 80.0) * np.sin(2 * np.pi * 0.1 * t)
    for c in range(channels):
        for onset in rng.integers(0, samples - 512, size=max(1, samples // 50_000)):
            x[c, onset : onset + 512] += burst
    if dtype == "int16":
        return np.clip(x, -32768, 32767).astype(np.int16)
    return (x * 3.05e-5).astype(np.float32)


def bench(channels: int, compression: str, dtype: str, seconds: float, folder: str) -> tuple:
    """Write ``seconds`` of signal; return (MS/s per channel, MB/s, file bytes / raw bytes)."""
    pattern = make_signal(channels, 8 * BLOCK, dtype)
    total = int(seconds * RATE_HZ) // BLOCK * BLOCK
    fmt = StreamFormat(RATE_HZ, channels, dtype, 3.05e-5)
    infos = [ChannelInfo(f"ch{c + 1}", volts_per_count=3.05e-5) for c in range(channels)]
    path = os.path.join(folder, f"bench_{channels}_{compression}_{dtype}.h5")
    start = time.perf_counter()
    with RecordingWriter(path, fmt, infos, compression=compression, overwrite=True) as writer:
        for i, first in enumerate(range(0, total, BLOCK)):
            j = (i % 8) * BLOCK
            writer.push(first, pattern[:, j : j + BLOCK])
    elapsed = time.perf_counter() - start
    raw_bytes = total * channels * np.dtype(dtype).itemsize
    ratio = os.path.getsize(path) / raw_bytes
    os.remove(path)
    return total / elapsed / 1e6, raw_bytes / elapsed / 1e6, ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="signal seconds per run")
    parser.add_argument("--chunk", type=int, default=schema.RAW_CHUNK_SAMPLES)
    parser.add_argument("--compression", choices=schema.COMPRESSIONS, action="append")
    parser.add_argument("--dtype", choices=schema.SUPPORTED_DTYPES, default="int16")
    args = parser.parse_args()
    schema.RAW_CHUNK_SAMPLES = args.chunk
    compressions = args.compression or list(schema.COMPRESSIONS)
    print(f"blocks of {BLOCK} samples, chunks (1, {args.chunk}), {args.dtype}, {args.seconds} s")
    print(f"{'compression':<11} {'ch':>2} {'MS/s/ch':>8} {'MB/s':>7} {'x RT':>6} {'size':>6}")
    with tempfile.TemporaryDirectory() as folder:
        for compression in compressions:
            for channels in (1, 4, 8):
                ms, mb, ratio = bench(channels, compression, args.dtype, args.seconds, folder)
                print(
                    f"{compression:<11} {channels:>2} {ms:>8.1f} {mb:>7.0f} "
                    f"{ms * 1e6 / RATE_HZ:>6.1f} {ratio:>6.2f}"
                )


if __name__ == "__main__":
    main()
