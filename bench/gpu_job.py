"""The one GPU job: train the thesis models briefly on the GPU, check that the trained model
directories work with ``aemon detect --backend torch``, and measure live channels per GPU.

Run by ``bench/gpu_job.sh`` (which installs the carried wheels first). Steps, all inside a
wall-clock budget (default 9 minutes):

1. environment: imports the job needs, torch/CUDA/GPU; a missing import is printed and ends
   the job (exit 3) before anything slow starts;
2. training: ``aemon train CONFIG --device cuda`` for every ``--models`` config at once (one
   process each, with ``--workers`` batch-synthesis processes: the simulator is CPU-bound,
   the GPU has room for all), the data design of the retrained detectors (``--data sim
   --data randomised``, the configs' training settings and augmentation, ``--batch-size
   16``), ending by ``--max-minutes`` so that training is over at ``--train-deadline-s``. A
   run still training then is stopped and packaged from its last finished epoch
   (``--resume --epochs K``). Each model directory goes to ``$OUT/NAME.tar`` (its training
   log inside, no checkpoint);
3. ``aemon detect --model DIR`` for the trained middle model with torch fp32, torch bf16
   and ONNX Runtime on a simulator WAV: events of each, fp32 against ONNX Runtime, bf16
   against fp32 within the 100 µs match window;
4. parity: the torch backend (fp32, bf16, fp32 + CUDA graphs) against ONNX Runtime on the
   same windows, for the trained middle model and the shipped CPU model;
5. ``bench/bench_gpu_live.py`` for the trained middle model and the shipped CPU model, bf16
   and fp32, N = 8, 16, 32, 48, 64 channels.

Everything lands in ``$OUT``: ``NAME.tar`` per model, ``results.json``, ``summary.md`` (and
``gpu_job.log`` from the shell script): at most 8 files.

``--smoke`` runs the same steps on the CPU in about two minutes: a tiny InceptionTime config,
2 steps, 1–2 channels, tenths of a second of signal.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NEEDED = ["numpy", "scipy", "numba", "onnxruntime", "onnx", "h5py", "matplotlib", "tqdm",
          "torch", "vallenae", "openae", "soundfile"]  # fmt: skip
"""Imports on the training, detect (HDF5 input) and live-benchmark paths."""
MIDDLE = "inceptiontime-middle"
CPU_MODEL = "aemon-rt-1m5"
MAX_TAR_BYTES = 16 * 2**20
STEPS = 60

SMOKE_CONFIG = """\
name = "inceptiontime-middle"
architecture = "inceptiontime"
description = "Smoke-test stand-in for the thesis middle model (tiny, CPU)."

[signal]
sample_rate_hz = 1562500.0
window = 4096
channels = 1
classes = ["low", "high"]

[normalization]
method = "noise_floor"
compress = "asinh"
time_constant_s = 0.05

[[blocks]]
kernels = [7, 15]
filters = 4
bottleneck = 4
modules = 1
pool = 4
activation = "mish"

[[blocks]]
kernels = [5, 9]
filters = 4
bottleneck = 4
modules = 1
pool = 4
activation = "mish"

[training]
window = 4096
batch_size = 2
epochs = 3
steps_per_epoch = 2
val_windows = 4
"""


def cpus() -> int:
    """CPUs this process may run on (a container's share, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 2


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def check_environment() -> dict[str, Any]:
    """Versions of the needed imports (``None`` = missing), torch's view of the GPU."""
    env: dict[str, Any] = {"python": sys.version.split()[0], "cpus": cpus()}
    versions: dict[str, str | None] = {}
    for name in NEEDED:
        try:
            module = importlib.import_module(name)
            versions[name] = str(getattr(module, "__version__", "?"))
        except Exception as exc:  # ImportError, or OSError from a missing shared library
            versions[name] = None
            log(f"MISSING {name}: {type(exc).__name__}: {exc}")
    env["versions"] = versions
    env["missing"] = [k for k, v in versions.items() if v is None]
    if versions.get("torch"):
        import torch

        env["cuda"] = torch.cuda.is_available()
        env["torch_cuda"] = torch.version.cuda
        if env["cuda"]:
            env["gpu"] = torch.cuda.get_device_name(0)
            env["gpu_memory_GiB"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30)
    return env


def _aemon(*args: str) -> list[str]:
    return [sys.executable, "-m", "aemon.cli", *args]


def _child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONUNBUFFERED="1",
        OMP_NUM_THREADS=str(threads),
        NUMBA_NUM_THREADS=str(threads),
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    return env


def _epochs_done(log_path: Path) -> int:
    """Epochs finished, from the trainer's INFO lines (``aemon -v train``)."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    done = re.findall(r"epoch (\d+)/\d+: loss", text)
    return int(done[-1]) if done else 0


def _packaging(log_path: Path) -> bool:
    """True once training ended and the run exports and evaluates (ONNX export logged)."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return "ONNX parity" in text or "time limit" in text


def train_all(args: argparse.Namespace, work: Path, start: float) -> dict[str, dict[str, Any]]:
    """Train every model at once; stop at the deadline and package what is there."""
    runs: dict[str, dict[str, Any]] = {}
    threads = max(1, cpus() // max(1, len(args.models)))
    workers = max(1, threads - 1)  # batch synthesis processes per run (the CPU-bound part)
    for name in args.models:
        config = args.smoke_config if args.smoke else name
        out = work / name
        argv = ["train", str(config), "--out", str(out), "--device", args.device, "--seed", "0",
                "--threads", str(threads), "--no-progress"]  # fmt: skip
        for data in args.data:
            argv += ["--data", data]
        if not args.smoke:
            # the trainer ends after the epoch that passes --max-minutes; short epochs keep
            # that overshoot small, and the deadline below is the backstop
            minutes = max(0.5, (args.train_deadline_s - (time.perf_counter() - start)) / 60 - 0.5)
            argv += ["--epochs", str(args.epochs), "--steps", str(args.steps),
                     "--batch-size", str(args.batch_size), "--workers", str(workers),
                     "--max-minutes", f"{minutes:.2f}",
                     "--eval-bursts", str(args.eval_bursts)]  # fmt: skip
        elif args.steps != STEPS:  # a longer smoke run, to see the deadline path
            argv += ["--steps", str(args.steps)]
        log_path = work / f"{name}.train.log"
        log(f"train {name}: aemon {' '.join(argv)}")
        proc = subprocess.Popen(
            _aemon("-v", *argv), stdout=log_path.open("w"), stderr=subprocess.STDOUT,
            env=_child_env(threads), cwd=ROOT,
        )  # fmt: skip
        runs[name] = {"argv": argv, "proc": proc, "log": log_path, "out": out, "config": config}
    train_deadline = start + args.train_deadline_s
    final_deadline = start + args.finalize_deadline_s
    while any(r["proc"].poll() is None for r in runs.values()):
        now = time.perf_counter()
        for name, r in runs.items():
            if r["proc"].poll() is not None:
                continue
            done = _epochs_done(r["log"])
            training = done < args.epochs and not _packaging(r["log"])

            if (training and now > train_deadline) or now > final_deadline:
                log(f"train {name}: deadline reached after {done} epochs; stopping it")
                r["proc"].send_signal(signal.SIGTERM)
                try:
                    r["proc"].wait(timeout=20)
                except subprocess.TimeoutExpired:
                    r["proc"].kill()
                    r["proc"].wait()
                r["stopped"] = now <= final_deadline
        time.sleep(1.0)
    for name, r in runs.items():
        if r.get("stopped"):
            _package_stopped(name, r, threads, final_deadline)
    results = {}
    for name, r in runs.items():
        results[name] = _collect(name, r, args.out)
    return results


def _package_stopped(name: str, run: dict[str, Any], threads: int, deadline: float) -> None:
    """Package a stopped run from its last finished epoch (``--resume --epochs K``)."""
    done = _epochs_done(run["log"])
    if done == 0:
        log(f"train {name}: no finished epoch; nothing to package")
        return
    argv = list(run["argv"])
    for flag in ("--epochs", "--max-minutes"):  # drop them with their values
        if flag in argv:
            k = argv.index(flag)
            del argv[k : k + 2]
    argv += ["--resume", "--epochs", str(done)]
    log(f"package {name} after {done} epochs: aemon {' '.join(argv)}")
    with run["log"].open("a") as fh:
        try:
            subprocess.run(
                _aemon("-v", *argv), stdout=fh, stderr=subprocess.STDOUT, env=_child_env(threads),
                cwd=ROOT, timeout=max(10.0, deadline - time.perf_counter()),
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            log(f"package {name}: timed out")


def _collect(name: str, run: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Card figures of a trained model, and its directory as ``$OUT/NAME.tar``."""
    out: Path = run["out"]
    card_path = out / "model_card.json"
    result: dict[str, Any] = {"returncode": run["proc"].returncode, "dir": str(out)}
    tail = run["log"].read_text(errors="replace").splitlines()[-6:]
    if not card_path.exists():
        result["error"] = "no model_card.json; log tail: " + " | ".join(tail)
        log(f"train {name}: FAILED: {result['error']}")
        return result
    card = json.loads(card_path.read_text())
    metrics = card.get("metrics", {})
    for section in ("heldout_windows", "heldout_stream"):
        rep = metrics.get(section)
        if isinstance(rep, dict) and "map" in rep:
            result[section] = {
                "map_f1": rep["map"]["f1"], "roc_auc": rep["map"]["roc_auc"],
                "event_f1": rep["events"]["f1"],
                "median_onset_error_us": rep["events"]["median_onset_error_us"],
            }  # fmt: skip
    result["training"] = {
        k: card.get("training", {}).get(k)
        for k in ("epochs_run", "best_epoch", "steps_per_epoch", "batch_size",
                  "training_seconds", "parameters", "macs_per_sample", "onnx_parity_max_abs_diff")
    }  # fmt: skip
    result["speed"] = card.get("speed", {})
    shutil.copy(run["log"], out / "train.log")
    tar_path = out_dir / f"{name}.tar"
    with tarfile.open(tar_path, "w") as tar:
        for path in sorted(out.iterdir()):
            if path.is_file() and path.name != "checkpoint.pt":
                tar.add(path, arcname=f"{name}/{path.name}")
    result["tar_bytes"] = tar_path.stat().st_size
    if result["tar_bytes"] > MAX_TAR_BYTES:
        log(f"WARNING {tar_path} is {result['tar_bytes'] / 2**20:.1f} MiB (> 16 MiB: lost)")
    log(f"train {name}: {json.dumps(result)}")
    return result


def write_test_wav(path: Path, seconds: float, channels: int) -> None:
    """A simulator stream at 1.5625 MHz as a float32 WAV in volts (the GPU machine has no
    hdf5plugin, so it cannot read the Blosc-compressed HDF5 recordings)."""
    import soundfile as sf

    from aemon.sim.simulator import AESimulator, SimConfig

    config = SimConfig(channels=channels, burst_rate_hz=20.0, seed=42)
    block = AESimulator(config).render(int(seconds * config.sample_rate_hz))
    sf.write(path, block.samples.T, int(config.sample_rate_hz), subtype="FLOAT")


def _matched(a: list[list[str]], b: list[list[str]], window_samples: int) -> int:
    """Events of ``a`` with an event of ``b`` on the same channel within the window."""
    keys = [(int(r[3]), int(r[2])) for r in b]
    return sum(
        any(ch == int(r[3]) and abs(i - int(r[2])) <= window_samples for ch, i in keys) for r in a
    )


def detect_check(model_dir: Path, work: Path, provider: str, seconds: float) -> dict[str, Any]:
    """``aemon detect --model DIR`` with torch fp32, torch bf16 and ONNX Runtime on a WAV."""
    wav = work / "sim-1m5.wav"
    write_test_wav(wav, seconds, channels=2)
    result: dict[str, Any] = {"input": f"{seconds:g} s × 2 ch simulator WAV, 20 bursts/s/ch"}
    rows: dict[str, list[list[str]]] = {}
    runs = {"torch-fp32": ("torch", "fp32"), "torch-bf16": ("torch", "bf16"),
            "onnxruntime": ("onnxruntime", "fp32")}  # fmt: skip
    for label, (backend, precision) in runs.items():
        if precision == "bf16" and provider != "cuda":
            continue
        csv = work / f"detect-{label}.csv"
        argv = ["detect", str(wav), "-o", str(csv), "--model", str(model_dir),
                "--backend", backend, "--provider", provider if backend == "torch" else "cpu",
                "--no-progress"]  # fmt: skip
        env = _child_env(cpus()) | {"AEMON_TORCH_PRECISION": precision}
        proc = subprocess.run(
            _aemon(*argv), capture_output=True, text=True, env=env, cwd=ROOT, timeout=180
        )
        line = (proc.stdout.strip() or proc.stderr.strip()).splitlines()[-1:] or [""]
        result[label] = {"returncode": proc.returncode, "line": line[0]}
        text = csv.read_text() if csv.exists() else ""
        rows[label] = [r.split(",") for r in text.splitlines()[1:]]
        log(f"detect {label}: rc {proc.returncode}: {line[0]}")
    result["events"] = {k: len(v) for k, v in rows.items()}
    window = round(100e-6 * 1_562_500)  # the scoring match window, 100 µs
    for a, b in (("torch-fp32", "onnxruntime"), ("torch-bf16", "torch-fp32")):
        if a in rows and b in rows:
            result[f"{a}_identical_to_{b}"] = rows[a] == rows[b]
            result[f"{a}_matched_in_{b}_within_100us"] = _matched(rows[a], rows[b], window)
            result[f"{b}_matched_in_{a}_within_100us"] = _matched(rows[b], rows[a], window)
    return result


def parity(models: list[str], provider: str) -> dict[str, Any]:
    """Max |probability difference| of the torch backend (fp32, bf16, fp32 + CUDA graphs)
    against ONNX Runtime on the CPU, on the same windows (noise with burst-like packets)."""
    import numpy as np

    from aemon.detect.onnx_runtime import OnnxDetector
    from aemon.gpu.torch_runtime import TorchDetector

    result: dict[str, Any] = {}
    for model in models:
        ref_det = OnnxDetector(model, provider="cpu")
        rng = np.random.default_rng(0)
        x = rng.standard_normal((8, 1, ref_det.card.window)).astype(np.float32)
        t = np.arange(ref_det.card.window // 8)
        for i in range(len(x)):
            start = rng.integers(0, ref_det.card.window - t.size)
            x[i, 0, start : start + t.size] += 30 * np.exp(-t / (t.size / 5)) * np.sin(0.7 * t)
        ref = ref_det.infer(x)
        rows = {}
        variants = [("fp32", False), ("bf16", False), ("fp32", True)]
        for precision, graphs in variants if provider == "cuda" else variants[:1]:
            try:
                det = TorchDetector(
                    model, provider=provider, precision=precision, cuda_graphs=graphs
                )
                diff = max(float(np.abs(det.infer(x) - ref).max()) for _ in range(2))
                rows[precision + ("+graphs" if graphs else "")] = float(f"{diff:.3g}")
            except Exception as exc:  # report, do not stop the job
                rows[precision + ("+graphs" if graphs else "")] = f"{type(exc).__name__}: {exc}"
        result[Path(model).name] = rows
        log(f"parity {Path(model).name} vs ONNX Runtime: {rows}")
    return result


def bench_live(args: argparse.Namespace, models: list[str], work: Path, budget: float) -> Any:
    """Run the live ladder in its own process (a clean GPU); returns its rows."""
    json_path = work / "live.json"
    argv = [sys.executable, str(ROOT / "bench" / "bench_gpu_live.py"), "--models",
            ",".join(models), "--json", str(json_path),
            "--budget-s", f"{max(budget - 40, 5):.0f}"]  # fmt: skip
    argv += (
        ["--smoke"]
        if args.smoke
        else ["--precisions", "bf16,fp32", "--provider", "cuda", "--seconds", "3"]
    )
    log(f"live bench: {' '.join(argv[1:])}")
    try:
        subprocess.run(argv, env=_child_env(cpus()), cwd=ROOT, timeout=budget)
    except subprocess.TimeoutExpired:
        log("live bench: timed out")
    return json.loads(json_path.read_text())["rows"] if json_path.exists() else []


def summary(results: dict[str, Any], p99_ms: float = 100.0) -> str:
    env = results["environment"]
    lines = ["# GPU job", "", f"- GPU: {env.get('gpu', 'none')}, torch "
             f"{env['versions'].get('torch')}, CUDA {env.get('torch_cuda')}",
             f"- wall time: {results['wall_s']:.0f} s", "", "## Training", "",
             "| model | epochs | steps × batch | train s | params | stream map F1 | stream "
             "event F1 | windows map F1 | tar MiB |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, r in results["training"].items():
        t, s, w = r.get("training", {}), r.get("heldout_stream", {}), r.get("heldout_windows", {})
        lines.append(
            f"| {name} | {t.get('epochs_run')} | {t.get('steps_per_epoch')} × "
            f"{t.get('batch_size')} | {t.get('training_seconds')} | {t.get('parameters')} | "
            f"{s.get('map_f1', '-')} | {s.get('event_f1', '-')} | {w.get('map_f1', '-')} | "
            f"{r.get('tar_bytes', 0) / 2**20:.1f} |"
            if "error" not in r
            else f"| {name} | failed: {r['error'][:120]} |"
        )
    det = results.get("detect_check", {})
    lines += ["", "## aemon detect --model (trained middle)", "", f"```\n{json.dumps(det)}\n```"]
    lines += ["", "## Torch vs ONNX Runtime (max |Δp|)", "", f"```\n{results.get('parity')}\n```"]
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_gpu_live import table

    lines += ["", "## Live channels per GPU", "", table(results.get("live", []), p99_ms), ""]
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu-job-out")))
    p.add_argument("--models", default=f"{MIDDLE},inceptiontime-small,inceptiontime-big,"
                   "spec2map-small,spec2map-big", help="configs to train (comma list)")  # fmt: skip
    p.add_argument("--data", default="sim,randomised", help="training data (comma list)")
    p.add_argument("--epochs", type=int, default=40, help="at most; --max-minutes ends it")
    p.add_argument("--steps", type=int, default=STEPS, help="steps per epoch")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--eval-bursts", type=int, default=200, help="held-out stream bursts")
    p.add_argument("--train-deadline-s", type=float, default=200.0, help="stop training at")
    p.add_argument("--finalize-deadline-s", type=float, default=290.0, help="packaging ends by")
    p.add_argument("--budget-s", type=float, default=520.0, help="whole job (s)")
    p.add_argument("--smoke", action="store_true", help="tiny CPU run of every step")
    args = p.parse_args(argv)
    args.models = [m for m in args.models.split(",") if m]
    args.data = [d for d in args.data.split(",") if d]
    args.device = "cuda"
    if args.smoke:  # epochs and steps come from SMOKE_CONFIG
        args.device, args.models, args.epochs, args.data = "cpu", [MIDDLE], 3, ["sim"]
        if args.train_deadline_s == p.get_default("train_deadline_s"):
            args.train_deadline_s, args.finalize_deadline_s = 240.0, 400.0
        if args.budget_s == p.get_default("budget_s"):
            args.budget_s = 900.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    env = check_environment()
    log(f"environment: {json.dumps(env)}")
    if env["missing"]:
        log(f"missing imports {env['missing']}: carry their wheels (see bench/gpu_job.sh)")
        return 3
    if not args.smoke and not env.get("cuda"):
        log("torch sees no CUDA GPU; use --smoke on a CPU machine")
        return 3
    work = Path(tempfile.mkdtemp(prefix="aemon-gpu-job-"))
    if args.smoke:
        args.smoke_config = work / "smoke-middle.toml"
        args.smoke_config.write_text(SMOKE_CONFIG)
    results: dict[str, Any] = {"environment": env, "args": {k: str(v) for k, v in
                                                             vars(args).items()}}  # fmt: skip
    results["training"] = train_all(args, work, start)
    middle = work / MIDDLE
    if (middle / "model_card.json").exists():
        results["detect_check"] = detect_check(
            middle, work, args.device, 0.05 if args.smoke else 0.5
        )
    models = [str(middle)] if (middle / "model.pt").exists() else []
    try:
        results["parity"] = parity([*models, CPU_MODEL], args.device)
    except Exception as exc:  # report, do not stop the job
        log(f"parity: {type(exc).__name__}: {exc}")
    remaining = args.budget_s - (time.perf_counter() - start)
    results["live"] = bench_live(args, [*models, CPU_MODEL], work, remaining)
    results["wall_s"] = time.perf_counter() - start
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    text = summary(results)
    (args.out / "summary.md").write_text(text + "\n")
    print(text, flush=True)
    log(f"done in {results['wall_s']:.0f} s; files in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
