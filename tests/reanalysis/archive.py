"""A small archive for the ``aemon reanalyse`` tests: a pre-whitening model and recordings.

The model is the energy detector of :mod:`tests.detect_models` with the adaptive
pre-whitener of the shipped models switched on (order 8, hops of 256 samples), so the
detector carries the slow state that chunking has to get right. The recordings are noise
(white on one channel, coloured on the other) with bursts of 30-46 dB at random times.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile as sf

from aemon.detect.model_card import write_model_card
from aemon.dsp.normalization import NormalizationParams
from aemon.io.recording import RecordingWriter
from aemon.types import ChannelInfo, Gap, StreamFormat
from tests.detect_models import burst, energy_model

RATE = 100_000.0
REPO = Path(__file__).resolve().parents[2]


def whitening_model(directory: Path) -> Path:
    """The energy model with pre-whitening; returns its directory."""
    card = energy_model(directory, rate=RATE, name="wenergy", window=4096)
    params = NormalizationParams(whiten_order=8, whiten_hop=256, whiten_time_constant_hops=32.0)
    write_model_card(dataclasses.replace(card, normalization=params.to_dict()), directory)
    return directory


def signal(seconds: float, seed: int) -> np.ndarray:
    """Two channels of int16 counts: noise of 10 counts RMS and 20 bursts/s."""
    n = int(seconds * RATE)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, n)) * 10.0
    x[1] = np.convolve(x[1], [0.5, 0.3, 0.2], mode="same") * 1.5  # coloured
    for i, onset in enumerate(rng.integers(1000, n - 1000, size=int(seconds * 20))):
        x[i % 2, onset : onset + 300] += burst(300, rng.uniform(300, 2000), rate=RATE, seed=i)
    return np.round(x).astype(np.int16)


def write_recording(path: Path, x: np.ndarray, gap_at: int | None = None) -> Path:
    """An aemon .h5 recording of ``x`` (with a 500-sample gap at ``gap_at``)."""
    fmt = StreamFormat(RATE, x.shape[0], "int16", 1e-6)
    channels = [ChannelInfo(f"ch{i}") for i in range(x.shape[0])]
    start = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    with RecordingWriter(path, fmt, channels, start_time_utc=start) as rec:
        cut = x.shape[1] if gap_at is None else gap_at
        rec.push(0, x[:, :cut])
        if gap_at is not None:
            rec.gap(Gap(cut, cut + 500, "sequence"))
            rec.push(cut + 500, x[:, cut + 500 :])
    return path


def write_wav(path: Path, x: np.ndarray) -> Path:
    """A 16-bit WAV of ``x``."""
    sf.write(path, x.T, int(RATE), subtype="PCM_16")
    return path


def aemon(*args: str | Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run ``python -m aemon.cli ARGS`` (this checkout) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "aemon.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env(),
        check=False,
    )


def env() -> dict[str, str]:
    """The environment for subprocesses: this checkout first on the path."""
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{path}" if path else str(REPO)}
