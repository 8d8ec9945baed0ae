"""Conventional burst detectors, tuned the way a careful user would tune them.

Both detectors first band-pass the signal (4th-order Butterworth, 20 kHz to 900 kHz or
0.45·fs, whichever is lower; causal, as acquisition hardware filters) and then:

- :class:`ThresholdDetector`: a hit starts at the first sample with ``|y| > k · noise RMS``,
  where the noise RMS is estimated robustly over the whole file (1.4826 × median absolute
  deviation), and ends when no crossing follows within the hit definition time (HDT); no new
  hit can start during a rearm time after that.
- :class:`StaLtaDetector`: ObsPy's recursive STA/LTA (``obspy.signal.trigger``) on the
  band-passed signal, triggers from ``trigger_onset`` with an on-threshold and an
  off-threshold of ``max(1, on/2)``, with the same rearm time between triggers.

:func:`tune_threshold` and :func:`tune_sta_lta` choose the threshold (and for the threshold
detector also the HDT) that gives the best F1 on a calibration file, which must be a different
file (another seed) from the one the tuned detector is then scored on.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
import scipy.signal

from .scoring import Score, score

logger = logging.getLogger(__name__)

BAND_HZ = (20e3, 900e3)
"""Band-pass edges (Hz); the upper edge is lowered to 0.45·fs when needed."""
K_GRID = tuple(float(k) for k in np.geomspace(2.0, 60.0, 36))
"""Thresholds tried by :func:`tune_threshold` (× noise RMS)."""
HDT_GRID_US = (100.0, 300.0, 800.0)
"""Hit definition times tried by :func:`tune_threshold` (µs)."""
ON_GRID = tuple(float(k) for k in np.geomspace(1.5, 150.0, 36))
"""STA/LTA on-thresholds tried by :func:`tune_sta_lta`."""

Onsets = npt.NDArray[np.int64]


def bandpass(x: npt.NDArray[np.floating], fs: float) -> npt.NDArray[np.float64]:
    """Band-pass ``x`` to :data:`BAND_HZ` (causal 4th-order Butterworth); float64."""
    hi = min(BAND_HZ[1], 0.45 * fs)
    sos = scipy.signal.butter(4, [min(BAND_HZ[0], 0.5 * hi), hi], "bandpass", fs=fs, output="sos")
    return np.asarray(scipy.signal.sosfilt(sos, np.asarray(x, dtype=np.float64)))


def robust_rms(y: npt.NDArray[np.floating]) -> float:
    """Noise RMS estimated as 1.4826 × the median absolute deviation (robust to bursts)."""
    med = float(np.median(y))
    return 1.4826 * float(np.median(np.abs(y - med)))


@numba.njit(cache=False)
def _group_hits(
    crossings: np.ndarray, hdt: int, rearm: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Group sorted crossing indices into hits (start, end exclusive) with HDT and rearm."""
    n = crossings.size
    starts = np.empty(n, np.int64)
    ends = np.empty(n, np.int64)
    k = 0
    i = 0
    locked_until = -1
    while i < n:
        c = crossings[i]
        if c < locked_until:
            i += 1
            continue
        last = c
        i += 1
        while i < n and crossings[i] - last <= hdt:
            last = crossings[i]
            i += 1
        starts[k] = c
        ends[k] = last + 1
        k += 1
        locked_until = last + hdt + rearm
    return starts[:k], ends[:k]


@dataclass(frozen=True)
class ThresholdDetector:
    """Band-pass + fixed threshold at ``k`` × robust noise RMS, with HDT and rearm.

    Attributes:
        k: Threshold as a multiple of the noise RMS of the band-passed signal.
        hdt_us: Hit definition time (µs): a hit ends after this long without a crossing.
        rearm_us: Dead time (µs) after a hit ends before the next can start.
    """

    k: float = 6.0
    hdt_us: float = 300.0
    rearm_us: float = 200.0

    def detect(self, x: npt.NDArray[np.floating], fs: float) -> tuple[Onsets, Onsets]:
        """Return hit ``(onsets, ends)`` in samples (ends exclusive) for signal ``x`` (V)."""
        y = bandpass(x, fs)
        return self.detect_normalised(np.abs(y) / max(robust_rms(y), 1e-30), fs)

    def detect_normalised(self, level: np.ndarray, fs: float) -> tuple[Onsets, Onsets]:
        """Hits on ``|band-passed| / noise RMS`` already computed (for tuning)."""
        crossings = np.flatnonzero(level > self.k).astype(np.int64)
        hdt = max(1, round(self.hdt_us * 1e-6 * fs))
        rearm = max(0, round(self.rearm_us * 1e-6 * fs))
        starts, ends = _group_hits(crossings, hdt, rearm)
        return np.asarray(starts), np.asarray(ends)


def _obspy_trigger() -> Any:
    """Import ``obspy.signal.trigger`` (a benchmark-only dependency: ``pip install .[bench]``).

    ObsPy's import emits a DeprecationWarning on Python >= 3.10 (entry point groups), which
    is ignored here so that callers running with ``-W error`` still work.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import obspy.signal.trigger

    return obspy.signal.trigger


def _sta_lta_cft(y: np.ndarray, fs: float, sta_us: float, lta_us: float) -> np.ndarray:
    """ObsPy's recursive STA/LTA characteristic function of ``y``."""
    recursive_sta_lta = _obspy_trigger().recursive_sta_lta
    nsta = max(2, round(sta_us * 1e-6 * fs))
    nlta = max(nsta + 1, round(lta_us * 1e-6 * fs))
    return np.asarray(recursive_sta_lta(np.ascontiguousarray(y, dtype=np.float64), nsta, nlta))


@dataclass(frozen=True)
class StaLtaDetector:
    """ObsPy recursive STA/LTA on the band-passed signal.

    Attributes:
        on: Trigger-on threshold of STA/LTA.
        sta_us: Short-term window (µs).
        lta_us: Long-term window (µs).
        rearm_us: Dead time (µs) after a trigger ends before the next can start.
    """

    on: float = 4.0
    sta_us: float = 20.0
    lta_us: float = 2000.0
    rearm_us: float = 200.0

    @property
    def off(self) -> float:
        """Trigger-off threshold: ``max(1, on / 2)``."""
        return max(1.0, 0.5 * self.on)

    def characteristic(self, x: npt.NDArray[np.floating], fs: float) -> np.ndarray:
        """STA/LTA of the band-passed ``x`` (computed once per file for tuning)."""
        return _sta_lta_cft(bandpass(x, fs), fs, self.sta_us, self.lta_us)

    def detect(self, x: npt.NDArray[np.floating], fs: float) -> tuple[Onsets, Onsets]:
        """Return trigger ``(onsets, ends)`` in samples (ends exclusive) for ``x`` (V)."""
        return self.detect_cft(self.characteristic(x, fs), fs)

    def detect_cft(self, cft: np.ndarray, fs: float) -> tuple[Onsets, Onsets]:
        """Triggers on a characteristic function from :meth:`characteristic`."""
        trigger_onset = _obspy_trigger().trigger_onset
        pairs = np.asarray(trigger_onset(cft, self.on, self.off), dtype=np.int64).reshape(-1, 2)
        rearm = round(self.rearm_us * 1e-6 * fs)
        keep: list[int] = []
        free_from = -1
        for i, (start, stop) in enumerate(pairs):
            if start >= free_from:
                keep.append(i)
                free_from = int(stop) + 1 + rearm
        kept = pairs[keep]
        return kept[:, 0].copy(), kept[:, 1] + 1


@dataclass(frozen=True)
class Tuned:
    """A tuned detector and its score on the calibration file."""

    detector: ThresholdDetector | StaLtaDetector
    calibration: Score


def tune_threshold(
    x: npt.NDArray[np.floating],
    true_onsets: Sequence[int] | np.ndarray,
    fs: float,
    k_grid: Sequence[float] = K_GRID,
    hdt_grid_us: Sequence[float] = HDT_GRID_US,
) -> Tuned:
    """Choose ``k`` and HDT for the best F1 on a calibration signal ``x`` (V).

    Args:
        x: Calibration signal (V), a different file from the ones scored later.
        true_onsets: Its true onsets (samples).
        fs: Sample rate (Hz).
        k_grid: Thresholds to try (× noise RMS), ascending.
        hdt_grid_us: Hit definition times to try (µs).
    """
    y = bandpass(x, fs)
    level = np.abs(y) / max(robust_rms(y), 1e-30)
    duration_s = len(x) / fs
    best: Tuned | None = None
    for hdt in hdt_grid_us:
        for k in sorted(k_grid):
            det = ThresholdDetector(k=k, hdt_us=hdt)
            s = score(det.detect_normalised(level, fs)[0], true_onsets, fs, duration_s)
            if (
                best is None
                or s.f1 > best.calibration.f1
                or (s.f1 == best.calibration.f1 and _more_conservative(det, best.detector))
            ):
                best = Tuned(det, s)
    assert best is not None
    logger.info("threshold tuned: %s (calibration F1 %.3f)", best.detector, best.calibration.f1)
    return best


def _more_conservative(a: ThresholdDetector | StaLtaDetector, b: object) -> bool:
    if isinstance(a, ThresholdDetector) and isinstance(b, ThresholdDetector):
        return a.k > b.k
    if isinstance(a, StaLtaDetector) and isinstance(b, StaLtaDetector):
        return a.on > b.on
    return False


def tune_sta_lta(
    x: npt.NDArray[np.floating],
    true_onsets: Sequence[int] | np.ndarray,
    fs: float,
    on_grid: Sequence[float] = ON_GRID,
    base: StaLtaDetector | None = None,
) -> Tuned:
    """Choose the STA/LTA on-threshold for the best F1 on a calibration signal ``x`` (V).

    Args:
        x: Calibration signal (V), a different file from the ones scored later.
        true_onsets: Its true onsets (samples).
        fs: Sample rate (Hz).
        on_grid: On-thresholds to try.
        base: Windows and rearm to keep (defaults of :class:`StaLtaDetector` if None).
    """
    base = base or StaLtaDetector()
    cft = base.characteristic(x, fs)
    duration_s = len(x) / fs
    best: Tuned | None = None
    for on in sorted(on_grid):
        det = replace(base, on=on)
        s = score(det.detect_cft(cft, fs)[0], true_onsets, fs, duration_s)
        if best is None or s.f1 >= best.calibration.f1:  # a tie keeps the higher threshold
            best = Tuned(det, s)
        if s.detected == 0:
            break
    assert best is not None
    logger.info("STA/LTA tuned: %s (calibration F1 %.3f)", best.detector, best.calibration.f1)
    return best
