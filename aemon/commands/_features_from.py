"""``--features-from raw|denoised`` and ``--denoiser``, shared by detect, replay, export, denoise.

With ``denoised`` the command writes its event CSV as usual, then
:func:`aemon.denoise.event_features.denoise_event_csv` replaces the feature columns by those
measured on the denoised waveform and adds the raw ones as ``raw_*`` columns.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def add_denoiser_option(parser: argparse.ArgumentParser) -> None:
    """``--denoiser DIR`` (default: the shipped U-Net)."""
    parser.add_argument(
        "--denoiser", metavar="DIR", help="denoiser model directory (default: the shipped one)"
    )


def add_features_from(parser: argparse.ArgumentParser) -> None:
    """``--features-from raw|denoised`` and ``--denoiser``."""
    parser.add_argument(
        "--features-from",
        choices=("raw", "denoised"),
        default="raw",
        help="waveform the feature columns are measured on (denoised: raw ones as raw_*)",
    )
    add_denoiser_option(parser)


def check_features_from(args: argparse.Namespace) -> None:
    """With ``--features-from denoised``: fail early on a missing ``--denoiser``."""
    if getattr(args, "features_from", "raw") == "denoised":
        from aemon.denoise.denoiser import resolve_denoiser

        resolve_denoiser(args.denoiser)


def denoise_features(args: argparse.Namespace, csv: Path) -> None:
    """Replace the features in the event CSV ``csv`` by those of the denoised ``args.input``."""
    from aemon.denoise.denoiser import Denoiser
    from aemon.denoise.event_features import denoise_event_csv

    raw = {
        "sample_rate_hz": getattr(args, "sample_rate_hz", None),
        "dtype": getattr(args, "dtype", None),
        "channels": getattr(args, "channels", None),
        "volts_per_count": getattr(args, "volts_per_count", None),
    }
    denoise_event_csv(csv, args.input, Denoiser(args.denoiser), **raw)
