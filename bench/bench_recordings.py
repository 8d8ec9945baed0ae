"""Peak RSS and MB/s of replay, export and import on a large recording.

Writes an int16 recording of ``--gb`` GB of raw samples (2 channels at 1.5625 MHz, noise
with a burst every few ms, so the event table is large too) plus the same samples as a raw
dump, then runs each command in its own process and prints its wall time, throughput (MB of
raw samples per s) and peak RSS (from ``wait4``):

* ``aemon replay REC.h5 --speed max --detector threshold`` (new event table),
* ``aemon export REC.h5 --table T --csv`` and ``--pridb --tradb`` (events and waveforms),
* ``aemon import DUMP.raw --out NEW.h5``.

Usage:
    python bench/bench_recordings.py [--gb 4] [--dir /tmp] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from aemon.io.recording import RecordingWriter
from aemon.types import ChannelInfo, StreamFormat

RATE_HZ = 1_562_500.0
CHANNELS = 2
BLOCK = 1 << 20
VPC = 3.05e-7  # V per count: noise 50 counts = 15 µV, bursts ~ 3 mV


def make_block(seed: int) -> np.ndarray:
    """One block of noise with a burst every ~5 ms per channel (int16 counts)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 50.0, (CHANNELS, BLOCK))
    t = np.arange(1024)
    burst = 10_000.0 * np.exp(-t / 150.0) * np.sin(2 * np.pi * 0.096 * t)
    for c in range(CHANNELS):
        for onset in range(1000 + 3000 * c, BLOCK - 1024, 8000):
            x[c, onset : onset + 1024] += burst
    return np.clip(x, -32768, 32767).astype(np.int16)


def make_files(directory: Path, gigabytes: float) -> tuple[Path, Path, int]:
    """The recording and the raw dump; returns their paths and the raw bytes."""
    blocks = [make_block(s) for s in range(4)]
    n_blocks = max(1, round(gigabytes * 1e9 / (BLOCK * CHANNELS * 2)))
    rec, raw = directory / "big.h5", directory / "big.raw"
    fmt = StreamFormat(RATE_HZ, CHANNELS, "int16", VPC)
    info = [ChannelInfo(f"ch{i + 1}", volts_per_count=VPC) for i in range(CHANNELS)]
    started = time.perf_counter()
    with RecordingWriter(rec, fmt, info) as writer, open(raw, "wb") as dump:
        for i in range(n_blocks):
            block = blocks[i % len(blocks)]
            writer.push(i * BLOCK, block)
            block.T.tofile(dump)
    size = n_blocks * BLOCK * CHANNELS * 2
    wall = time.perf_counter() - started
    seconds = n_blocks * BLOCK / RATE_HZ
    print(f"made {size / 1e9:.2f} GB ({seconds:.0f} s × {CHANNELS} ch) in {wall:.0f} s;"
          f" .h5 {rec.stat().st_size / 1e9:.2f} GB on disk")  # fmt: skip
    return rec, raw, size


def run(label: str, args: list[str], raw_bytes: int) -> None:
    """Run ``aemon ARGS`` in a child process; print wall time, MB/s and peak RSS."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "aemon", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    assert proc.stdout is not None
    output = proc.stdout.read().decode(errors="replace").strip().splitlines()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    rss_mb = usage.ru_maxrss / 1024
    rate = raw_bytes / 1e6 / wall
    print(f"{label:<28} {wall:8.1f} s  {rate:8.1f} MB/s  peak RSS {rss_mb:7.0f} MB"
          f"  rc {proc.returncode}  | {output[-1] if output else ''}", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=4.0, help="raw sample bytes (GB)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--keep", action="store_true", help="keep the files")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="aemon-bench-", dir=args.dir))
    try:
        rec, raw, size = make_files(directory, args.gb)
        run("replay --speed max (thr)", ["replay", str(rec), "--detector", "threshold",
            "--threshold-db", "45", "--table", "thr", "--no-progress"], size)  # fmt: skip
        run("export --csv", ["export", str(rec), "--table", "thr", "--csv",
            str(directory / "e.csv")], size)  # fmt: skip
        run("export --pridb --tradb", ["export", str(rec), "--table", "thr", "--pridb",
            str(directory / "e.pridb"), "--tradb", str(directory / "e.tradb")], size)  # fmt: skip
        run("import raw -> h5", ["import", str(raw), "--rate", str(RATE_HZ), "--dtype", "int16",
            "--channels", str(CHANNELS), "--volts-per-count", str(VPC), "-o",
            str(directory / "imported.h5")], size)  # fmt: skip
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
