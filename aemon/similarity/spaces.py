"""The spaces events are compared in: AE features, raw-waveform correlation.

* ``features``: the AE feature vector of each event (amplitude in dBAE, rise time, counts,
  energy, peak frequency, centroid, partial powers 1-4), with counts and energy on a log scale
  (``log10(1 + x)``; both span decades), each column standardised to zero mean and unit
  variance over the table. Distances are L1.
* ``correlation``: the raw waveform windows; the distance of two events is
  ``1 - max |ρ(lag)|`` over lags up to :data:`MAX_LAG_US`, where ρ is the normalised
  cross-correlation (Pearson's r at each lag), so onset jitter of a few µs and polarity do not
  matter.
* ``latent``: the latent vectors of an embedding autoencoder
  (:mod:`aemon.similarity.embedding`); distances are L1.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from aemon.events.hit import Hit

logger = logging.getLogger(__name__)

SPACES = ("features", "correlation", "latent")
"""Names of the comparison spaces (``--space``)."""

FEATURE_COLUMNS = (
    "amplitude_dBAE",
    "rise_time_us",
    "counts",
    "energy_eu",
    "peak_freq_kHz",
    "centroid_kHz",
    "pp1_pct",
    "pp2_pct",
    "pp3_pct",
    "pp4_pct",
)
"""Event fields in the feature vector, in order."""

_LOG_COLUMNS = ("counts", "energy_eu")

MAX_LAG_US = 20.0
"""Largest lag (µs) searched by the correlation distance."""


def feature_vectors(events: Sequence[Hit]) -> npt.NDArray[np.float64]:
    """Standardised feature vectors, shape ``(events, len(FEATURE_COLUMNS))``.

    Non-finite values (a feature the detector could not compute) become the column mean, i.e.
    0 after standardisation; a constant column stays 0.
    """
    from sklearn.preprocessing import StandardScaler

    table = np.array(
        [[float(getattr(e, name)) for name in FEATURE_COLUMNS] for e in events], dtype=np.float64
    ).reshape(len(events), len(FEATURE_COLUMNS))
    for j, name in enumerate(FEATURE_COLUMNS):
        if name in _LOG_COLUMNS:
            table[:, j] = np.log10(1.0 + np.maximum(table[:, j], 0.0))
    finite = np.isfinite(table)
    means = np.array(
        [
            table[finite[:, j], j].mean() if finite[:, j].any() else 0.0
            for j in range(table.shape[1])
        ]
    )
    table = np.where(finite, table, means)
    return np.asarray(StandardScaler().fit_transform(table), dtype=np.float64)


def l1_distances(vectors: npt.NDArray[np.floating], index: int | None = None) -> np.ndarray:
    """L1 distances: of row ``index`` to every row (shape ``(n,)``), or all pairs ``(n, n)``."""
    if index is not None:
        return np.asarray(np.abs(vectors - vectors[index]).sum(axis=1), dtype=np.float64)
    from sklearn.metrics import pairwise_distances

    return np.asarray(pairwise_distances(vectors, metric="manhattan"), dtype=np.float64)


def _unit_rows(windows: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    x = np.asarray(windows, dtype=np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def correlation_distances(
    windows: npt.NDArray[np.floating],
    sample_rate_hz: float,
    index: int | None = None,
    max_lag_us: float = MAX_LAG_US,
) -> np.ndarray:
    """``1 - max |ρ(lag)|`` between waveform windows, 0 (same shape) .. 1 (unrelated).

    Args:
        windows: ``(events, samples)`` waveforms, any unit.
        sample_rate_hz: Sample rate (Hz), to turn ``max_lag_us`` into samples.
        index: Only the distances of row ``index`` to every row (shape ``(n,)``); None gives
            the full ``(n, n)`` matrix.
        max_lag_us: Largest lag searched (µs).
    """
    unit = _unit_rows(windows)
    n, length = unit.shape
    max_lag = min(length - 1, max(0, math.ceil(max_lag_us * 1e-6 * sample_rate_hz)))
    size = 1 << math.ceil(math.log2(2 * length))
    spectra = np.fft.rfft(unit, size, axis=1)
    lags = np.r_[0 : max_lag + 1, size - max_lag : size] if max_lag else np.array([0])
    rows = range(n) if index is None else [index]
    out = np.empty((len(rows), n), dtype=np.float64)
    for k, i in enumerate(rows):
        xcorr = np.fft.irfft(spectra[i][None, :] * np.conj(spectra), size, axis=1)[:, lags]
        out[k] = 1.0 - np.clip(np.abs(xcorr).max(axis=1), 0.0, 1.0)
    if index is not None:
        return out[0]
    return np.minimum(out, out.T)  # symmetric to rounding
