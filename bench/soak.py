"""Soak test: ``aemon daq-sim`` → ``aemon monitor --out`` for N minutes, checking that no sample
is lost and that memory does not grow.

Runs the DAQ simulator (1.5625 MHz × C channels, paced in real time, CRC on) and the live
monitor with recording as separate processes, as in the lab. This script subscribes to the
monitor's PUB socket (every event's ``latency_ms``, and the status once a second) and samples
both processes' RSS and CPU time from ``/proc`` once a second. At the end it compares:

* samples sent (daq-sim summary) = received (monitor) = recorded (``/raw``), and the
  per-channel SHA-256 of what was sent with that of the recording;
* gaps and rejected frames, the largest record and detect lag seen in the status messages;
* RSS of the monitor over time: a PNG plot and the slope (MB/h) of a straight-line fit over
  the run after its first minute (warm-up: numba, ONNX Runtime, ring buffer pages);
* events, CPU use of each process (% of one core), event latency p50/p99/max over the whole
  run from the first event.

Usage::

    python bench/soak.py --minutes 30 --channels 1 [--out DIR] [--detector nn]
                         [--max-wall-minutes W]

``--max-wall-minutes`` bounds the run on a machine too slow for the stream: the monitor is
stopped (SIGINT, so it closes its file and writes its summary) after W minutes of wall time,
then daq-sim; the report then compares what was recorded with its own gaps only (frames still
queued when the monitor stopped are neither recorded nor lost) and says ``cut_at_wall_limit``.

Prints a JSON report and writes ``DIR/soak.json``, ``DIR/rss.png``, ``DIR/rss.csv`` (the RSS
samples) and ``DIR/run.h5``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from aemon.io.recording import RecordingReader

PAGE_KB = os.sysconf("SC_PAGE_SIZE") / 1024
TICKS = os.sysconf("SC_CLK_TCK")


def _free_endpoint() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{sock.getsockname()[1]}"


def _proc_sample(pid: int) -> tuple[float, float] | None:
    """``(RSS MB, CPU seconds)`` of ``pid`` from /proc, None once it has exited."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            rss_mb = int(f.read().split()[1]) * PAGE_KB / 1024
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu_s = (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError, ValueError):
        return None
    return rss_mb, cpu_s


class _Subscriber(threading.Thread):
    """Collects event latencies and the largest lags from the monitor's PUB socket."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(daemon=True)
        self.endpoint = endpoint
        self.latencies: list[float] = []
        self.events = 0
        self.max_record_lag_s = 0.0
        self.max_detect_lag_s = 0.0
        self.last_status: dict[str, Any] = {}
        self.odd_messages: list[list[bytes]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.setsockopt(zmq.RCVTIMEO, 200)
        sub.connect(self.endpoint)
        while not self.stop.is_set():
            try:
                parts = sub.recv_multipart()
            except zmq.Again:
                continue
            if len(parts) != 2:
                self.odd_messages.append([bytes(p[:16]) for p in parts])
                continue
            topic, payload = parts
            message = json.loads(payload)
            if topic == b"event":
                self.events += 1
                if message.get("latency_ms") is not None:
                    self.latencies.append(float(message["latency_ms"]))
            else:
                self.last_status = message
                self.max_record_lag_s = max(self.max_record_lag_s, message["record_lag_s"])
                self.max_detect_lag_s = max(self.max_detect_lag_s, message["detect_lag_s"])
        sub.close(linger=0)
        ctx.term()


def _aemon(*args: str) -> list[str]:
    return [sys.executable, "-m", "aemon.cli", *args]


def run_soak(
    minutes: float, channels: int, out: Path, detector: str, max_wall_s: float | None = None
) -> dict[str, Any]:
    """One soak run; returns the report."""
    seconds = minutes * 60
    daq_endpoint, pub_endpoint = _free_endpoint(), _free_endpoint()
    sent_json, monitor_json, h5 = out / "sent.json", out / "monitor.json", out / "run.h5"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    daq = subprocess.Popen(
        _aemon("daq-sim", "--endpoint", daq_endpoint, "--channels", str(channels),
               "--duration", str(seconds), "--summary", str(sent_json)),
        env=env, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    subscriber = _Subscriber(pub_endpoint)
    subscriber.start()
    monitor = subprocess.Popen(
        _aemon("monitor", daq_endpoint, "--duration", str(seconds), "--out", str(h5),
               "--overwrite", "--events-endpoint", pub_endpoint, "--summary", str(monitor_json),
               "--detector", detector, "-q"),
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    samples: list[tuple[float, float, float, float]] = []  # t, monitor RSS MB, CPU s, daq CPU s
    t0 = time.monotonic()
    cut = False
    while monitor.poll() is None:
        if max_wall_s is not None and not cut and time.monotonic() - t0 > max_wall_s:
            monitor.send_signal(signal.SIGINT)  # stops cleanly: file closed, summary written
            cut = True
        mon, dq = _proc_sample(monitor.pid), _proc_sample(daq.pid)
        if mon is not None and mon[0] > 0:  # 0: the process is exiting
            samples.append((time.monotonic() - t0, mon[0], mon[1], dq[1] if dq else np.nan))
        time.sleep(1.0)
    wall_s = time.monotonic() - t0
    _, monitor_err = monitor.communicate()
    if cut and daq.poll() is None:
        daq.send_signal(signal.SIGINT)
    daq.wait(timeout=60)
    time.sleep(0.5)
    subscriber.stop.set()
    subscriber.join(timeout=5)
    sent = json.loads(sent_json.read_text())
    mon_summary = json.loads(monitor_json.read_text()) if monitor_json.exists() else {}
    with RecordingReader(h5) as reader:
        info = reader.info
        sha_ok = None if cut else reader.channel_sha256() == sent["channel_sha256"]
    t, rss, cpu, daq_cpu = (np.array(col, dtype=float) for col in zip(*samples, strict=True))
    steady = t >= min(60.0, t[-1] / 2)
    slope_mb_h = (
        float(np.polyfit(t[steady], rss[steady], 1)[0] * 3600) if steady.sum() > 2 else np.nan
    )
    _plot_rss(t, rss, slope_mb_h, out / "rss.png", f"{channels} ch × 1.5625 MHz, {minutes:g} min")
    np.savetxt(out / "rss.csv", np.column_stack([t, rss]), delimiter=",", fmt="%.3f",
               header="t_s,monitor_rss_mb", comments="")  # fmt: skip
    lat = np.asarray(subscriber.latencies)
    pct = lambda q: float(np.percentile(lat, q)) if lat.size else None  # noqa: E731
    return {
        "minutes": minutes,
        "channels": channels,
        "detector": detector,
        "monitor_exit": monitor.returncode,
        "monitor_stderr_tail": monitor_err.strip().splitlines()[-3:],
        "samples_sent": sent["samples_per_channel"],
        "samples_received": mon_summary.get("samples"),
        "samples_recorded": info.samples,
        "samples_lost": (0 if cut else sent["samples_per_channel"] - info.samples)
        + info.samples_lost,
        "cut_at_wall_limit": cut,
        "sha256_match": sha_ok,
        "gaps": info.gaps,
        "rejected_frames": mon_summary.get("malformed"),
        "closed_cleanly": info.closed_cleanly,
        "max_record_lag_s": subscriber.max_record_lag_s,
        "max_detect_lag_s": subscriber.max_detect_lag_s,
        "daq_behind_real_time_s": sent["behind_real_time_s"],
        "events_published": subscriber.events,
        "odd_pub_messages": [repr(m) for m in subscriber.odd_messages[:3]],
        "events_recorded": info.events,
        "latency_ms_p50": pct(50),
        "latency_ms_p99": pct(99),
        "latency_ms_max": float(lat.max()) if lat.size else None,
        "rss_mb_start": float(rss[steady][0]) if steady.any() else None,
        "rss_mb_end": float(rss[-1]),
        "rss_mb_max": float(rss.max()),
        "rss_slope_mb_per_h": slope_mb_h,
        "monitor_cpu_pct": float(100 * (cpu[-1] - cpu[0]) / max(t[-1] - t[0], 1e-9)),
        "daq_sim_cpu_pct": float(100 * (daq_cpu[-1] - daq_cpu[0]) / max(t[-1] - t[0], 1e-9)),
        "wall_s": wall_s,
    }


def _plot_rss(t: np.ndarray, rss: np.ndarray, slope: float, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(t / 60, rss, lw=1)
    ax.set_xlabel("time (min)")
    ax.set_ylabel("monitor RSS (MB)")
    ax.set_title(f"{title}: slope {slope:+.2f} MB/h after warm-up")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--detector", default="nn", choices=["nn", "threshold", "cascade"])
    parser.add_argument("--out", type=Path, help="directory for soak.json, rss.png, run.h5")
    parser.add_argument(
        "--max-wall-minutes", type=float, help="stop the monitor after this much wall time"
    )
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="aemon-soak-"))
    out.mkdir(parents=True, exist_ok=True)
    wall_s = None if args.max_wall_minutes is None else args.max_wall_minutes * 60
    report = run_soak(args.minutes, args.channels, out, args.detector, wall_s)
    (out / "soak.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"files in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
