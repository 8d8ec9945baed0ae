"""``aemon train-classifier``: learn a model's day-one classifier from the training generator.

A second look at every detection for the day before a lab has recorded anything: gradient-
boosted trees (the kind ``aemon adapt --background`` learns from one site) learnt from the
training generator's backgrounds, with machine noise, and its bursts (``aemon.site.day_one``).
The network proposes detections at a low probability; the classifier keeps those it takes for
bursts, and drops the network's own (at its card's threshold) only when it judges them far from
any burst. Minutes on a CPU, no extra needed.

The classifier is written as ``day_one_classifier.json`` into a copy of the model (``--out``);
``detect``, ``replay`` and ``monitor`` use it there, until ``aemon adapt --background`` learns
the site's own or ``aemon calibrate`` sets the network's threshold. The file's ``info`` holds
the command that made it and its out-of-fold scores on the training generator; judge it with
``bench/bench_generalisation.py --no-site --model DIR`` before shipping it.
"""

from __future__ import annotations

import argparse
import logging
import shlex
from pathlib import Path

logger = logging.getLogger(__name__)

EXAMPLES = """examples:
  aemon train-classifier --model aemon-rt-1m5 --out models/rt-1m5-day-one
  aemon train-classifier --model models/lab-1m5 --out models/lab-1m5-day-one --seconds 80"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon train-classifier``."""
    parser = subparsers.add_parser(
        "train-classifier",
        help="learn a model's day-one classifier from the training generator",
        description=__doc__,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="model directory or shipped model name")
    parser.add_argument("-o", "--out", type=Path, required=True, help="new model directory")
    parser.add_argument(
        "--seconds", type=float, default=80.0, metavar="S",
        help="background seconds drawn from the training generator (default 80)",
    )  # fmt: skip
    parser.add_argument(
        "--trigger-ratio", type=float, default=0.0, metavar="R",
        help="also judge STA/LTA triggers on the pre-whitened signal at this ratio where the "
        "network proposed nothing, e.g. 2 (default 0: the network's candidates alone)",
    )  # fmt: skip
    parser.add_argument(
        "--backgrounds", default=None, metavar="KINDS",
        help="comma-separated training generator backgrounds, of randomised, randomised-machine, "
        "randomised-friction and simulator (default: randomised,randomised-machine,simulator)",
    )  # fmt: skip
    parser.add_argument(
        "--without-network-score", action="store_true",
        help="the trees judge the waveform and its context without the network's score, which "
        "counts only through the two-bar rule",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of all randomness (default 0)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from aemon.commands._model_copy import (
        check_new_model_directory,
        partial_model_copy,
        publish_model,
    )
    from aemon.commands._stages import stage_progress
    from aemon.detect.onnx_runtime import resolve_model
    from aemon.detect.site_classifier import DAY_ONE_CLASSIFIER_FILE
    from aemon.errors import ConfigError
    from aemon.site.day_one import DayOneOptions, learn_day_one
    from aemon.site.generator_data import BACKGROUND_KINDS, GENERATOR_KINDS

    check_new_model_directory(args.out)
    if not args.seconds >= 1.0:
        raise ConfigError(f"--seconds must be at least 1 (s of background), got {args.seconds}")
    if not args.trigger_ratio == 0 and not args.trigger_ratio > 1:
        raise ConfigError(
            f"--trigger-ratio must be above 1 (or 0 for none), got {args.trigger_ratio}"
        )
    kinds = BACKGROUND_KINDS if args.backgrounds is None else tuple(
        k.strip() for k in args.backgrounds.split(",") if k.strip()
    )  # fmt: skip
    unknown = [k for k in kinds if k not in GENERATOR_KINDS]
    if unknown or not kinds:
        raise ConfigError(
            f"--backgrounds {args.backgrounds!r}: unknown {', '.join(unknown) or 'none given'}; "
            f"choose from {','.join(GENERATOR_KINDS)}"
        )
    source = resolve_model(args.model)[0].parent
    options = DayOneOptions(
        seconds=args.seconds, seed=args.seed, trigger_ratio=args.trigger_ratio or None,
        backgrounds=kinds, score_feature=not args.without_network_score,
    )  # fmt: skip
    stages = len(kinds) + 1
    with stage_progress("aemon train-classifier", stages, args.no_progress) as step:
        classifier = learn_day_one(args.model, options, step=step)
    command = shlex.join([
        "aemon", "train-classifier", "--model", args.model, "--out", str(args.out),
        "--seconds", f"{args.seconds:g}", "--seed", str(args.seed),
        *(["--trigger-ratio", f"{args.trigger_ratio:g}"] if args.trigger_ratio else []),
        *(["--backgrounds", ",".join(kinds)] if kinds != BACKGROUND_KINDS else []),
        *(["--without-network-score"] if args.without_network_score else []),
    ])  # fmt: skip
    classifier.info["command"] = command
    partial = partial_model_copy(source, args.out)
    classifier.write(partial, DAY_ONE_CLASSIFIER_FILE)
    publish_model(partial, args.out)
    scores = classifier.info["out_of_fold"]
    lower = (
        "" if classifier.drop_below is None
        else f", the network's own dropped below {classifier.drop_below:.2f}"
    )  # fmt: skip
    print(
        f"wrote {args.out}: day-one classifier (candidates from probability "
        f"{classifier.candidate_probability:g}, kept from burst probability "
        f"{classifier.threshold:.2f}{lower});"
        f" out of fold on the training generator F1 {scores['f1']:.3f} (network alone "
        f"{scores['network_alone_f1']:.3f}); use it with --model {args.out}"
    )
    return 0
