"""``aemon adapt``: teach the detector your machine, from recordings nobody labelled.

With ``--background`` (site learning, minutes on a CPU, no extra needed): give the pencil-lead-
break sensor check (or the first minutes of a test) and a recording of the machine running
before any damage. Every detection in the background is learnt as the machine; your own bursts
are mixed into that background at all SNRs down to 0 dB, on top of the machine's transients
too; a site classifier learns to tell them apart (``aemon.site``). Without ``--background``
the model itself is fine-tuned on harvested bursts (needs the train extra).

Either way a guard scores the old and the new detector on held-back site data and on an
independent slice, through the path ``aemon detect`` runs, prints both, and writes the new model
directory only when it is better on the site and no worse on the slice; otherwise it exits 2
and writes nothing. ``detect``, ``replay`` and ``monitor`` use the new model with
``--model DIR``.
"""

from __future__ import annotations

import argparse
import logging
import shlex
from pathlib import Path

logger = logging.getLogger(__name__)

EXAMPLES = """examples:
  aemon adapt plb-check.h5 --background machine-running.h5 --out models/rig3
  aemon adapt plb.wav --background bg1.wav bg2.wav --model aemon-rt-1m5 --out models/rig3 \\
      --fa-per-min 0.5
  aemon adapt day1.h5 --model models/lab-1m5 --out models/lab-1m5-v2 --steps 3000"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon adapt``."""
    parser = subparsers.add_parser(
        "adapt",
        help="teach the detector your machine from a background and a PLB check",
        description=__doc__,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("recordings", nargs="+", type=Path, help="recordings with bursts")
    parser.add_argument(
        "--background", nargs="+", type=Path, metavar="BG", help="recordings of the machine alone"
    )
    parser.add_argument(
        "--model", help="model to start from (default: the shipped model for the rate)"
    )
    parser.add_argument("-o", "--out", type=Path, required=True, help="new model directory")
    parser.add_argument(
        "--fa-per-min", type=float, default=1.0, metavar="RATE",
        help="site learning: false alarms per minute allowed on the background (default 1)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of all randomness (default 0)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    tune = parser.add_argument_group("fine-tuning (without --background; needs the train extra)")
    tune.add_argument("--steps", type=int, default=1500, metavar="N", help="steps (1500)")
    tune.add_argument("--batch-size", type=int, default=8, metavar="N", help="windows per step")
    tune.add_argument("--lr", type=float, default=5e-4, help="learning rate (default 5e-4)")
    tune.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="torch device")
    tune.add_argument(
        "--eval-bursts", type=int, default=200, metavar="N", help="bursts in the final check"
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from aemon.commands._adapt_output import default_model
    from aemon.commands._model_copy import check_new_model_directory
    from aemon.errors import ConfigError

    check_new_model_directory(args.out)
    if not args.fa_per_min > 0:
        raise ConfigError(f"--fa-per-min must be positive, got {args.fa_per_min}")
    model = args.model or str(default_model(args.recordings[0]))
    if args.background:
        return _site(args, model)
    return _fine_tune(args, model)


def _command(args: argparse.Namespace, model: str) -> str:
    argv = ["aemon", "adapt", *map(str, args.recordings)]
    if args.background:
        argv += ["--background", *map(str, args.background)]
        argv += ["--fa-per-min", f"{args.fa_per_min:g}"]
    else:
        argv += ["--steps", str(args.steps)]
    argv += ["--model", model, "--out", str(args.out), "--seed", str(args.seed)]
    return shlex.join(argv)


def _site(args: argparse.Namespace, model: str) -> int:
    from aemon.commands._adapt_output import (
        print_sources,
        print_verdict,
        refuse,
        write_site_model,
    )
    from aemon.commands._stages import stage_progress
    from aemon.site.learning import SiteOptions, learn_site

    options = SiteOptions(fa_per_min=args.fa_per_min, seed=args.seed)
    stages = 3 + len(options.candidates)  # read, harvest, learn each source, judge them
    with stage_progress("aemon adapt", stages, args.no_progress) as step:
        learnt = learn_site(model, args.recordings, args.background, options, step=step)
    print_verdict(learnt.verdict)
    print_sources(learnt.summary)
    if not learnt.verdict.keep:
        return refuse(learnt.verdict, site=True)
    write_site_model(model, args.out, learnt, _command(args, model))
    h = learnt.summary["harvest"]
    print(
        f"wrote {args.out}: site classifier from {h['bursts']} harvested bursts and "
        f"{learnt.summary['background_s_train_held_out'][0]:.1f} s of background; "
        f"use it with --model {args.out}"
    )
    return 0


def _fine_tune(args: argparse.Namespace, model: str) -> int:
    from aemon.errors import ConfigError

    if args.steps < 1 or args.batch_size < 1 or not args.lr > 0:
        raise ConfigError("--steps, --batch-size and --lr must be positive")
    try:
        from aemon.commands._adapt_fine_tune import fine_tune
    except ImportError as exc:
        raise ConfigError(
            f"aemon adapt without --background needs the train extra ({exc.name} is missing); "
            "pip install 'aemon[train]', or give --background to learn the site without it"
        ) from None
    return fine_tune(args, model, _command(args, model))
