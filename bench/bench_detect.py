"""End-to-end speed of the streaming detector and of ``aemon detect``.

Part 1, the live path: simulator signal at the model's rate, as int16 counts, pushed in
``--block`` sample blocks (a ZeroMQ frame's worth) through :class:`ProbabilityMapStream`
(preprocessing + ONNX Runtime inference + stitching) for 1, 2 and 4 channels. Columns:

- ``x_rt_stream``: seconds of the C-channel stream per wall second (≥ 1 keeps up live);
- ``x_rt_per_ch``: channel-seconds per wall second (= C × x_rt_stream);
- ``infer_%`` / ``pre_%``: share of the wall time spent in ``OnnxDetector.infer`` and in
  the preprocessing (volts, high-pass, decimation, noise floor, Numba); the rest is windowing
  and stitching;
- ``latency_ms``: the longest a bin waits before it is reported (window + batch).

Part 2: ``aemon detect`` (:func:`aemon.detect.offline.detect_file`, neural detector, events with
features to CSV) on a ``--recording-seconds`` one-channel simulator recording (``aemon sim``),
or on ``--recording PATH``: in this process (no startup), then ``--cli-runs`` times as the
``aemon detect`` command (startup included: imports, Numba cache, model), with its wall time and
the CPU seconds it used (user + system, all threads). CPU seconds per signal second barely
change on a busy machine; wall time does.

The model: ``--model DIR``, else ``models/aemon-rt-1m5`` if it exists, else ``--config`` (default
``models/configs/aemon-rt.toml`` or ``aemon-rt-sketch.toml``) exported *untrained* (the speed
does not depend on the weights; the output says which one ran).

Usage:
    python bench/bench_detect.py
    python bench/bench_detect.py --model models/aemon-rt-1m5 --seconds 8
    python bench/bench_detect.py --skip-file --channels 1 2
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from aemon.detect.offline import detect_file
from aemon.detect.onnx_runtime import models_dir
from aemon.detect.probability_map import OnnxDetector, ProbabilityMapStream
from aemon.sim.simulator import AESimulator, SimConfig
from aemon.types import StreamFormat

REPO = Path(__file__).resolve().parent.parent
VOLTS_PER_COUNT = 1e-6  # 1 µV per count: 10 µV noise = 10 counts RMS


def pick_model(args: argparse.Namespace, scratch: Path) -> tuple[Path, str]:
    """Model directory and a note on where it came from."""
    if args.model:
        return Path(args.model), "given"
    shipped = models_dir() / "aemon-rt-1m5"
    if (shipped / "model_card.json").is_file():
        return shipped, "shipped"
    configs = [args.config] if args.config else []
    configs += [REPO / "models/configs/aemon-rt.toml", REPO / "models/configs/aemon-rt-sketch.toml"]
    config_path = next(Path(c) for c in configs if Path(c).is_file())
    import torch

    from aemon.detect.model_card import write_model_card
    from aemon.train.config import load_model_config
    from aemon.train.export import export_onnx
    from aemon.train.models import build_model
    from aemon.train.package import card_for

    config = load_model_config(config_path)
    torch.manual_seed(0)
    out = scratch / config.name
    out.mkdir(parents=True)
    export_onnx(build_model(config).eval(), config, out / "model.onnx")
    write_model_card(card_for(config, {}, {}, f"bench: untrained {config_path}"), out)
    return out, f"UNTRAINED export of {config_path.relative_to(REPO)}"


class TimedDetector:
    """Wraps ``OnnxDetector.infer`` to add up the time spent in it."""

    def __init__(self, det: OnnxDetector) -> None:
        self.det, self.seconds = det, 0.0
        self._infer = det.infer

        def timed(x: np.ndarray) -> np.ndarray:
            t = time.perf_counter()
            out = self._infer(x)
            self.seconds += time.perf_counter() - t
            return out

        det.infer = timed  # type: ignore[method-assign,assignment]


def bench_stream(det: OnnxDetector, counts: np.ndarray, args: argparse.Namespace) -> dict:
    """Time one run of the streaming detector over ``counts`` (channels, n) int16."""
    rate = det.card.sample_rate_hz
    fmt = StreamFormat(rate, counts.shape[0], "int16", VOLTS_PER_COUNT)
    warm = ProbabilityMapStream(det, fmt)
    warm.push(0, counts[:, : 2 * det.card.window])
    warm.flush()
    timer = TimedDetector(det)
    best: dict = {}
    for _ in range(args.repeats):
        sd = ProbabilityMapStream(det, fmt, batch_windows=args.batch_windows)
        timer.seconds = 0.0
        start = time.perf_counter()
        for i in range(0, counts.shape[1], args.block):
            sd.push(i, counts[:, i : i + args.block])
        sd.flush()
        wall = time.perf_counter() - start
        if not best or wall < best["wall"]:
            best = {"wall": wall, "infer": timer.seconds, "sd": sd}
    det.infer = timer._infer  # type: ignore[method-assign]
    pre = ProbabilityMapStream(det, fmt)._preprocessor
    start = time.perf_counter()
    for i in range(0, counts.shape[1], args.block):
        pre.process(counts[:, i : i + args.block])
    pre.finish()
    best["pre"] = time.perf_counter() - start
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model directory (default: see module docstring)")
    parser.add_argument("--config", help="config to export untrained when no model is shipped")
    parser.add_argument("--seconds", type=float, default=4.0, help="signal per run (s)")
    parser.add_argument("--channels", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--block", type=int, default=65536, help="samples per push")
    parser.add_argument("--batch-windows", type=int, default=None, help="default: live default")
    parser.add_argument("--threads", type=int, default=None, help="ORT threads (default: cores)")
    parser.add_argument("--provider", default="auto")
    parser.add_argument("--repeats", type=int, default=2, help="best of N runs")
    parser.add_argument("--recording", type=Path, help="recording for part 2 (default: simulate)")
    parser.add_argument("--recording-seconds", type=float, default=60.0)
    parser.add_argument("--skip-file", action="store_true", help="skip part 2")
    parser.add_argument("--cli-runs", type=int, default=3, help="aemon detect runs (best)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        model, note = pick_model(args, scratch)
        det = OnnxDetector(model, provider=args.provider, threads=args.threads)
        card = det.card
        rate = card.sample_rate_hz
        print(f"model {card.name} ({note}) on {det.provider}, {det.threads} threads")
        print(
            f"  {rate:g} Hz, window {card.window}, hop {card.hop}, margin {card.margin_bins} "
            f"bins of {card.bin_samples}; block {args.block} samples"
        )
        n = int(args.seconds * rate)
        volts = AESimulator(SimConfig(sample_rate_hz=rate, seed=1)).render(n).samples[0]
        one = np.clip(np.round(volts / VOLTS_PER_COUNT), -32768, 32767).astype(np.int16)
        print(
            f"{'channels':>8} {'x_rt_stream':>11} {'x_rt_per_ch':>11} {'infer_%':>7} "
            f"{'pre_%':>6} {'batch':>5} {'latency_ms':>10}"
        )
        for channels in args.channels:
            counts = np.ascontiguousarray(np.tile(one, (channels, 1)))
            r = bench_stream(det, counts, args)
            sd = r["sd"]
            x_rt = args.seconds / r["wall"]
            print(
                f"{channels:>8d} {x_rt:>11.2f} {x_rt * channels:>11.2f} "
                f"{100 * r['infer'] / r['wall']:>7.1f} {100 * r['pre'] / r['wall']:>6.1f} "
                f"{sd.batch_windows:>5d} {sd.latency_samples / rate * 1e3:>10.1f}"
            )
        if args.skip_file:
            return
        recording = args.recording
        if recording is None:
            from aemon.cli import main as aemon_main

            recording = scratch / "bench60.h5"
            t = time.perf_counter()
            aemon_main(
                ["sim", "--duration", str(args.recording_seconds), "--rate", str(rate),
                 "--out", str(recording)]
            )  # fmt: skip
            print(f"  (simulated in {time.perf_counter() - t:.1f} s)")
        summary = detect_file(
            recording,
            scratch / "events.csv",
            model=model,
            provider=args.provider,
            threads=args.threads,
            progress=False,
        )
        print(f"aemon detect {recording.name} in-process: {summary.line()}")
        bench_cli(recording, summary.seconds * summary.channels, model, scratch, args)


def bench_cli(
    recording: Path, channel_seconds: float, model: Path, scratch: Path, args: argparse.Namespace
) -> None:
    """Time ``aemon detect`` as a command, startup included; print the best of the runs."""
    command = [sys.executable, "-m", "aemon.cli", "detect", str(recording), "--model", str(model)]
    command += ["-o", str(scratch / "cli.csv"), "--overwrite", "--no-progress"]
    command += ["--provider", args.provider]
    if args.threads:
        command += ["--threads", str(args.threads)]
    runs = []
    for _ in range(args.cli_runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        runs.append((wall, cpu))
    wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
    print(
        f"aemon detect {recording.name} (command, startup included, best of {len(runs)}): "
        f"{wall:.2f} s wall = {channel_seconds / wall:.2f}× real time per channel; "
        f"{cpu:.2f} CPU s = {channel_seconds / cpu:.2f} signal s per CPU s; "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
