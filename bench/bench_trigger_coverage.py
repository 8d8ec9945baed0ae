"""Candidate coverage: how many bursts site learning's candidate sources can reach at all.

A site classifier only judges the candidates it is given: the network's detections from a
probability, plus STA/LTA triggers where the network proposed nothing
(``aemon.detect.trigger_candidates``). A burst without a candidate is lost whatever the
classifier decides, so the share of bursts with one bounds site recall. For every family and
SNR band of the independent generator (``bench/independent``, the 2 s files and seed of
``bench/bench_generalisation.py``), this prints that share for the network alone and for each
trigger setting, and how many candidates the same source proposes in the family's burst-free
background (2 s).

A candidate covers a burst when its onset lies in the benchmark's matching window (100 µs
before to 250 µs after the true onset).

Usage::

    python bench/bench_trigger_coverage.py [--families white,rubbing] [--bands low,mid]
        [--model DIR] [--probability 0.1] [--triggers raw:3,whitened:2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from independent import FAMILIES, FS_HZ, SNR_BANDS, render_parts
from independent.scoring import window_samples

from aemon.detect.onnx_runtime import OnnxDetector, default_model_path
from aemon.detect.signal_detection import detect_signal
from aemon.detect.trigger_setting import Triggers

EVAL_SEED = 1
"""The seed of the files ``bench_generalisation.py`` scores."""


def parse_triggers(text: str) -> list[Triggers]:
    """``"raw:3,whitened:2"`` → the trigger settings."""
    settings = []
    for item in filter(None, text.split(",")):
        kind, _, ratio = item.partition(":")
        if kind not in ("raw", "whitened") or not ratio:
            raise SystemExit(f"--triggers: {item!r} is not raw:RATIO or whitened:RATIO")
        settings.append(Triggers(float(ratio), whitened=kind == "whitened"))
    return settings


def onsets(
    detector: OnnxDetector, signal: np.ndarray, probability: float, triggers: Triggers | None
) -> np.ndarray:
    """Onsets (samples) of every candidate the source proposes in ``signal`` (V)."""
    found = detect_signal(detector, signal, FS_HZ, threshold=probability, triggers=triggers)
    return np.array([round(e.onset_s * FS_HZ) for e in found.events], dtype=np.int64)


def coverage(candidates: np.ndarray, true_onsets: list[int]) -> float:
    """Share of the true onsets with a candidate in the matching window."""
    before, after = window_samples(FS_HZ)
    covered = [np.any((candidates - t >= before) & (candidates - t <= after)) for t in true_onsets]
    return float(np.mean(covered)) if covered else float("nan")


def main(argv: list[str] | None = None) -> int:
    """Print one markdown row per family and band."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--bands", default="low,mid")
    parser.add_argument("--model", help="model directory (default: the shipped one)")
    parser.add_argument("--probability", type=float, default=0.1, help="network candidates")
    parser.add_argument("--triggers", default="raw:3,whitened:2", help="settings to compare")
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per file (2)")
    args = parser.parse_args(argv)
    settings: list[Triggers | None] = [None, *parse_triggers(args.triggers)]
    detector = OnnxDetector(args.model or default_model_path(FS_HZ), site_calibration=False)
    names = ["network"] + [s.label for s in settings if s is not None]
    head = ["family", "band", "bursts"] + [f"{n}: covered / background" for n in names]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for family in args.families.split(","):
        for band in args.bands.split(","):
            if band not in SNR_BANDS:
                raise SystemExit(f"unknown band {band!r}; use {', '.join(SNR_BANDS)}")
            parts = render_parts(family, band, EVAL_SEED, args.duration)
            true = [t.onset_sample for t in parts.truth]
            cells = [family, band, str(len(true))]
            for setting in settings:
                found = onsets(detector, parts.signal, args.probability, setting)
                quiet = onsets(detector, parts.background, args.probability, setting)
                cells.append(f"{coverage(found, true):.2f} / {quiet.size}")
            print("| " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
