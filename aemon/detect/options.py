"""Detector choices shared by ``aemon detect``, ``monitor`` and ``demo`` (cheap to import)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

DETECTORS = ("nn", "threshold", "cascade")
"""``nn``: neural binary map; ``threshold``: conventional hits; ``cascade``: hits confirmed and
classified by the network."""

BACKEND_CHOICES = ("auto", "onnxruntime", "torch")
"""Inference runtimes: ``auto`` takes torch on CUDA when torch and a GPU are there, else ONNX
Runtime (see :mod:`aemon.detect.backend`)."""


class DetectOptions(NamedTuple):
    """Detector settings.

    Attributes:
        model: Model directory or name; None for the shipped model of the stream's rate.
        detector: One of :data:`DETECTORS`.
        probability: ``nn``: the probability a run of the map must reach to be a hit;
            ``cascade``: the probability a class must reach to confirm a hit (None: the
            model card's). ``--probability`` on the command line.
        threshold_db: ``threshold`` and ``cascade``: hit threshold (dBAE at the sensor;
            None: 40 dBAE). ``--threshold-db`` on the command line.
        x_noise: ``threshold``/``cascade``: threshold as a multiple of the noise RMS instead.
        provider: One of :data:`aemon.onnx_sessions.PROVIDER_CHOICES`.
        threads: Inference threads (None: one per physical core).
        backend: One of :data:`BACKEND_CHOICES`.
    """

    model: str | Path | None = None
    detector: str = "nn"
    probability: float | None = None
    threshold_db: float | None = None
    x_noise: float | None = None
    provider: str = "auto"
    threads: int | None = None
    backend: str = "auto"
