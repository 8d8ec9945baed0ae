"""``aemon reanalyse``: run ``aemon detect`` over many recordings on a Dask cluster."""

from __future__ import annotations

import argparse
import glob
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from aemon.commands._checks import at_least, detect_options, positive
from aemon.commands._outputs import AtomicOutput
from aemon.commands.detect import add_detection_arguments, check_detection_arguments
from aemon.commands.replay import add_overwrite
from aemon.errors import AemonError, ConfigError

if TYPE_CHECKING:
    from aemon.events.hit import Hit
    from aemon.reanalysis.plan import RecordingPlan, Setup
    from aemon.reanalysis.task import ChunkResult

logger = logging.getLogger(__name__)

SUFFIXES = (".h5", ".hdf5", ".wav", ".flac", ".raw", ".bin", ".pcm", ".dat", ".tradb")
"""Files a directory argument contributes (raw ones need --rate and --dtype)."""

_EPILOG = """\
Each recording is cut into time chunks (--chunk S of signal each, plus a warm-up before and a
tail after for the detector's state); the chunks run as tasks on the cluster, and the events
equal those of `aemon detect` on each file (docs/reanalysis.md says how exactly). Finished
chunks are kept in DIR/.aemon-reanalyse until their recording is written, so a rerun after
Ctrl-C or a failure redoes only the chunks that were missing. Recordings whose CSV exists
in DIR are skipped (--overwrite redoes them). The detector options are those of
`aemon detect` (see aemon detect --help).
examples:
  aemon reanalyse archive/*.h5 --out results/ --workers 2
  aemon reanalyse archive/ --out results/ --scheduler tcp://10.0.0.5:8786
  aemon reanalyse a.h5 b.h5 --model models/aemon-rt-1m5 --table rt1m5 --out results/"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``reanalyse`` subcommand."""
    p = subparsers.add_parser(
        "reanalyse",
        help="detect events in many recordings on a Dask cluster -> one event CSV each",
        description="Run the detection of `aemon detect` over recordings, directories or "
        "globs of them, in time chunks spread over the workers of a Dask cluster, and write "
        "one event CSV per recording into DIR.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "recordings", nargs="+", metavar="RECORDING",
        help=".h5, .wav/.flac, raw or .tradb files, directories or globs of them",
    )  # fmt: skip
    p.add_argument("-o", "--out", type=Path, required=True, metavar="DIR",
                   help="directory for the event CSVs (RECORDING.events.csv)")  # fmt: skip
    p.add_argument(
        "--table", metavar="NAME", help=".h5 recordings: also add the events as this table"
    )
    add_overwrite(p)
    cluster = p.add_argument_group("cluster")
    cluster.add_argument(
        "--scheduler", metavar="URL",
        help="an existing Dask scheduler, e.g. tcp://HOST:8786 (default: a local cluster)",
    )  # fmt: skip
    cluster.add_argument("--workers", type=int, metavar="N",
                         help="local cluster: worker processes (default: the cores)")  # fmt: skip
    cluster.add_argument("--chunk", type=float, metavar="S",
                         help="signal per task (s; default 60 s, at least 4 warm-ups)")  # fmt: skip
    cluster.add_argument(
        "--settle", type=float, metavar="K", default=None,
        help="warm the detector's running averages up for K time constants instead of "
        "carrying the neural detector's state into each chunk: faster, not exact",
    )  # fmt: skip
    add_detection_arguments(p)
    p.set_defaults(func=run_reanalyse)


def expand_recordings(items: list[str]) -> list[Path]:
    """Files, directories (their recordings, sorted) and globs → recordings, each once.

    Raises:
        ConfigError: A glob or directory that holds no recording.
    """
    found: list[Path] = []
    for item in items:
        if glob.has_magic(item):
            matches = [Path(m) for m in sorted(glob.glob(item, recursive=True))]
            matches = [m for m in matches if m.is_file()]
        elif os.path.isdir(item):
            matches = sorted(p for p in Path(item).iterdir() if p.suffix.lower() in SUFFIXES)
        else:
            matches = [Path(item)]  # a missing file fails with its own error line
        if not matches:
            raise ConfigError(f"{item} holds no recording ({', '.join(SUFFIXES)}); check it")
        found += [m for m in matches if m.resolve() not in {f.resolve() for f in found}]
    return found


def run_reanalyse(args: argparse.Namespace) -> int:
    """Run ``aemon reanalyse``; returns the exit status (2 if a recording failed)."""
    location = check_detection_arguments(args)
    at_least("--workers", args.workers, 1, "2")
    positive("--chunk", args.chunk, "seconds", "60")
    positive("--settle", args.settle, "time constants", "12")
    out_dir: Path = args.out
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir} is a file; give a directory")
    recordings = expand_recordings(args.recordings)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.table is not None:
        from aemon.io.event_tables import check_table_name

        check_table_name(args.table)
    from aemon.gpu.backend import register_torch_backend
    from aemon.reanalysis.plan import Setup, output_names
    from aemon.reanalysis.task import RawOptions

    register_torch_backend()
    workers = args.workers or (os.cpu_count() or 1)
    threads = args.threads
    if threads is None and args.scheduler is None:  # share the cores among the workers
        threads = max(1, (os.cpu_count() or 1) // workers)
    options = detect_options(args)._replace(threads=threads)
    raw = RawOptions(args.sample_rate_hz, args.dtype, args.channels, args.volts_per_count)
    setup = Setup(options, raw, location, args.only_located_inside, args.chunk, args.settle)
    todo, names = [], []
    for path, name in zip(recordings, output_names(recordings), strict=True):
        if _csv_path(out_dir, name).exists() and not args.overwrite:
            print(f"{path}: {_csv_path(out_dir, name)} exists; skipped (--overwrite redoes it)")
            continue
        todo.append(path)
        names.append(name)
    plans, failed = _plans(todo, names, setup, out_dir)
    if plans:
        from aemon.reanalysis.engine import open_client, run_plans

        with open_client(args.scheduler, workers) as client:
            summary = run_plans(
                client, plans, lambda plan, res: _write(args, setup, plan, res),
                progress=not args.no_progress,
            )  # fmt: skip
        failed += summary.failed
        print(
            f"{summary.written} of {len(recordings)} recordings written to {out_dir}; "
            f"{summary.chunks_run} chunks run ({summary.chunks_stored} done before), "
            f"{summary.realtime_factor:.2f}× real time, {summary.workers} workers "
            f"{100 * summary.busy:.0f} % busy in chunk tasks"
        )
    return 2 if failed else 0


def _csv_path(out_dir: Path, name: str) -> Path:
    return out_dir / f"{name}.events.csv"


def _plans(
    paths: list[Path], names: list[str], setup: Setup, out_dir: Path
) -> tuple[list[RecordingPlan], int]:
    """Plan each recording; one error line for each that cannot be read."""
    from aemon.reanalysis.plan import plan_recording

    plans, failed = [], 0
    for path, name in zip(paths, names, strict=True):
        try:
            plans.append(plan_recording(path, name, setup, out_dir))
        except AemonError as exc:
            print(f"aemon: error: {path}: {exc}; skipped", file=sys.stderr)
            failed += 1
    return plans, failed


def _write(
    args: argparse.Namespace, setup: Setup, plan: RecordingPlan, results: list[ChunkResult]
) -> bool:
    """Write a recording's outputs: its table (``--table``, .h5 only), then its CSV."""
    from aemon.io.event_csv import write_event_csv
    from aemon.reanalysis.task import merge_results

    events = merge_results(results)
    csv = _csv_path(args.out, plan.name)
    try:
        if args.table is not None and plan.path.suffix.lower() in (".h5", ".hdf5"):
            _write_table(args, setup, plan, events)
        with AtomicOutput(csv, overwrite=True) as output:
            write_event_csv(output.partial, events)
            if args.features_from == "denoised":
                _denoise(args, plan.path, output.partial)
    except AemonError as exc:
        print(f"aemon: error: {plan.path}: {exc}", file=sys.stderr)
        return False
    seconds = sum(r.seconds for r in results)
    channels = results[0].channels if results else 0
    workers = len({r.worker for r in results})
    print(f"{plan.path}: {len(events)} events in {seconds:.3f} s of signal ({channels} ch), "
          f"{len(results)} chunks on {workers} workers -> {csv}")  # fmt: skip
    return True


def _write_table(
    args: argparse.Namespace, setup: Setup, plan: RecordingPlan, events: list[Hit]
) -> None:
    from aemon.detect.replay import table_attrs
    from aemon.io.event_tables import EventTableWriter

    attrs = table_attrs(setup.options, plan.card, f"aemon reanalyse {plan.path.name}")
    with EventTableWriter(plan.path, args.table, attrs, overwrite=args.overwrite) as writer:
        writer.write(events)


def _denoise(args: argparse.Namespace, recording: Path, csv: Path) -> None:
    from aemon.denoise.denoiser import Denoiser
    from aemon.denoise.event_features import denoise_event_csv
    from aemon.reanalysis.task import RawOptions

    raw = RawOptions(args.sample_rate_hz, args.dtype, args.channels, args.volts_per_count)
    denoise_event_csv(csv, recording, Denoiser(args.denoiser), **raw._asdict())
