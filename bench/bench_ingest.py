"""Ingest throughput: ZeroMQ frames → ring buffer → HDF5 recording.

Measures the receiving side of ``aemon record`` as fast as it can go: a publisher thread
sends pre-rendered int16 frames over a real PUSH/PULL socket on 127.0.0.1 without pacing, a
``ZmqSource`` decodes them into the ring, and the recorder thread writes them to HDF5 with the
default compression. Prints MS/s (all channels), × real time at 1.5625 MHz and peak RSS.

Usage::

    python bench/bench_ingest.py [--seconds 10] [--channels 1 4 8]
"""

from __future__ import annotations

import argparse
import resource
import socket
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from aemon.drivers.daq_publisher import DaqPublisher
from aemon.drivers.zmq_source import ZmqSource
from aemon.io.recording import RecordingReader, RecordingWriter
from aemon.sim.simulator import AESimulator, SimConfig
from aemon.stream.acquisition import Acquisition

RATE_HZ = 1_562_500.0
VOLTS_PER_COUNT = 0.1 / 32768


def _free_endpoint() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{sock.getsockname()[1]}"


def _frames(channels: int, frame_samples: int, count: int) -> list[np.ndarray]:
    """A few distinct int16 frames of simulated AE, reused round-robin."""
    sim = AESimulator(SimConfig(sample_rate_hz=RATE_HZ, channels=channels, seed=1))
    frames = []
    for _ in range(count):
        volts = sim.render(frame_samples).samples
        frames.append(np.clip(np.round(volts / VOLTS_PER_COUNT), -32768, 32767).astype(np.int16))
    return frames


def run_one(channels: int, seconds: float, frame_samples: int, out_dir: Path) -> dict[str, float]:
    """Stream ``seconds`` of signal through ingest → ring → HDF5; return the figures."""
    endpoint = _free_endpoint()
    total = int(seconds * RATE_HZ) // frame_samples * frame_samples
    frames = _frames(channels, frame_samples, 8)

    def publish() -> None:
        with DaqPublisher(endpoint, frame_samples=frame_samples) as pub:
            for i, first in enumerate(range(0, total, frame_samples)):
                pub.send(
                    first,
                    frames[i % len(frames)],
                    volts_per_count=VOLTS_PER_COUNT,
                    sample_rate_hz=RATE_HZ,
                )
            pub.end()

    sender = threading.Thread(target=publish, daemon=True)
    sender.start()
    path = out_dir / f"ingest_{channels}ch.h5"
    with ZmqSource(endpoint) as source:
        writer = RecordingWriter(
            path,
            source.format,
            source.channel_info,
            start_time_utc=datetime.now(UTC),
            first_sample=source.first_sample,
            overwrite=True,
        )
        with writer:
            t0 = time.perf_counter()
            with Acquisition(source, writer) as acq:
                acq.wait()
            elapsed = time.perf_counter() - t0
    sender.join()
    with RecordingReader(path) as reader:
        info = reader.info
    if info.samples != total or info.gaps:
        raise RuntimeError(f"lost data: {info.samples} of {total} samples, {info.gaps} gaps")
    msps = total * channels / elapsed / 1e6
    return {
        "channels": channels,
        "seconds_of_signal": total / RATE_HZ,
        "wall_s": elapsed,
        "msps": msps,
        "x_realtime": total / RATE_HZ / elapsed,
        "file_mb": path.stat().st_size / 1e6,
    }


def main() -> None:
    """Run the benchmark for each channel count and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="signal per run (s)")
    parser.add_argument("--channels", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--frame-samples", type=int, default=32768)
    args = parser.parse_args()
    print(f"ingest → ring → HDF5 (blosc-lz4), {args.seconds:g} s of signal at 1.5625 MHz, int16")
    print(f"{'channels':>8} {'MS/s':>8} {'× rt':>7} {'wall s':>7} {'file MB':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for channels in args.channels:
            r = run_one(channels, args.seconds, args.frame_samples, Path(tmp))
            print(
                f"{channels:>8d} {r['msps']:>8.1f} {r['x_realtime']:>7.2f} "
                f"{r['wall_s']:>7.2f} {r['file_mb']:>8.1f}"
            )
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
