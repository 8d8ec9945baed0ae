"""Checks of what a technician gives ``aemon adapt --background``, each saying in one line what
was found and what to record instead."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.signal import welch

from aemon.detect.site_features import BAND_EDGES_HZ, FEATURE_NAMES
from aemon.errors import ConfigError
from aemon.site.training_set import Detections

logger = logging.getLogger(__name__)

__all__ = ["band_levels_db", "check_background", "check_noise_match", "warn_short_background"]

BURST_LIKE_SCORE = 0.9
"""Network probability of a background detection that looks like a burst."""
BURST_LIKE_SNR_DB = 30.0
"""Peak over the noise (dB) of a background detection that looks like a burst."""
MAX_NOISE_MISMATCH_DB = 12.0
"""Largest difference (dB) between the background's and the burst recordings' noise in any
band before ``aemon adapt`` refuses them as recordings of different machines or sensors."""
MIN_COMPARED_S = 0.05
"""Burst recordings (s) needed to compare the noise at all."""

_SNR = FEATURE_NAMES.index("snr_db")
_LOGIT = FEATURE_NAMES.index("score_logit")


def check_background(
    found: Sequence[Detections], seconds: Sequence[float], paths: Sequence[str | Path]
) -> int:
    """Warn when the background holds burst-like detections; returns how many.

    A burst-like detection scores at least :data:`BURST_LIKE_SCORE` and peaks at least
    :data:`BURST_LIKE_SNR_DB` over the noise before it: what a pencil-lead break or a crack
    looks like, and what a background of the machine alone should not hold.
    """
    rows = [d.features for d in found if d.features.size]
    if not rows:
        return 0
    features = np.concatenate(rows)
    logit = np.log(BURST_LIKE_SCORE / (1 - BURST_LIKE_SCORE))
    like = features[(features[:, _LOGIT] >= logit) & (features[:, _SNR] >= BURST_LIKE_SNR_DB)]
    if like.shape[0]:
        lo, hi = np.percentile(like[:, _SNR], [5, 95])
        logger.warning(
            "the background (%s) holds %d burst-like events at %.0f-%.0f dB over its noise in "
            "%.1f s; is this a test recording? Record the machine running before any damage",
            ", ".join(str(p) for p in paths), like.shape[0], lo, hi, sum(seconds),
        )  # fmt: skip
    return int(like.shape[0])


def band_levels_db(x: npt.NDArray[np.float64], rate_hz: float) -> npt.NDArray[np.float64]:
    """Noise power in the site-feature bands (:data:`BAND_EDGES_HZ`), dB re 1 V² (the median
    over 1024-sample frames, so sparse bursts and transients barely move it)."""
    f, psd = welch(x, fs=rate_hz, nperseg=min(1024, x.size), average="median")
    edges = np.minimum(np.asarray(BAND_EDGES_HZ), 0.5 * rate_hz)
    levels = []
    for lo, hi in itertools.pairwise(edges):
        sel = (f >= lo) & (f < hi)
        levels.append(10 * np.log10(max(float(np.sum(psd[sel])), 1e-30)) if sel.any() else 0.0)
    return np.asarray(levels)


def check_noise_match(
    background: Sequence[npt.NDArray[np.float64]],
    burst_recordings: Sequence[npt.NDArray[np.float64]],
    rate_hz: float,
) -> float:
    """Refuse a background that does not sound like the noise between the bursts (band levels
    of :func:`band_levels_db` of the background and of the burst recordings compared).

    Returns:
        The largest band difference (dB).

    Raises:
        ConfigError: A band differs by more than :data:`MAX_NOISE_MISMATCH_DB`.
    """
    quiet = [b for b in burst_recordings if b.size >= 1024]
    if sum(b.size for b in quiet) < MIN_COMPARED_S * rate_hz or not background:
        logger.warning("the burst recordings are too short to compare their noise with the "
                       "background's")  # fmt: skip
        return 0.0
    bg = band_levels_db(np.concatenate(background), rate_hz)
    between = band_levels_db(np.concatenate(quiet), rate_hz)
    diff = between - bg
    worst = int(np.argmax(np.abs(diff)))
    if abs(diff[worst]) > MAX_NOISE_MISMATCH_DB:
        edges = np.minimum(np.asarray(BAND_EDGES_HZ), 0.5 * rate_hz) / 1e3
        raise ConfigError(
            f"the background does not sound like the noise between the bursts: "
            f"{diff[worst]:+.0f} dB at {edges[worst]:.0f}-{edges[worst + 1]:.0f} kHz; record "
            "the background on the same machine, sensor and gain, just before the PLB check"
        )
    return float(np.max(np.abs(diff)))


def warn_short_background(seconds: float, fa_per_min: float, learnt_fraction: float) -> bool:
    """Warn, once for all candidate sources, when ``seconds`` (s) of background learnt from
    are too short to show ``fa_per_min`` (false alarms/min); returns whether it warned.
    ``learnt_fraction`` of a recording is learnt from (the rest is held back), which sets the
    length to record.

    The decision then allows one false alarm in the whole background
    (:func:`aemon.site.decision.fit_site_trees`), a looser rate than asked for.
    """
    if fa_per_min * seconds / 60.0 >= 1.0:
        return False
    logger.warning(
        "%.1f s of background cannot show %g false alarm(s)/min; the decision allows one false "
        "alarm in it (%.0f /min); record at least %.0f s of the machine alone to reach %g /min",
        seconds, fa_per_min, 60.0 / max(seconds, 1e-9), 60.0 / fa_per_min / learnt_fraction,
        fa_per_min,
    )  # fmt: skip
    return True
