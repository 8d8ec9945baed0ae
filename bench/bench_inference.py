"""Inference speed of every detector architecture: × real time per channel at its sample rate.

At 1.5625 MHz that is × real time at the DAQ rate; the 192 kHz soundcard model is timed at its
own rate (multiply by rate / 1.5625 MHz to compare the work per sample).

For each model config (default: every ``models/configs/*.toml``) the script builds the network
(random weights; speed does not depend on them), exports it to ONNX and times batches of
``--batch`` windows in PyTorch (CPU) and ONNX Runtime (CPU), and in both on CUDA when a GPU is
present. "× real time" is seconds of one-channel signal processed per wall-clock second, so
2.0 means one core pair keeps up with two channels. Slow models get at least ``--min-runs``
timed runs after a warm-up; fast ones repeat for ``--seconds``. The best of ``--repeats``
timings is reported (the machine is shared; the best is the least disturbed).

Columns: ``torch`` and ``ort`` are wall-clock on ``--threads`` threads; ``ort_1core_cpu``
(``--cpu-time``) is ONNX Runtime on one thread measured in CPU time, which a busy shared machine
disturbs much less than wall-clock time.

Usage:
    python bench/bench_inference.py                       # all configs, 2 threads
    python bench/bench_inference.py models/configs/aemon-rt.toml --seconds 5
    python bench/bench_inference.py --threads 1 --skip-torch
"""

from __future__ import annotations

import argparse
import glob
import time
from collections.abc import Callable

import numpy as np
import onnxruntime as ort
import torch

from aemon.train.config import ModelConfig, load_model_config
from aemon.train.export import export_onnx
from aemon.train.models import build_model, count_parameters, macs_per_sample


def time_runs(
    fn: Callable[[], object],
    seconds: float,
    min_runs: int,
    repeats: int,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Best seconds per call (by ``clock``) over ``repeats`` rounds, after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        runs, start, wall = 0, clock(), time.perf_counter()
        while runs < min_runs or time.perf_counter() - wall < seconds:
            fn()
            runs += 1
        best = min(best, (clock() - start) / runs)
    return best


def bench_config(config: ModelConfig, args: argparse.Namespace) -> dict[str, float | str]:
    """Time one architecture; returns a table row."""
    net = build_model(config).eval()
    x = (
        np.random.default_rng(0)
        .standard_normal((args.batch, config.signal.channels, config.signal.window))
        .astype(np.float32)
    )
    signal_s = args.batch * config.signal.window / config.signal.sample_rate_hz
    row: dict[str, float | str] = {
        "model": config.name,
        "params": count_parameters(net),
        "kmac": macs_per_sample(net, config) / 1e3,
        "rate_khz": config.signal.sample_rate_hz / 1e3,
    }
    if not args.skip_torch:
        xt = torch.from_numpy(x)
        with torch.inference_mode():
            per_call = time_runs(lambda: net(xt), args.seconds, args.min_runs, args.repeats)
        row["torch"] = signal_s / per_call
    onnx_bytes = export_onnx(net, config)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    per_call = time_runs(
        lambda: session.run(None, {"signal": x}), args.seconds, args.min_runs, args.repeats
    )
    row["ort"] = signal_s / per_call
    if args.cpu_time:
        # one intra-op thread runs on the calling thread, so its CPU time is the work done,
        # whatever else the (shared) machine is running
        options.intra_op_num_threads = 1
        single = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
        row["ort_1core_cpu"] = signal_s / time_runs(
            lambda: single.run(None, {"signal": x}),
            args.seconds,
            args.min_runs,
            args.repeats,
            clock=time.thread_time,
        )
    if torch.cuda.is_available():
        gnet = net.cuda()
        xg = torch.from_numpy(x).cuda()

        def run_cuda() -> None:
            with torch.inference_mode():
                gnet(xg)
            torch.cuda.synchronize()

        row["torch_cuda"] = signal_s / time_runs(
            run_cuda, args.seconds, args.min_runs, args.repeats
        )
        if "CUDAExecutionProvider" in ort.get_available_providers():
            cuda_sess = ort.InferenceSession(onnx_bytes, providers=["CUDAExecutionProvider"])
            row["ort_cuda"] = signal_s / time_runs(
                lambda: cuda_sess.run(None, {"signal": x}),
                args.seconds,
                args.min_runs,
                args.repeats,
            )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", nargs="*", help="model configs (default models/configs/*.toml)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch and ORT")
    parser.add_argument("--batch", type=int, default=4, help="windows per call (default 4)")
    parser.add_argument("--seconds", type=float, default=2.0, help="timing time per round")
    parser.add_argument("--min-runs", type=int, default=1, help="minimum calls per round")
    parser.add_argument("--repeats", type=int, default=2, help="rounds; the best is reported")
    parser.add_argument("--skip-torch", action="store_true", help="time ONNX Runtime only")
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="also time ORT on one thread by CPU time (robust on a busy machine)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    paths = args.configs or sorted(glob.glob("models/configs/*.toml"))
    rows = []
    for path in paths:
        config = load_model_config(path)
        rows.append(bench_config(config, args))
        r = rows[-1]
        print(
            f"  {r['model']}: "
            + ", ".join(f"{k} {v:.3g}" for k, v in r.items() if isinstance(v, float)),
            flush=True,
        )
    names = ("torch", "ort", "ort_1core_cpu", "torch_cuda", "ort_cuda")
    cols = [c for c in names if any(c in r for r in rows)]
    print(
        f"\n× real time per channel at each model's own rate (batch {args.batch} windows, "
        f"{args.threads} CPU threads; "
        f"{torch.get_num_threads()} torch threads; onnxruntime {ort.__version__})"
    )
    header = f"{'model':26s} {'rate kHz':>9s} {'params':>9s} {'kMAC/sample':>12s} " + " ".join(
        f"{c:>11s}" for c in cols
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        cells = " ".join(f"{r[c]:11.3f}" if c in r else f"{'-':>11s}" for c in cols)
        print(
            f"{r['model']:26s} {float(r['rate_khz']):9.1f} {int(r['params']):9d} "
            f"{float(r['kmac']):12.1f} {cells}"
        )


if __name__ == "__main__":
    main()
