"""Live channels per GPU: N channels at 1.5625 MHz through the torch backend and the live
event stream, paced in real time, for a ladder of N.

An in-process source replays pre-rendered simulator signal (int16 counts, ``--block-ms``
blocks, each handed over when its last sample would have arrived from the DAQ) into a bounded
queue of ``--ring-seconds`` (the monitor's ring). The detector thread runs exactly what
``aemon monitor`` runs (:func:`aemon.detect.factory.make_hit_stream` with ``live=True``:
preprocessing, windows of all channels batched, one upload per batch, stitching, events with
features). A full queue drops the block: that is a gap, as a DAQ overflow would be.

Per model, precision and N it reports:

- ``x_rt``: signal seconds per second the detector thread was busy (≥ 1 keeps up);
- ``infer_%``: share of that busy time inside the model (upload, network, download);
- ``gaps``: blocks dropped because the detector fell more than the ring behind;
- ``p50_ms``/``p99_ms``: event latency, wall time of the report minus the source time of the
  event's last sample (the monitor's definition);
- ``gpu_MiB``: peak GPU memory allocated by torch.

``N_max`` per model and precision: the largest N with 0 gaps, p99 ≤ ``--p99-ms`` and
``x_rt`` ≥ 1. The ladder stops at the first N that fails.

Usage:
    python bench/bench_gpu_live.py --models aemon-rt-1m5,DIR --precisions fp32,bf16
    python bench/bench_gpu_live.py --smoke          # CPU, 1–2 channels, tiny durations
"""

from __future__ import annotations

import argparse
import json
import math
import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from aemon.detect.factory import make_hit_stream
from aemon.detect.options import DetectOptions
from aemon.gpu.torch_runtime import TorchDetector
from aemon.sim.simulator import AESimulator, SimConfig
from aemon.types import ChannelInfo, Gap, StreamFormat

RATE = 1_562_500.0
VOLTS_PER_COUNT = 1e-6
"""1 µV per count: the simulator's 10 µV noise is 10 counts, a 55 dB burst ~5600 counts."""


class TimedDetector:
    """The detector with the time spent in ``infer`` added up."""

    def __init__(self, inner: TorchDetector) -> None:
        self.inner = inner
        self.card, self.backend = inner.card, inner.backend
        self.provider, self.threads = inner.provider, inner.threads
        self.seconds = 0.0
        self.windows = 0
        self.calls = 0

    def infer(self, windows: np.ndarray) -> np.ndarray:
        t = time.perf_counter()
        out = self.inner.infer(windows)
        self.seconds += time.perf_counter() - t
        self.windows += len(windows)
        self.calls += 1
        return out


def render_base(seconds: float, distinct: int, burst_rate: float, seed: int) -> np.ndarray:
    """``(distinct, n)`` int16 counts of simulator signal at 1.5625 MHz."""
    config = SimConfig(sample_rate_hz=RATE, channels=distinct, burst_rate_hz=burst_rate, seed=seed)
    volts = AESimulator(config).render(int(seconds * RATE)).samples
    return np.clip(np.round(volts / VOLTS_PER_COUNT), -32768, 32767).astype(np.int16)


def channel_blocks(base: np.ndarray, channels: int, block: int) -> np.ndarray:
    """``(n_blocks, channels, block)`` C-contiguous blocks: channel ``c`` is base row
    ``c % distinct``, shifted in time by a different amount for each copy."""
    distinct, n = base.shape
    n -= n % block
    rows = []
    for c in range(channels):
        shift = (c // distinct) * (n // max(1, math.ceil(channels / distinct))) // block * block
        rows.append(np.roll(base[c % distinct, :n], shift))
    period = np.stack(rows)  # (channels, n)
    return np.ascontiguousarray(period.reshape(channels, n // block, block).transpose(1, 0, 2))


def _feed(
    blocks: np.ndarray, total: int, block_s: float, t0: float, q: queue.Queue, drops: list[int]
) -> None:
    """The DAQ: block ``k`` is handed over at ``t0 + (k + 1) * block_s``; full queue → drop."""
    b = blocks.shape[2]
    for k in range(total):
        delay = t0 + (k + 1) * block_s - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        try:
            q.put_nowait((k * b, blocks[k % len(blocks)]))
        except queue.Full:
            drops.append(k)
    q.put(None)


def run_live(
    detector: TorchDetector, blocks: np.ndarray, args: argparse.Namespace
) -> dict[str, Any]:
    """One paced live run of ``args.seconds`` on ``blocks``; returns the figures."""
    channels, b = blocks.shape[1], blocks.shape[2]
    fmt = StreamFormat(RATE, channels, "int16", VOLTS_PER_COUNT)
    info = [ChannelInfo(f"ch{c + 1}") for c in range(channels)]
    options = DetectOptions(backend="torch", provider=detector.provider)
    timed = TimedDetector(detector)
    # warm-up on a throwaway stream: numba JIT, cuDNN autotuning, CUDA graph capture
    warm = make_hit_stream(options, fmt, info, onnx=detector, live=True)
    for k in range(max(1, round(args.warmup_s * RATE / b))):
        warm.push(k * b, blocks[k % len(blocks)])
    warm.flush()
    cuda = detector.device.type == "cuda"
    if cuda:
        import torch

        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    stream = make_hit_stream(options, fmt, info, onnx=timed, live=True)
    block_s = b / RATE
    total = max(1, round(args.seconds / block_s))
    q: queue.Queue = queue.Queue(maxsize=max(1, round(args.ring_seconds / block_s)))
    drops: list[int] = []
    t0 = time.perf_counter()
    feeder = threading.Thread(target=_feed, args=(blocks, total, block_s, t0, q, drops))
    feeder.start()
    latencies: list[float] = []
    busy, expected, events, max_lag = 0.0, 0, 0, 0.0
    while (item := q.get()) is not None:
        first, block = item
        if first > expected:
            stream.gap(Gap(expected, first, "overflow"))
        t = time.perf_counter()
        found = stream.push(first, block)
        now = time.perf_counter()
        busy += now - t
        max_lag = max(max_lag, now - (t0 + (first + b) / RATE))
        for e in found:
            end = e.sample_index + round(max(e.duration_us, 0.0) * 1e-6 * RATE)
            latencies.append((now - (t0 + end / RATE)) * 1e3)
        events += len(found)
        expected = first + b
    feeder.join()
    infer_s = timed.seconds
    events += len(stream.flush())  # end of stream: not part of the steady state timed
    signal_s = total * block_s
    lat = np.asarray(latencies) if latencies else np.asarray([math.nan])
    row: dict[str, Any] = {
        "channels": channels,
        "signal_s": round(signal_s, 3),
        "x_rt": round(signal_s / max(busy, 1e-9), 3),
        "infer_pct": round(100 * infer_s / max(busy, 1e-9), 1),
        "gaps": len(drops),
        "events": events,
        "events_per_s": round(events / signal_s, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 2),
        "p99_ms": round(float(np.percentile(lat, 99)), 2),
        "max_lag_ms": round(max_lag * 1e3, 2),
        "windows_per_batch": round(timed.windows / max(1, timed.calls), 1),
    }
    if cuda:
        import torch

        row["gpu_MiB"] = round(torch.cuda.max_memory_allocated() / 2**20)
        row["gpu_reserved_MiB"] = round(torch.cuda.max_memory_reserved() / 2**20)
    return row


def passes(row: dict[str, Any], p99_ms: float) -> bool:
    """0 gaps, p99 within bound (or no events to time), keeps up."""
    p99 = row["p99_ms"]
    return row["gaps"] == 0 and row["x_rt"] >= 1.0 and (p99 != p99 or p99 <= p99_ms)


def ladder(args: argparse.Namespace, base: np.ndarray, deadline: float) -> list[dict[str, Any]]:
    """Every model × precision × N (ascending, stopping at the first failure); the rows are
    written to ``args.json`` after each run, so a killed run keeps what it measured."""
    rows: list[dict[str, Any]] = []
    b = round(args.block_ms * 1e-3 * RATE)
    for model in args.models:
        for precision in args.precisions:
            for n in args.channels:
                if time.perf_counter() > deadline:
                    print(f"time budget spent; skipping {model} {precision} N={n}", flush=True)
                    break
                try:
                    det = TorchDetector(
                        model,
                        provider=args.provider,
                        precision=precision,
                        cuda_graphs=args.cuda_graphs,
                    )
                    row = run_live(det, channel_blocks(base, n, b), args)
                except Exception as exc:  # an OOM or a bad model must not end the ladder
                    print(f"{model} {precision} N={n}: {type(exc).__name__}: {exc}", flush=True)
                    row = {"channels": n, "error": f"{type(exc).__name__}: {exc}"[:300]}
                row = {"model": det_name(model), "precision": precision, **row}
                row["ok"] = "error" not in row and passes(row, args.p99_ms)
                rows.append(row)
                print(json.dumps(row), flush=True)
                save(args, rows)
                if not row["ok"] and not args.full_ladder:
                    break
                _free()
    return rows


def save(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    if args.json:
        meta = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        args.json.write_text(json.dumps({"args": meta, "rows": rows}, indent=2) + "\n")


def det_name(model: str) -> str:
    return Path(model).name


def _free() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def table(rows: list[dict[str, Any]], p99_ms: float) -> str:
    cols = ["model", "precision", "channels", "x_rt", "infer_pct", "gaps", "events_per_s",
            "p50_ms", "p99_ms", "max_lag_ms", "gpu_MiB", "ok"]  # fmt: skip
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(c, r.get("error", ""))) for c in cols) + " |")
    best: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (r["model"], r["precision"])
        best.setdefault(key, 0)
        if r.get("ok"):
            best[key] = max(best[key], r["channels"])
    lines += ["", f"Largest N with 0 gaps and p99 ≤ {p99_ms:g} ms:", ""]
    lines += [f"- {m} {p}: **{n}** channels" for (m, p), n in best.items()]
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="aemon-rt-1m5", help="comma list of model dirs/names")
    p.add_argument("--precisions", default="fp32,bf16")
    p.add_argument("--channels", default="8,16,32,48,64", help="comma list (the ladder)")
    p.add_argument("--seconds", type=float, default=4.0, help="signal per run (s)")
    p.add_argument("--warmup-s", type=float, default=0.3, help="throwaway signal first (s)")
    p.add_argument("--render-seconds", type=float, default=1.0, help="distinct signal (s)")
    p.add_argument("--distinct", type=int, default=4, help="distinct simulated channels")
    p.add_argument("--burst-rate", type=float, default=5.0, help="bursts/s per channel")
    p.add_argument("--block-ms", type=float, default=10.0, help="source block (ms)")
    p.add_argument("--ring-seconds", type=float, default=4.0, help="queue capacity (s)")
    p.add_argument("--p99-ms", type=float, default=100.0)
    p.add_argument("--provider", default="cuda", help="cuda, cpu or auto")
    p.add_argument("--cuda-graphs", action="store_true")
    p.add_argument("--full-ladder", action="store_true", help="go on after a failing N")
    p.add_argument("--budget-s", type=float, default=1e9, help="stop starting runs after (s)")
    p.add_argument("--json", type=Path, help="write the rows here")
    p.add_argument("--markdown", type=Path, help="write the table here")
    p.add_argument("--smoke", action="store_true", help="CPU, 1-2 channels, tiny durations")
    args = p.parse_args(argv)
    if args.smoke:
        args.provider, args.channels, args.precisions = "cpu", "1,2", "fp32"
        args.seconds, args.warmup_s, args.render_seconds = 0.1, 0.05, 0.1
        args.distinct, args.full_ladder = 1, True
    args.models = [m for m in args.models.split(",") if m]
    args.precisions = [x for x in args.precisions.split(",") if x]
    args.channels = [int(x) for x in args.channels.split(",") if x]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    start = time.perf_counter()
    base = render_base(args.render_seconds, args.distinct, args.burst_rate, seed=5)
    print(f"rendered {base.shape} in {time.perf_counter() - start:.1f} s", flush=True)
    rows = ladder(args, base, start + args.budget_s)
    text = table(rows, args.p99_ms)
    print(text, flush=True)
    save(args, rows)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
