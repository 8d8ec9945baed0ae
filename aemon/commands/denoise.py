"""``aemon denoise`` and ``aemon train-denoiser``: U-Net soft-mask denoising (thesis ch. 3)."""

from __future__ import annotations

import argparse
import json
import logging
import math
import shlex
import sys
from pathlib import Path

from aemon.commands._checks import positive
from aemon.commands._features_from import add_denoiser_option
from aemon.commands._outputs import AtomicOutput
from aemon.commands.replay import add_overwrite, add_raw_options
from aemon.errors import ConfigError, FileFormatError

logger = logging.getLogger(__name__)

_EPILOG = """\
The denoiser is a small U-Net that puts a soft mask (0..1) on the STFT magnitude (64-point
Hann frames, hop 16 samples); the phase is the input's. The output is a new aemon recording
(float32 volts, same time base and channels; a simulator recording's /truth is copied), written
as OUT.partial.h5 and renamed when complete. Runs on ONNX Runtime (no torch).
`aemon detect|replay|export --features-from denoised` measures event features on the denoised
waveform instead and keeps the raw ones as raw_* columns.
examples:
  aemon denoise test.h5 --out test.denoised.h5
  aemon denoise lab.wav --volts-per-count 1 --out lab.denoised.h5
  aemon train-denoiser --out models/my-denoiser --minutes 12"""

_TRAIN_EPILOG = """\
Trains on simulator bursts mixed into simulator and randomised background at 0-35 dB SNR (peak
over background RMS), STFT magnitudes in, soft mask out, on the CPU (torch; the train extra).
The model directory gets denoiser.onnx and card.json (settings, validation loss, ONNX parity,
the command). --evaluate adds the bench/bench_denoise.py table to the card.
examples:
  aemon train-denoiser --out models/dn --minutes 14 --evaluate
  aemon train-denoiser --out models/dn2 --init models/dn --minutes 14 --evaluate"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon denoise``."""
    p = subparsers.add_parser(
        "denoise",
        help="denoise a recording with the U-Net (STFT soft mask) -> new .h5 recording",
        description="Write the denoised signal of a file as a new aemon recording.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", type=Path, metavar="FILE", help=".h5, .wav/.flac or raw")
    p.add_argument("-o", "--out", type=Path, required=True, metavar="OUT.h5", help="recording")
    add_denoiser_option(p)
    add_raw_options(p)
    add_overwrite(p)
    p.set_defaults(func=run_denoise)


def run_denoise(args: argparse.Namespace) -> int:
    """Run ``aemon denoise``; returns the exit status."""
    if not args.input.is_file():
        raise FileFormatError(f"{args.input}: no such file; check the path")
    if args.out.suffix.lower() not in (".h5", ".hdf5"):
        raise ConfigError(f"--out {args.out}: the denoised recording needs the suffix .h5")
    if args.out.resolve() == args.input.resolve():
        raise ConfigError(f"--out {args.out} is the input; choose another file")
    positive("--rate", args.sample_rate_hz, "Hz", "1562500")
    positive("--volts-per-count", args.volts_per_count, "volts", "3.05e-6")
    from aemon.denoise.denoiser import Denoiser
    from aemon.denoise.recording import denoise_file

    denoiser = Denoiser(args.denoiser)
    raw = {
        "sample_rate_hz": args.sample_rate_hz,
        "dtype": args.dtype,
        "channels": args.channels,
        "volts_per_count": args.volts_per_count,
    }
    with AtomicOutput(args.out, overwrite=args.overwrite) as output:
        summary = denoise_file(args.input, output.partial, denoiser, **raw)
    print(f"{summary.line()} -> {args.out}")
    return 0


def register_train(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon train-denoiser``."""
    p = subparsers.add_parser(
        "train-denoiser",
        help="train the U-Net denoiser on simulator mixtures -> ONNX + card",
        description="Train the STFT soft-mask U-Net and export it to ONNX.",
        epilog=_TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="model directory")
    p.add_argument("--minutes", type=float, default=12.0, metavar="M", help="default 12")
    p.add_argument("--steps", type=int, metavar="N", help="stop after N steps instead")
    p.add_argument("--batch-size", type=int, default=32, metavar="B", help="default 32")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="default 0")
    p.add_argument(
        "--learning-rate", type=float, default=1e-3, metavar="LR", help="Adam, default 1e-3"
    )
    p.add_argument("--evaluate", action="store_true", help="add the benchmark table to the card")
    p.add_argument("--init", type=Path, metavar="DIR", help="continue from this denoiser")
    add_overwrite(p)
    p.add_argument("--json", action="store_true", help="print the card as JSON")
    p.set_defaults(func=run_train_denoiser)


def run_train_denoiser(args: argparse.Namespace) -> int:
    """Run ``aemon train-denoiser``; returns the exit status."""
    positive("--minutes", args.minutes, "minutes", "12")
    positive("--batch-size", args.batch_size, "windows", "32")
    if not (math.isfinite(args.learning_rate) and args.learning_rate > 0):
        raise ConfigError(f"--learning-rate {args.learning_rate} is not above 0; give e.g. 1e-3")
    if args.steps is not None:
        positive("--steps", args.steps, "steps", "500")
    if args.out.exists() and not args.overwrite:
        raise ConfigError(f"{args.out} already exists; choose another --out or add --overwrite")
    from aemon.train.denoise_training import evaluate_card, train_denoiser

    command = "aemon " + shlex.join(sys.argv[1:]) if sys.argv[1:] else ""
    card = train_denoiser(
        args.out,
        minutes=args.minutes,
        steps=args.steps,
        batch_size=args.batch_size,
        seed=args.seed,
        learning_rate=args.learning_rate,
        command=command,
        init=args.init,
    )
    if args.evaluate:
        card = evaluate_card(args.out)
    if args.json:
        print(json.dumps(card))
        return 0
    print(
        f"{args.out}: {card['training']['steps']} steps in {card['training']['seconds']:.0f} s, "
        f"validation loss {card['training']['best_validation_loss']:.4f}, "
        f"{card['parameters']} parameters, {card['size_bytes']} bytes, ONNX parity "
        f"{card['onnx_parity_max_abs']:.1e}"
    )
    return 0
