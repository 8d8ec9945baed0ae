"""``aemon train`` and ``aemon evaluate``.

Torch is imported only when one of these commands runs, so ``aemon --help`` works without the
``train`` extra, and a missing torch gives a one-line hint instead of a traceback.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path
from typing import Any

from aemon.commands._checks import at_least, positive
from aemon.errors import AemonError, ConfigError, FileFormatError
from aemon.train.config_validation import KEEP_BEST_BY

logger = logging.getLogger(__name__)

INSTALL_HINT = "training needs torch: pip install 'aemon[train]'"

_TRAIN_EPILOG = """\
--data (repeatable; default sim):
  sim                 the built-in simulator at the model's sample rate
  randomised          domain-randomised bursts in randomised backgrounds (the shipped models)
  randomised-machine  the same plus machine noise: multi-mode impact rings, bearing and gear
                      trains, hydraulic flow with cavitation, fretting, level swings, and
                      bursts riding on those transients
  DIR                 DIR/bursts/<class>/ isolated burst waveforms (WAV, FLAC, raw, HDF5, Vallen
                      tradb) plus DIR/noise/ background recordings
  REC.h5 | REC.wav    a labelled recording with REC.labels.csv (the window's export) or
                      else REC.csv (time_s, type, channel, end_s or duration_us), or a
                      simulator recording with its /truth table; it says which it used
  REC:EVENTS.csv      a recording with an explicitly named event CSV
examples:
  aemon train aemon-rt --out models/my-rt
  aemon train aemon-rt --data lab/ --rate 192000 --out models/lab-192k
  aemon train aemon-rt --out models/my-rt --resume"""


class MissingTorchError(AemonError):
    """The ``train`` extra is not installed."""


def _require_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise MissingTorchError(INSTALL_HINT) from None


def register_train(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon train``."""
    p = subparsers.add_parser(
        "train",
        help="train a burst detector (needs the train extra)",
        description="Train a binary-map burst detector from a model config (TOML/JSON), export "
        "it to ONNX, evaluate it on held-out data and write a model directory with its card.",
        epilog=_TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", type=Path, help="model config, e.g. aemon-rt")
    p.add_argument("--data", action="append", metavar="SRC", help="training data (see below)")
    p.add_argument("-o", "--out", type=Path, required=True, help="model directory to write")
    p.add_argument(
        "--overwrite", action="store_true", help="start afresh in an OUT that holds a model"
    )
    p.add_argument("--rate", type=float, metavar="HZ", help="sample rate (overrides the config)")
    p.add_argument("--epochs", type=int, metavar="N", help="maximum epochs (overrides the config)")
    p.add_argument("--steps", type=int, metavar="N", help="steps per epoch (overrides the config)")
    p.add_argument("--batch-size", type=int, metavar="N", help="windows per step")
    p.add_argument("--lr", type=float, metavar="X", help="initial learning rate")
    p.add_argument(
        "--short-burst-us",
        type=float,
        metavar="US",
        help="weigh bursts shorter than this like one of this length (overrides the config)",
    )
    p.add_argument(
        "--keep-best-by",
        choices=KEEP_BEST_BY,
        help="validation score that picks the kept epoch (overrides the config)",
    )
    p.add_argument(
        "--device", choices=["cpu", "cuda"], default="cpu", help="torch device (default cpu)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of all randomness (default 0)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="processes that synthesise training batches (0 = none; several with --device cuda)",
    )
    p.add_argument(
        "--max-minutes",
        type=float,
        default=0.0,
        metavar="M",
        help="end training after the epoch that passes M minutes (0 = no limit)",
    )
    p.add_argument(
        "--eval-bursts",
        type=int,
        default=800,
        metavar="N",
        help="bursts in the held-out simulator stream of the final evaluation (default 800)",
    )
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument(
        "--init",
        type=Path,
        metavar="DIR",
        help="start from the weights (model.pt) of this model directory, e.g. a shipped model "
        "of the same architecture, instead of random weights",
    )
    p.add_argument(
        "--stop-after",
        type=int,
        default=0,
        metavar="N",
        help="stop after N epochs in this run; continue later with --resume",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_train)


def register_evaluate(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon evaluate``."""
    p = subparsers.add_parser(
        "evaluate",
        help="evaluate a trained detector (needs the train extra)",
        description="Evaluate a model directory's ONNX detector on held-out data: binary-map "
        "metrics (thesis Table 4.3: accuracy, precision, recall, F1 at 0.5, ROC AUC), event-level "
        "precision/recall/F1 (onset within 100 µs before to 250 µs after the true onset), median "
        "onset error; writes roc.png, examples.png and evaluation.json.",
        epilog="examples:\n  aemon evaluate models/my-rt\n"
        "  aemon evaluate models/lab-192k --data lab/ -o lab-eval --windows 256 --overwrite",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", type=Path, help="model directory (with model.onnx and model_card.json)")
    p.add_argument(
        "--data", action="append", metavar="SRC", help="held-out data, as for train (default sim)"
    )
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        help="where to write figures and evaluation.json (default: ./<model name>-evaluation)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace files in an existing OUT")
    p.add_argument(
        "--windows", type=int, default=128, metavar="N", help="held-out windows (default 128)"
    )
    p.set_defaults(func=run_evaluate)


def _command_line(args: argparse.Namespace) -> str:
    argv = ["aemon", "train", str(args.config)]
    for d in args.data or []:
        argv += ["--data", d]
    argv += ["--out", str(args.out)]
    for flag, value in (
        ("--rate", args.rate),
        ("--epochs", args.epochs),
        ("--steps", args.steps),
        ("--batch-size", args.batch_size),
        ("--lr", args.lr),
        ("--short-burst-us", args.short_burst_us),
        ("--keep-best-by", args.keep_best_by),
    ):
        if value is not None:
            argv += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    if args.device != "cpu":
        argv += ["--device", args.device]
    argv += ["--seed", str(args.seed)]
    if args.threads:
        argv += ["--threads", str(args.threads)]
    if args.workers:
        argv += ["--workers", str(args.workers)]
    if args.max_minutes:
        argv += ["--max-minutes", f"{args.max_minutes:g}"]
    if args.eval_bursts != 800:
        argv += ["--eval-bursts", str(args.eval_bursts)]
    if args.init is not None:
        argv += ["--init", str(args.init)]
    return shlex.join(argv)


def run_train(args: argparse.Namespace) -> int:
    """Train, export, evaluate, write the model directory."""
    _check_train_out(args)
    _require_torch()
    from aemon.gpu.backend import register_torch_backend
    from aemon.train.config import load_model_config, with_overrides
    from aemon.train.package import finalize
    from aemon.train.trainer import TrainOptions, train

    register_torch_backend()  # --device cuda: the held-out streams run on the GPU too
    config = load_model_config(args.config)
    overrides: dict[str, Any] = {
        "epochs": args.epochs,
        "steps_per_epoch": args.steps,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "short_burst_us": args.short_burst_us,
        "keep_best_by": args.keep_best_by,
    }
    config = with_overrides(config, sample_rate_hz=args.rate, **overrides)
    options = TrainOptions(
        config=config,
        out=args.out,
        data=args.data or ["sim"],
        device=args.device,
        seed=args.seed,
        resume=args.resume,
        threads=args.threads,
        workers=args.workers,
        time_limit_s=args.max_minutes * 60.0,
        eval_bursts=args.eval_bursts,
        progress=not args.no_progress,
        stop_after=args.stop_after,
        init_weights=_init_weights(args.init),
    )
    from aemon.train.labelled import labels_used

    for spec in options.data:
        for line in labels_used(spec):
            print(f"aemon train: {line}", file=sys.stderr)
    made = not args.out.exists()
    try:
        state = train(options)
    except BaseException:  # Ctrl-C or an error before the first checkpoint: no empty --out
        if made and args.out.is_dir() and not any(args.out.iterdir()):
            args.out.rmdir()
        raise
    if not state.finished:
        print(
            f"stopped after epoch {len(state.history)} of {config.training.epochs}; continue "
            f"with: {_command_line(args)} --resume"
        )
        return 0
    card = finalize(options, state, _command_line(args))
    stream = card.metrics.get("heldout_stream") or card.metrics["heldout_windows"]
    print(
        f"wrote {args.out}: {card.name}, event F1 {stream['events']['f1']:.4f}, "
        f"{card.speed.get('onnxruntime_cpu_x_realtime', 0):.2f}× real time (ONNX Runtime CPU)"
    )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a model directory and print the report."""
    try:
        import matplotlib  # noqa: F401  (figures; torch is not needed to evaluate)
    except ImportError:
        raise MissingTorchError(
            "evaluation figures need matplotlib: pip install 'aemon[train]'"
        ) from None
    from aemon.detect.model_card import metrics_table
    from aemon.train.evaluate import summary_line
    from aemon.train.report import evaluate_model_dir

    out = args.out or Path(f"{args.model.resolve().name}-evaluation")
    at_least("--windows", args.windows, 1, "128")
    _check_model_loads(args.model)
    if out.is_file() or (out.is_dir() and any(out.iterdir()) and not args.overwrite):
        raise ConfigError(f"{out} already exists; choose another --out or add --overwrite")
    report = evaluate_model_dir(args.model, args.data or ["sim"], out, args.windows)
    rows = {k: v for k, v in report.items() if isinstance(v, dict) and "map" in v}
    print(metrics_table(rows))
    for name, rep in rows.items():
        print(f"{name}: {summary_line(rep)}", file=sys.stderr)
    print(f"figures and evaluation.json in {out}")
    return 0


def _init_weights(model_dir: Path | None) -> Path | None:
    """The ``model.pt`` of ``--init DIR`` (a model name is looked up among the shipped ones)."""
    if model_dir is None:
        return None
    from aemon.detect.model_card import STATE_DICT_FILE
    from aemon.detect.onnx_runtime import resolve_model

    weights = resolve_model(model_dir)[0].parent / STATE_DICT_FILE
    if not weights.is_file():
        raise ConfigError(f"--init {model_dir}: no {STATE_DICT_FILE} there; pass a model directory")
    return weights


def _check_train_out(args: argparse.Namespace) -> None:
    """Refuse impossible numbers and an OUT that holds a model, unless resumed or replaced."""
    for flag, value, low, example in (
        ("--epochs", args.epochs, 1, "20"),
        ("--steps", args.steps, 1, "200"),
        ("--batch-size", args.batch_size, 1, "64"),
        ("--threads", args.threads, 0, "4"),
        ("--stop-after", args.stop_after, 0, "5"),
    ):
        at_least(flag, value, low, example)
    positive("--rate", args.rate, "Hz", "192000")
    positive("--lr", args.lr, "(a learning rate)", "0.001")
    out: Path = args.out
    if out.is_file():
        raise ConfigError(f"--out {out} is a file; give a directory for the model")
    if out.is_dir() and any(out.iterdir()) and not (args.resume or args.overwrite):
        raise ConfigError(
            f"{out} already holds files; add --resume to continue its training, --overwrite "
            "to start afresh, or choose another --out"
        )
    checkpoint = out / "checkpoint.pt"
    if args.overwrite and not args.resume and checkpoint.exists():
        checkpoint.unlink()


def _check_model_loads(model_dir: Path) -> None:
    """Refuse a model directory without a loadable ``model.onnx`` (one line, no traceback)."""
    onnx = model_dir / "model.onnx"
    if not model_dir.is_dir():
        raise FileFormatError(
            f"{model_dir}: no such model directory; give one with model.onnx and model_card.json"
        )
    if not onnx.is_file():
        raise FileFormatError(f"{model_dir} has no model.onnx; export or retrain the model")
    from aemon.onnx_sessions import open_session

    try:
        open_session(onnx, threads=1, what="model")
    except FileFormatError as exc:
        raise FileFormatError(f"{exc}; export or retrain the model") from None
