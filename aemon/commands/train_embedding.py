"""``aemon train-embedding``: train an event-similarity autoencoder and export it to ONNX."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path

from aemon.commands.replay import add_overwrite
from aemon.errors import ConfigError

logger = logging.getLogger(__name__)

_EPILOG = """\
CONFIG is a TOML like aemon/models/configs/embedding/autoencoders.toml (Table 3.1 encoder
presets; pick one with --preset). Training windows lie around the true burst onsets of simulator
recordings (/truth), or around the events of other recordings. The model directory gets
encoder.onnx (window -> latent) and card.json (settings, reconstruction errors L1, L2, S-L1,
S-L2 on held-out windows, compression ratio, ONNX parity, the command that made it).
Needs the train extra (torch, onnx).
examples:
  aemon sim --duration 10 --seed 11 --out train.h5
  aemon train-embedding aemon/models/configs/embedding/autoencoders.toml \\
      --data train.h5 --out models/ae1
  aemon cluster test.h5 --embedding models/ae1 --k 2"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon train-embedding``."""
    p = subparsers.add_parser(
        "train-embedding",
        help="train an event-similarity autoencoder (Table 3.1 presets) -> ONNX + card",
        description=__doc__,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", type=Path, metavar="CONFIG", help="autoencoder TOML")
    p.add_argument(
        "--data",
        type=Path,
        nargs="+",
        required=True,
        metavar="FILE.h5",
        help="recordings with simulator truth (or events) to train on",
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="model directory")
    p.add_argument("--preset", type=int, metavar="N", help="Table 3.1 preset (1-7)")
    p.add_argument("--epochs", type=int, metavar="N", help="override the config's epochs")
    p.add_argument("--time-limit", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--json", action="store_true", help="print the card as JSON")
    add_overwrite(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from aemon.similarity.autoencoder import load_autoencoder_config
    from aemon.similarity.embedding_training import recording_windows, train_embedding

    if args.out.exists() and not args.overwrite:
        raise ConfigError(f"{args.out} already exists; choose another --out or add --overwrite")
    overrides: dict[str, object] = {}
    if args.preset is not None:
        overrides["preset"] = args.preset
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    config = load_autoencoder_config(args.config, overrides)
    windows = recording_windows(args.data, config.window_samples)
    command = "aemon " + shlex.join(sys.argv[1:]) if sys.argv[1:] else ""
    card = train_embedding(config, windows, args.out, command=command, time_limit_s=args.time_limit)
    if args.json:
        print(json.dumps(card))
        return 0
    errors = card["reconstruction"]
    print(
        f"{args.out}: preset {config.preset}, latent {card['latent_size']} values "
        f"(compression {100 * card['compression']:.1f} %), {card['epochs_run']} epochs on "
        f"{card['training_windows']} windows; held-out L1 {errors['l1']:.4f} L2 {errors['l2']:.4f} "
        f"S-L1 {errors['s_l1']:.4f} S-L2 {errors['s_l2']:.4f}; ONNX parity "
        f"{card['onnx_parity_max_abs']:.1e}; {card['size_bytes']} bytes"
    )
    return 0
