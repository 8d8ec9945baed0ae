"""End-to-end live monitor: ``aemon daq-sim`` → ZeroMQ → ``aemon monitor`` → PUB events.

Runs the DAQ simulator and the monitor as separate processes (as in the lab), paced in real
time, for each channel count. A subscriber here collects every event from the PUB socket and
reads its ``latency_ms`` (publish time minus the DAQ time of the event's last sample; both
processes share this machine's clock). Prints × real time, gaps, detector lag, latency
percentiles, peak RSS of the monitor, and event-level F1 against the simulator's truth.

Usage::

    python bench/bench_live.py [--seconds 60] [--channels 1 2 4] [--detector nn] [--model DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import zmq

from aemon.io.truth import score_event_list


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _collect(endpoint: str, latencies: list[float], stop: threading.Event) -> None:
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"event")
    sub.setsockopt(zmq.RCVTIMEO, 200)
    sub.connect(endpoint)
    while not stop.is_set():
        try:
            _, payload = sub.recv_multipart()
        except zmq.Again:
            continue
        value = json.loads(payload)["latency_ms"]
        if value is not None:
            latencies.append(value)
    sub.close(linger=0)
    ctx.term()


def run_case(channels: int, seconds: float, args: argparse.Namespace, tmp: Path) -> dict:
    """One daq-sim + monitor run; returns the figures."""
    daq_endpoint = f"tcp://127.0.0.1:{_free_port()}"
    pub_endpoint = f"tcp://127.0.0.1:{_free_port()}"
    truth, events, summary = tmp / f"t{channels}.csv", tmp / f"e{channels}.csv", tmp / "s.json"
    latencies: list[float] = []
    stop = threading.Event()
    collector = threading.Thread(target=_collect, args=(pub_endpoint, latencies, stop))
    collector.start()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    aemon = [sys.executable, "-m", "aemon.cli"]
    daq = subprocess.Popen(
        [*aemon, "daq-sim", "--endpoint", daq_endpoint, "--channels", str(channels),
         "--duration", str(seconds), "--seed", "5", "--truth", str(truth)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    monitor_cmd = [
        "/usr/bin/time", "-f", "%M", *aemon, "monitor", daq_endpoint, "--duration", str(seconds),
        "--csv", str(events), "--overwrite", "--events-endpoint", pub_endpoint, "-q",
        "--summary", str(summary), "--detector", args.detector,
    ]  # fmt: skip
    if args.model:
        monitor_cmd += ["--model", args.model]
    if args.record:
        monitor_cmd += ["--out", str(tmp / f"live{channels}.h5"), "--overwrite"]
    try:
        done = subprocess.run(monitor_cmd, capture_output=True, text=True, env=env, check=True)
    finally:
        daq.wait(timeout=60)
        stop.set()
        collector.join()
    status = json.loads(summary.read_text())
    if args.record:
        from aemon.io.recording import RecordingReader

        with RecordingReader(tmp / f"live{channels}.h5") as reader:
            info = reader.info
        if info.gaps or info.events != status["events"]:
            raise RuntimeError(f"recording lost data: {info}")
        (tmp / f"live{channels}.h5").unlink()
    peak_rss_mb = int(done.stderr.strip().splitlines()[-1]) / 1024
    score = score_event_list(events, truth)
    lat = np.asarray(latencies)
    return {
        "channels": channels,
        "x_rt": status["realtime_factor"],
        "gaps": status["gaps"],
        "lag_ms": status["detect_lag_s"] * 1e3,
        "p50": float(np.percentile(lat, 50)) if lat.size else float("nan"),
        "p95": float(np.percentile(lat, 95)) if lat.size else float("nan"),
        "p99": float(np.percentile(lat, 99)) if lat.size else float("nan"),
        "events": status["events"],
        "f1": score.f1,
        "rss_mb": peak_rss_mb,
    }


def main() -> None:
    """Run every channel count and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--channels", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--detector", default="nn", choices=["nn", "threshold", "cascade"])
    parser.add_argument("--model", help="model directory (default: the shipped one)")
    parser.add_argument(
        "--record", action="store_true", help="also record raw signal and events to HDF5"
    )
    args = parser.parse_args()
    print(
        f"live monitor, {args.seconds:g} s per case, detector {args.detector}, 1.5625 MHz"
        + (", recording to HDF5" if args.record else "")
    )
    print(
        f"{'ch':>3} {'× rt':>6} {'gaps':>5} {'lag ms':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'events':>7} {'F1':>6} {'RSS MB':>7}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for channels in args.channels:
            r = run_case(channels, args.seconds, args, Path(tmp))
            print(
                f"{r['channels']:>3d} {r['x_rt']:>6.2f} {r['gaps']:>5d} {r['lag_ms']:>7.1f} "
                f"{r['p50']:>7.1f} {r['p95']:>7.1f} {r['p99']:>7.1f} {r['events']:>7d} "
                f"{r['f1']:>6.3f} {r['rss_mb']:>7.0f}"
            )


if __name__ == "__main__":
    main()
