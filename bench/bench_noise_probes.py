"""Noise probes of issue 8: events per minute from ``aemon detect`` on burst-free noise.

Three files of Gaussian noise at 1.5625 MHz (white; white → AR(1) a = 0.6 → 4th-order
Butterworth band-pass 20–700 kHz; white → 4th-order band-pass 50–300 kHz), each written as an
aemon HDF5 recording and run through the ``aemon detect`` command a user runs. Every event is a
false alarm. The target is ≤ 1 event per minute on each.

Usage::

    python bench/bench_noise_probes.py [--seconds 20] [--model DIR] [--model DIR2 ...]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_whitening import FS, probe
from independent import read_event_onsets, run_aemon_detect, write_recording

logger = logging.getLogger(__name__)

PROBES = ("white", "ar1+bp20-700k", "bp50-300k")
"""The probe noises of :func:`bench_whitening.probe` named in issue 8."""

NOISE_RMS_V = 1e-3
"""Noise RMS (V) of the probe files."""


def main() -> None:
    """Write the probes, run ``aemon detect`` per model, print events per minute."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per probe (20)")
    parser.add_argument("--model", action="append", help="model directory (default: shipped)")
    parser.add_argument("--seed", type=int, default=8, help="noise seed (8)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    models = args.model or [None]
    n = int(args.seconds * FS)
    print(f"events per minute on {args.seconds:g} s of each probe (target ≤ 1)")
    print("| model | " + " | ".join(PROBES) + " |")
    print("|---" * (len(PROBES) + 1) + "|")
    with tempfile.TemporaryDirectory(prefix="aemon-probes-") as tmp:
        files = []
        for k, name in enumerate(PROBES):
            path = Path(tmp) / f"{name}.h5"
            x = probe(name, np.random.default_rng([args.seed, k]), n) * NOISE_RMS_V
            write_recording(path, x, FS, [], NOISE_RMS_V, description=f"noise probe {name}")
            files.append(path)
        for model in models:
            rates = []
            for path in files:
                events = path.with_suffix(".csv")
                run_aemon_detect(path, events, model=model)
                rates.append(len(read_event_onsets(events)) / (args.seconds / 60))
            label = model or "shipped"
            print(f"| {label} | " + " | ".join(f"{r:.1f}" for r in rates) + " |")


if __name__ == "__main__":
    main()
