"""Ring buffer push throughput (MS/s per channel), with and without readers.

Pushes pre-generated blocks as fast as possible and prints samples per second per channel
for several block sizes: no reader, one lossy reader polled by a thread, and one blocking
(lossless) reader drained by a thread, which is the recorder's situation. 1.5625 MS/s is the
DAQ rate the live path has to sustain.

Usage: ``python bench/bench_ring.py [--seconds 1.0] [--channels 1] [--dtype int16]``
"""

from __future__ import annotations

import argparse
import threading
import time

import numpy as np

from aemon.stream.ring import RingBuffer, RingReader

DAQ_RATE_HZ = 1.5625e6


def _drain(reader: RingReader, stop: threading.Event) -> None:
    while not stop.is_set():
        if reader.read(timeout=0.05) is None:
            return


def run(block: int, channels: int, dtype: str, seconds: float, readers: str) -> float:
    """Push for about ``seconds`` (s); return the push rate in samples/s per channel."""
    ring = RingBuffer(channels, 1 << 22, dtype)
    stop = threading.Event()
    threads = []
    if readers != "none":
        reader = ring.reader(readers, blocking=readers == "blocking")
        threads.append(threading.Thread(target=_drain, args=(reader, stop), daemon=True))
    for thread in threads:
        thread.start()
    data = (np.arange(block * channels) % 2000).astype(dtype).reshape(channels, block)
    position = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for _ in range(64):
            ring.push(position, data)
            position += block
    elapsed = time.perf_counter() - started
    ring.close()
    stop.set()
    for thread in threads:
        thread.join()
    return position / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per case (s)")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--dtype", default="int16")
    args = parser.parse_args()
    print(f"ring push, {args.channels} ch {args.dtype}, capacity 4 Mi samples")
    print(f"{'block':>8} {'readers':>9} {'MS/s/ch':>9} {'× DAQ':>7} {'GB/s':>6}")
    itemsize = np.dtype(args.dtype).itemsize
    for block in (1024, 8192, 65536):
        for readers in ("none", "lossy", "blocking"):
            rate = run(block, args.channels, args.dtype, args.seconds, readers)
            gbps = rate * args.channels * itemsize * 2 / 1e9  # two copies per sample
            print(
                f"{block:>8} {readers:>9} {rate / 1e6:>9.1f} {rate / DAQ_RATE_HZ:>7.0f} "
                f"{gbps:>6.2f}"
            )


if __name__ == "__main__":
    main()
