"""Where the detector's recall goes: peak probability over short and long bursts.

Places isolated bursts 30 ms apart in white Gaussian noise at a given SNR (peak over noise
RMS), runs the live detection path (:func:`aemon.detect.signal_detection.detect_signal`) and
reports, per burst generator and length class, the median of the map's peak probability over
each burst and the share of bursts whose peak reaches the model's threshold. Two generators:
``train`` (``aemon.sim.randomised``, the training distribution) and ``indep``
(``bench/independent``, never trained on). A gap between short and long bursts on *both*
says the network, not the domain, is the limit.

Usage::

    python bench/bench_burst_length.py [--model DIR] [--snr 12 20] [--bursts 40]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from independent import make_burst

from aemon.detect.factory import open_model
from aemon.detect.model_card import read_model_card
from aemon.detect.onnx_runtime import resolve_model
from aemon.detect.options import DetectOptions
from aemon.detect.signal_detection import detect_signal
from aemon.sim.randomised import random_burst

logger = logging.getLogger(__name__)

FS = 1_562_500.0
SPACING_S = 0.03
LENGTHS_US = ((0.0, 350.0), (350.0, 3000.0))
"""Burst length classes (µs, onset to end at −40 dB)."""


def _wave(kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "train":
        return random_burst(rng, FS).wave.astype(np.float64)
    b = make_burst(rng, FS)
    return np.asarray(b.waveform[b.onset : b.end], np.float64)


def peak_probabilities(
    detector: object, kind: str, snr_db: float, length_us: tuple[float, float], count: int
) -> np.ndarray:
    """Peak map probability over each of ``count`` bursts of one generator and length class."""
    rng = np.random.default_rng([int(snr_db), int(length_us[0]), len(kind)])
    step = int(FS * SPACING_S)
    x = rng.standard_normal(step * (count + 1))
    spans: list[tuple[int, int]] = []
    while len(spans) < count:
        wave = _wave(kind, rng)
        if not length_us[0] <= wave.size / FS * 1e6 < length_us[1]:
            continue
        at = step * (len(spans) + 1)
        x[at : at + wave.size] += wave * (10 ** (snr_db / 20) / np.max(np.abs(wave)))
        spans.append((at, at + wave.size))
    found = detect_signal(detector, x.astype(np.float32), FS, keep_map=True)  # type: ignore[arg-type]
    assert found.probabilities is not None
    p = found.probabilities[0].max(axis=0)
    bins = found.bin_samples
    return np.array([p[s // bins : e // bins + 1].max() for s, e in spans])


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="aemon-rt-1m5", help="model directory or name")
    parser.add_argument("--snr", type=float, nargs="+", default=[12.0, 20.0], help="dB")
    parser.add_argument("--bursts", type=int, default=40, help="bursts per cell (40)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    detector = open_model(DetectOptions(model=args.model), FS)
    threshold = read_model_card(resolve_model(args.model)[0]).threshold
    print(f"model {args.model}, threshold {threshold:g}; white noise, {args.bursts} bursts/cell")
    print("| generator | SNR dB | length µs | median peak p | share ≥ threshold |")
    print("|---|---|---|---|---|")
    for kind in ("train", "indep"):
        for snr in args.snr:
            for length in LENGTHS_US:
                pk = peak_probabilities(detector, kind, snr, length, args.bursts)
                print(
                    f"| {kind} | {snr:g} | {length[0]:.0f}–{length[1]:.0f} | "
                    f"{np.median(pk):.2f} | {np.mean(pk >= threshold):.2f} |"
                )


if __name__ == "__main__":
    main()
