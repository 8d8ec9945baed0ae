"""Per-bin loss weights that give short bursts as much say in training as long ones.

With plain binary cross-entropy every map bin counts once, so a 30 µs burst (3 bins at
1.5625 MHz) weighs a hundredth of a 3 ms one, and a network trained on a mix learns to be
unsure about short, compact bursts. :func:`event_balanced_weights` gives the bins of each
labelled run (a burst) the weight ``reference_bins / run_length``, limited to ``1 … cap``,
so every burst shorter than the reference weighs in the loss like one of the reference length.
Bins outside bursts keep weight 1.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

__all__ = ["MAX_EVENT_WEIGHT", "event_balanced_weights"]

MAX_EVENT_WEIGHT = 8.0
"""Largest weight a bin of a short burst gets."""


def event_balanced_weights(
    target: npt.NDArray[np.floating], reference_bins: float, cap: float = MAX_EVENT_WEIGHT
) -> npt.NDArray[np.float32]:
    """Loss weights for a binary map, larger on the bins of short bursts.

    Args:
        target: Binary map ``(..., bins)`` of 0/1 (any leading shape, e.g. batch × classes).
        reference_bins: Burst length (bins) from which on a burst's bins weigh 1.
        cap: Largest weight.

    Returns:
        float32 weights of ``target``'s shape: 1 outside runs of ones, and
        ``clip(reference_bins / run_length, 1, cap)`` on each run of ones along the last axis.
    """
    y = np.asarray(target) > 0.5
    weights = np.ones(y.shape, np.float32)
    if reference_bins <= 1 or not y.any():
        return weights
    rows = y.reshape(-1, y.shape[-1])
    out = weights.reshape(-1, y.shape[-1])
    edges = np.diff(rows.astype(np.int8), axis=-1, prepend=0, append=0)
    for r in np.flatnonzero(rows.any(axis=-1)):
        starts = np.flatnonzero(edges[r] == 1)
        stops = np.flatnonzero(edges[r] == -1)
        gain = np.clip(reference_bins / (stops - starts), 1.0, cap).astype(np.float32)
        for start, stop, g in zip(starts, stops, gain, strict=True):
            out[r, start:stop] = g
    return weights
