"""Numba kernel of the site features' background stretch, with its plain-numpy twin
(:func:`background_peaks_numpy`, the reference the tests compare it with)."""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt
from numba import njit

logger = logging.getLogger(__name__)

__all__ = ["background_peaks", "background_peaks_numpy"]

MAD_TO_RMS = 0.6745
"""median(|x|) of Gaussian noise over its RMS."""


def background_peaks(
    x: npt.NDArray[np.float64], first: int, frames: int, frame: int, stop: int
) -> tuple[float, float, float, float]:
    """Median and 90th percentile of the frame peaks of ``|diff(x)|`` over ``frames`` frames of
    ``frame`` samples from ``first``, the robust RMS of that stretch's ``|diff(x)|`` (every 4th
    value), and the peak of ``|diff(x)|`` from the stretch's end up to ``stop`` (0 if none).

    ``x[first - 1]`` must exist (the first difference reaches one sample back).
    """
    return _background_peaks_numba(np.ascontiguousarray(x, np.float64), first, frames, frame,
                                   stop)  # fmt: skip


def background_peaks_numpy(
    x: npt.NDArray[np.float64], first: int, frames: int, frame: int, stop: int
) -> tuple[float, float, float, float]:
    """:func:`background_peaks` in plain numpy."""
    step = np.abs(np.diff(np.asarray(x, np.float64)[first - 1 : stop]))
    stretch, event = step[: frames * frame], step[frames * frame :]
    peaks = stretch.reshape(frames, frame).max(axis=1)
    median, p90 = np.quantile(peaks, (0.5, 0.9))
    noise = float(np.median(stretch[::4])) / MAD_TO_RMS
    return float(median), float(p90), noise, float(np.max(event)) if event.size else 0.0


@njit(cache=True, nogil=True)
def _background_peaks_numba(
    x: npt.NDArray[np.float64], first: int, frames: int, frame: int, stop: int
) -> tuple[float, float, float, float]:  # pragma: no cover - compiled
    n = frames * frame
    peaks = np.empty(frames)
    every4 = np.empty((n + 3) // 4)
    k = 0
    for f in range(frames):
        top = 0.0
        for i in range(frame):
            j = f * frame + i
            d = abs(x[first + j] - x[first + j - 1])
            top = max(top, d)
            if j % 4 == 0:
                every4[k] = d
                k += 1
        peaks[f] = top
    event = 0.0
    for j in range(first + n, stop):
        event = max(event, abs(x[j] - x[j - 1]))
    median = np.quantile(peaks, 0.5)
    p90 = np.quantile(peaks, 0.9)
    return median, p90, np.median(every4[:k]) / MAD_TO_RMS, event
