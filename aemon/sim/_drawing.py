"""Small drawing helpers shared by the randomised backgrounds and the machine noise."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """One value log-uniform in ``[low, high]``."""
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def add_with_span(out: F64, wave: F64, at: int, spans: list[tuple[int, int]] | None) -> None:
    """Add ``wave`` into ``out`` from sample ``at`` (clipped to ``out``), and append the
    ``(onset, end)`` span it covers to ``spans`` (when given and not empty)."""
    lo, hi = max(at, 0), min(at + wave.size, out.size)
    if lo < hi:
        out[lo:hi] += wave[lo - at : hi - at]
        if spans is not None:
            spans.append((lo, hi))
