"""``aemon reanalyse`` on this machine: × real time with 1 and 2 local workers, the scaling,
and the overhead against sequential ``aemon detect``.

Simulates ``--minutes`` of 4-channel recordings (``aemon sim``, ``--files`` files, default
192 kHz with the shipped aemon-rt-192k model), then, each as a separate command with its
start-up included:

1. ``aemon detect`` on every file, one after the other (its defaults: the cores' inference
   threads);
2. ``aemon reanalyse FILES --workers 1 --threads 1``;
3. ``aemon reanalyse FILES --workers 2 --threads 1`` (what ``--workers 2`` gives each task
   on 2 cores anyway).

× real time is signal seconds (per channel) over wall seconds, for the whole archive. The
scaling is (2) over (3); the overhead is (2) against (1), and (3) is compared with (1) too.
The CSVs of (2) and (3) are compared with those of (1): the same rows, and byte for byte.
Each run also reports the CPU time the machine's other processes took meanwhile
(``other_processes_cpu_s``, from ``/proc/stat``): on a shared machine, more than a few
seconds means that run's wall time is not clean. A JSON report goes to ``--json``.

Usage::

    python bench/bench_reanalyse.py [--minutes 10] [--files 5] [--rate 192000]
        [--chunk 60] [--dir /tmp/bench-reanalyse] [--json report.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


CPU_S: list[float] = []
"""CPU time (user + system, s) of every command run, its worker processes included."""
OTHER_CPU_S: list[float] = []
"""CPU time (s) that other processes of the machine used while each command ran (from
``/proc/stat``; NaN elsewhere): more than a few seconds means the figures are not clean."""


def _children_cpu_s() -> float:
    times = os.times()
    return times.children_user + times.children_system


def _machine_cpu_s() -> float:
    """CPU time (s) every process of the machine used since boot (NaN outside Linux)."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def _aemon(*args: str) -> float:
    """Run ``python -m aemon.cli ARGS``; returns its wall time (s); its CPU time goes to
    :data:`CPU_S`, the rest of the machine's to :data:`OTHER_CPU_S`."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cpu, machine = _children_cpu_s(), _machine_cpu_s()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "aemon.cli", *args], env=env, text=True,
                          capture_output=True, check=False)  # fmt: skip
    wall = time.perf_counter() - started
    CPU_S.append(_children_cpu_s() - cpu)
    OTHER_CPU_S.append(_machine_cpu_s() - machine - CPU_S[-1])
    if done.returncode != 0:
        raise SystemExit(f"aemon {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    print(done.stdout.strip().splitlines()[-1], flush=True)
    return wall


def _figures(wall_s: float, signal_s: float, cpu_s: float, other_s: float) -> dict[str, float]:
    return {"wall_s": round(wall_s, 2), "x_real_time": round(signal_s / wall_s, 3),
            "cpu_s": round(cpu_s, 2), "other_processes_cpu_s": round(other_s, 2)}  # fmt: skip


def _same_rows(a: Path, b: Path) -> tuple[bool, bool]:
    """(the same rows, the same bytes): row order can differ for events of two channels
    reported at nearly the same time (see docs/reanalysis.md)."""
    rows_a, rows_b = a.read_text().splitlines(), b.read_text().splitlines()
    return sorted(rows_a) == sorted(rows_b), rows_a == rows_b


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="signal in all (min)")
    parser.add_argument("--files", type=int, default=5, help="recordings (default 5)")
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--rate", type=float, default=192_000.0, help="Hz (default 192000)")
    parser.add_argument("--chunk", type=float, default=60.0, help="s per task (default 60)")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench-reanalyse"))
    parser.add_argument("--json", type=Path, help="write the report here too")
    args = parser.parse_args()

    args.dir.mkdir(parents=True, exist_ok=True)
    seconds = args.minutes * 60 / args.files
    files = []
    for i in range(args.files):
        path = args.dir / f"rec{i}.h5"
        if not path.exists():
            _aemon("sim", "--duration", f"{seconds:g}", "--channels", str(args.channels),
                   "--rate", f"{args.rate:g}", "--seed", str(i), "--coincident", "0.3",
                   "-o", str(path))  # fmt: skip
        files.append(path)
    signal_s = seconds * args.files

    load_before = os.getloadavg()[0]
    CPU_S.clear()
    OTHER_CPU_S.clear()
    sequential = sum(
        _aemon("detect", str(path), "-o", str(args.dir / f"{path.name}.seq.csv"),
               "--overwrite", "--no-progress")
        for path in files
    )  # fmt: skip
    cpu, other = {0: sum(CPU_S)}, {0: sum(OTHER_CPU_S)}
    walls: dict[int, float] = {}
    same_rows = same_bytes = 0
    for workers in (1, 2):  # one inference thread per worker: a worker is a core
        out = args.dir / f"out{workers}"
        options = ["--workers", str(workers), "--threads", "1", "--chunk", f"{args.chunk:g}"]
        walls[workers] = _aemon("reanalyse", *map(str, files), "--out", str(out), *options,
                                "--overwrite", "--no-progress")  # fmt: skip
        cpu[workers], other[workers] = CPU_S[-1], OTHER_CPU_S[-1]
        for path in files:
            rows, whole = _same_rows(args.dir / f"{path.name}.seq.csv",
                                     out / f"{path.name}.events.csv")  # fmt: skip
            same_rows += rows
            same_bytes += whole
    report = {
        "signal_s_per_channel": signal_s,
        "channels": args.channels,
        "rate_hz": args.rate,
        "files": args.files,
        "chunk_s": args.chunk,
        "cores": os.cpu_count(),
        "load_average_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "detect_sequential": _figures(sequential, signal_s, cpu[0], other[0]),
        "reanalyse_1_worker": _figures(walls[1], signal_s, cpu[1], other[1]),
        "reanalyse_2_workers": _figures(walls[2], signal_s, cpu[2], other[2]),
        "scaling_2_over_1_worker": round(walls[1] / walls[2], 3),
        "overhead_1_worker_vs_detect": round(walls[1] / sequential - 1, 3),
        "speedup_2_workers_vs_detect": round(sequential / walls[2], 3),
        "csvs_with_the_rows_of_detect": f"{same_rows} of {2 * len(files)}",
        "csvs_byte_for_byte_as_detect": f"{same_bytes} of {2 * len(files)}",
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
