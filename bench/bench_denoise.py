"""Denoising figures: ``python bench/bench_denoise.py [--model DIR] [--examples N]``.

Prints, per input SNR (0-20 dB, peak over background RMS) and method (no filter, band-pass
80-650 kHz with its own AIC onset, the same band-pass measured over the raw event's span as
the U-Net is, STFT Wiener, the U-Net denoiser), the median SNR improvement and the median
absolute errors of rise time, peak frequency and energy against the clean burst, measured
through the event path of ``--features-from denoised`` (:mod:`aemon.denoise.evaluation`).
Then the U-Net's error reduction vs the band-pass at 6-12 dB and at 20 dB (the done-when of
issue 15: ≥ 30 % at 6-12 dB, not worse than -5 % at 20 dB), and the same for the 75th
percentile of the errors (the medians are whole samples and FFT bins, often 0 for both).
``--no-snr-floor`` runs the U-Net with its bare mask; ``--oracle`` adds the ideal mask computed
from the clean burst (an upper bound for a better network).
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

from aemon.denoise.denoiser import Denoiser
from aemon.denoise.evaluation import (
    EvaluationRow,
    collect,
    format_table,
    improvement,
    summarise,
)

logger = logging.getLogger(__name__)


def _reductions(rows: list[EvaluationRow]) -> None:
    for baseline in ("bandpass", "bp-span"):
        for label, snrs in (("6-12 dB", (6.0, 9.0, 12.0)), ("20 dB", (20.0,))):
            got = improvement(rows, snrs, baseline)
            print(f"U-Net error reduction vs {baseline} at {label} (%): {got}")


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="denoiser directory (default: the shipped one)")
    parser.add_argument("--examples", type=int, default=200, help="bursts per SNR (200)")
    parser.add_argument("--seed", type=int, default=20261130, help="example seed")
    parser.add_argument("--no-snr-floor", action="store_true", help="the bare network mask")
    parser.add_argument("--oracle", action="store_true", help="add the ideal mask (upper bound)")
    args = parser.parse_args()
    denoiser = Denoiser(args.model, snr_floor=not args.no_snr_floor)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NaN peak frequency of empty spans
        results = collect(denoiser, examples=args.examples, seed=args.seed, oracle=args.oracle)
    floor = "SNR floor" if denoiser.snr_floor else "bare mask"
    print(f"denoiser {denoiser.directory}, {floor} ({args.examples} bursts per SNR)")
    rows = summarise(results)
    print(format_table(rows))
    _reductions(rows)
    upper = summarise(results, 75.0)
    print("75th percentile of the errors:")
    print(format_table([r for r in upper if r.method in ("bandpass", "bp-span", "unet", "oracle")]))
    _reductions(upper)
    if args.oracle:
        for percentile, table in ((50, rows), (75, upper)):
            got = improvement(table, (6.0, 9.0, 12.0), method="oracle")
            print(f"oracle error reduction vs bandpass at 6-12 dB, p{percentile} (%): {got}")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
