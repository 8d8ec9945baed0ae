"""Arrival-time differences refined by cross-correlation, and the raw history it needs.

The refined onsets (AIC) of two channels each carry an error of a few samples that depends on
the SNR at each sensor, so their difference is noisier than the signals allow. The same wave
reaches every sensor, so the delay between two channels is also where the waveforms match
best: :func:`refine_delay` cross-correlates the start of the first-hit channel's burst with
the other channel over a range of delays (normalised correlation, interpolated ×16) and
gives up when the match is poor, so the caller keeps the AIC delay.

:class:`aemon.dsp.raw_history.RawHistory` keeps the last stretch of raw samples so that a
grouper can look back at hits that became final ``window + hold`` after they were detected.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import numpy.typing as npt

from aemon.dsp.raw_history import RawHistory

logger = logging.getLogger(__name__)

MIN_CORRELATION = 0.5
"""A correlation peak below this keeps the AIC delay."""
PRE_SAMPLES = 8
"""Samples before the first hit's onset included in the correlated stretch."""
_MARGIN = 8  # integer lags computed beyond the allowed range, for the interpolation
_UPSAMPLE = 16  # interpolation factor of the correlation


def _channel(
    history: RawHistory, channel: int, start: int, stop: int
) -> npt.NDArray[np.float64] | None:
    """Samples ``[start, stop)`` of ``channel`` as float64, or None if any is missing."""
    held = history.window(start, stop)
    if held is None or channel >= held.shape[0]:
        return None
    return np.array(held[channel], dtype=np.float64)


def refine_delay(
    history: RawHistory,
    first: tuple[int, int],
    channel: int,
    *,
    lo: float,
    hi: float,
    length: int,
) -> float | None:
    """The delay (samples) of ``channel`` behind the first hit, by cross-correlation.

    Args:
        history: Raw samples.
        first: ``(channel, onset sample)`` of the event's first hit.
        channel: The other channel.
        lo: Shortest delay searched (samples).
        hi: Longest delay searched (samples).
        length: Samples correlated, from :data:`PRE_SAMPLES` before the first onset.

    Returns:
        The delay, or None when a sample is missing or the best normalised correlation is
        below :data:`MIN_CORRELATION`.
    """
    ch_a, s_a = first
    ch_b = channel
    if hi < lo:
        return None
    start, stop = math.floor(lo) - _MARGIN, math.ceil(hi) + _MARGIN  # integer lags computed
    ref = _channel(history, ch_a, s_a - PRE_SAMPLES, s_a - PRE_SAMPLES + length)
    seg = _channel(history, ch_b, s_a - PRE_SAMPLES + start, s_a - PRE_SAMPLES + stop + length)
    if ref is None or seg is None:
        return None
    views = np.lib.stride_tricks.sliding_window_view(seg, length)
    ref = ref - ref.mean()
    views = views - views.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(ref) * np.linalg.norm(views, axis=1)
    corr = (views @ ref) / np.where(norm > 0, norm, np.inf)
    # The correlation of band-limited signals is band-limited: interpolate it (FFT) so a
    # peak between two samples is not lost to the neighbouring cycle of a narrow-band burst.
    import scipy.signal  # slow to import (~1 s); only multi-channel location needs it

    fine = scipy.signal.resample(corr, corr.size * _UPSAMPLE)
    lags = start + np.arange(fine.size) / _UPSAMPLE
    allowed = (lags >= lo) & (lags <= hi)
    k = int(np.argmax(np.where(allowed, fine, -np.inf)))
    if fine[k] < MIN_CORRELATION:
        return None
    return float(lags[k])
