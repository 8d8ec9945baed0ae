"""``aemon adapt``: fine-tune a detector on your own, unlabelled recordings (self-training).

Give one or more recordings from your machine with some clear bursts in them (pencil-lead
breaks, or the first minutes of a test); ``aemon adapt`` harvests the isolated high-SNR bursts
and the burst-free background from them, mixes the bursts back into the background at lower
SNRs, and fine-tunes the model on that beside its original training data. The new model
directory's card says what was harvested. See ``aemon.train.adapt`` for the rules.
"""

from __future__ import annotations

import argparse
import logging
import shlex
from pathlib import Path

logger = logging.getLogger(__name__)

EXAMPLES = """examples:
  aemon adapt plb-run.h5 --model aemon-rt-1m5 --out models/lab-1m5
  aemon adapt day1.h5 day2.h5 --model models/lab-1m5 --out models/lab-1m5-v2 --steps 3000"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon adapt``."""
    parser = subparsers.add_parser(
        "adapt",
        help="fine-tune a detector on your own unlabelled recordings (needs the train extra)",
        description=__doc__,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("recordings", nargs="+", type=Path, help="recordings (.h5, WAV, ...)")
    parser.add_argument("--model", required=True, help="model to start from (directory or name)")
    parser.add_argument("-o", "--out", type=Path, required=True, help="new model directory")
    parser.add_argument(
        "--steps", type=int, default=1500, metavar="N", help="fine-tuning steps (default 1500)"
    )
    parser.add_argument("--batch-size", type=int, default=8, metavar="N", help="windows per step")
    parser.add_argument("--lr", type=float, default=5e-4, help="learning rate (default 5e-4)")
    parser.add_argument(
        "--device", choices=["cpu", "cuda"], default="cpu", help="torch device (default cpu)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of all randomness (default 0)")
    parser.add_argument(
        "--eval-bursts", type=int, default=200, metavar="N", help="bursts in the final check"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from aemon.detect.model_card import STATE_DICT_FILE
    from aemon.detect.onnx_runtime import OnnxDetector
    from aemon.errors import ConfigError

    if args.steps < 1 or args.batch_size < 1 or not args.lr > 0:
        raise ConfigError("--steps, --batch-size and --lr must be positive")
    if args.out.exists() and any(args.out.iterdir()):
        raise ConfigError(f"{args.out} exists and is not empty; choose a new --out")
    try:
        from aemon.train.adapt import harvest, harvest_source
        from aemon.train.config import model_config_from_dict
        from aemon.train.package import finalize
        from aemon.train.trainer import TrainOptions, train
    except ImportError as exc:
        raise ConfigError(
            f"aemon adapt needs the train extra ({exc.name} is missing); pip install 'aemon[train]'"
        ) from None

    detector = OnnxDetector(args.model, site_calibration=False)
    model_dir = detector.path.parent
    weights = model_dir / STATE_DICT_FILE
    if not weights.is_file():
        raise ConfigError(f"{model_dir} has no {STATE_DICT_FILE} to fine-tune; retrain it")
    config = model_config_from_dict(detector.card.architecture, str(model_dir))
    training = replace(
        config.training,
        steps_per_epoch=min(args.steps, 500),
        epochs=max(1, -(-args.steps // 500)),
        batch_size=args.batch_size,
        learning_rate=args.lr,
        patience=10_000,
    )
    config = replace(config, name=args.out.name, training=training)
    found = harvest(detector, args.recordings)
    options = TrainOptions(
        config=config,
        out=args.out,
        data=["sim", "randomised"],
        device=args.device,
        seed=args.seed,
        progress=not args.no_progress,
        eval_bursts=args.eval_bursts,
        init_weights=weights,
    )
    adapt_source = harvest_source(
        found,
        len(config.signal.classes),
        training.bursts_per_window,
        (0.0, max(found.snr_db) if found.snr_db else 30.0),
        options.augmentation,
    )
    options.extra_sources = [adapt_source]
    state = train(options)
    summary = found.summary()
    note = (
        f"fine-tuned from {detector.card.name} on {summary['bursts']} harvested bursts "
        f"({summary['snr_db_min']}-{summary['snr_db_max']} dB) in {summary['background_s']} s "
        f"of harvested background ({summary['background_rule']}) from "
        f"{', '.join(str(r) for r in args.recordings)}"
    )
    argv = ["aemon", "adapt", *map(str, args.recordings), "--model", str(args.model)]
    argv += ["--out", str(args.out), "--steps", str(args.steps), "--seed", str(args.seed)]
    command = shlex.join(argv)
    card = finalize(options, state, command, data_note=note)
    card.training["adapt"] = summary
    from aemon.detect.model_card import write_model_card

    write_model_card(card, args.out)
    print(f"wrote {args.out}: {note}")
    return 0
