"""Site calibration: the decision threshold that meets a false-alarm rate on the user's machine.

A technician records the machine running without crack activity (the background) and asks
for a false-alarm rate, e.g. 1 per minute. :func:`calibrate_threshold` runs the live event
stream over that background with a low threshold, so that every candidate run and its peak
probability are seen, and picks the threshold at which the rate of runs (after the live
segmenter's merging) meets the target:

* where the background holds enough candidates (at least :data:`MIN_TAIL` above the target
  count), the threshold is placed just above the run peak whose rank is the target count;
* otherwise the upper tail of the run peaks, in logit units, is fitted with an exponential
  (a peaks-over-threshold estimate), and the threshold is extrapolated to the target rate:
  a 20 s background can then still set a threshold for 1 false alarm per minute.

A model with a classifier (:mod:`aemon.detect.site_classifier`: the shipped day-one one, or
a site classifier) keeps it (:mod:`aemon.detect.classifier_calibration`); what follows is
how the network is calibrated where there is none.

Where the threshold that meets the target would have to exceed :data:`GATE_ABOVE`, the
background holds transients that the network takes for bursts with full confidence (bearing
and gear impacts, for example). No probability threshold separates those, so the card's
threshold is kept and an amplitude gate is set instead, as a conventional hit threshold is set
above the machine's transients: events whose peak is less than ``min_snr_db`` over the noise
before them are dropped, with ``min_snr_db`` read off (or tail-fitted to) the SNRs of the events
the stream made on the background, the same two ways as the threshold.

The result is written beside the model as ``site_calibration.json``;
:class:`~aemon.detect.onnx_runtime.OnnxDetector` applies it whenever it loads that model, so
``aemon detect`` and ``aemon monitor`` use it without a flag (``--threshold`` still wins).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from aemon.detect.model_card import ModelCard
from aemon.errors import ConfigError, FileFormatError
from aemon.events.segmentation import MapSegmenter

logger = logging.getLogger(__name__)

__all__ = [
    "CALIBRATION_FILE",
    "GATE_ABOVE",
    "SiteCalibration",
    "calibrate_threshold",
    "level_for_rate",
    "read_site_calibration",
    "run_peaks",
    "with_site_calibration",
    "write_site_calibration",
]

CALIBRATION_FILE = "site_calibration.json"
CANDIDATE_THRESHOLD = 0.02
"""Threshold (probability) at which candidate runs are collected."""
MIN_TAIL = 5
"""Candidate runs above the target count needed to read the threshold off the data directly."""
TAIL_RUNS = 20
"""Largest run peaks used for the exponential tail fit."""
MAX_THRESHOLD = 0.9999
GATE_ABOVE = 0.95
"""A threshold above this is not trusted to meet the target: the SNR gate is set instead."""
LEVEL_STEP = 1e-4
"""How far above a background value a level read off the data sits (logit units or dB)."""


@dataclass(frozen=True)
class SiteCalibration:
    """A model's threshold for one site.

    Attributes:
        threshold: Decision threshold (probability) that meets the target.
        min_snr_db: SNR gate (dB of peak over the noise before the event); 0 = none.
        classifier_decision: Burst probability the model's classifier asks for on this
            site (its decision, raised to meet the target); None where the network alone
            decides, at ``threshold`` (a site classifier then keeps its own decision).
        target_fa_per_min: The false-alarm rate asked for (events/min).
        measured_fa_per_min: Events/min the live stream gives at ``threshold`` on the
            background it was calibrated on.
        background_s: Seconds of background used (s).
        method: ``"empirical"`` or ``"tail-fit"`` (see the module docstring), with
            ``"+snr-gate"`` when the gate was set.
        sources: The background files (or ``"live"``).
        model: The model's name.
        created_utc: When it was made (ISO 8601).
    """

    threshold: float
    target_fa_per_min: float
    measured_fa_per_min: float
    background_s: float
    method: str
    sources: tuple[str, ...]
    model: str
    created_utc: str = ""
    min_snr_db: float = 0.0
    classifier_decision: float | None = None


def run_peaks(
    probabilities: npt.NDArray[np.float32], bin_samples: int, rate_hz: float, card: ModelCard
) -> list[float]:
    """Peak probability of every run the live segmenter finds at a low threshold."""
    peaks: list[float] = []
    for group in range(probabilities.shape[0]):
        segmenter = _segmenter(card, bin_samples, rate_hz, CANDIDATE_THRESHOLD)
        runs = segmenter.push(0, probabilities[group]) + segmenter.flush()
        peaks += [d.score for d in runs]
    return sorted(peaks, reverse=True)


def count_runs(
    probabilities: npt.NDArray[np.float32],
    bin_samples: int,
    rate_hz: float,
    card: ModelCard,
    threshold: float,
) -> int:
    """Events the live segmenter makes from ``probabilities`` at ``threshold``."""
    total = 0
    for group in range(probabilities.shape[0]):
        segmenter = _segmenter(card, bin_samples, rate_hz, threshold)
        total += len(segmenter.push(0, probabilities[group]) + segmenter.flush())
    return total


def calibrate_threshold(
    probabilities: npt.NDArray[np.float32],
    bin_samples: int,
    rate_hz: float,
    card: ModelCard,
    *,
    fa_per_min: float,
    sources: tuple[str, ...],
    event_snr_db: Sequence[float] | None = None,
) -> SiteCalibration:
    """The lowest threshold whose false-alarm rate on this background meets ``fa_per_min``
    (and the SNR gate where no threshold up to :data:`GATE_ABOVE` does).

    Args:
        probabilities: Stitched map ``(groups, classes, bins)`` of the background.
        bin_samples: Source samples per bin.
        rate_hz: Source sample rate (Hz).
        card: The model's card (merge gap, classes).
        fa_per_min: Target false alarms per minute (per channel group summed).
        sources: Where the background came from (for the record).
        event_snr_db: SNR (dB, :func:`~aemon.detect.hit_streams.peak_snr_db`) of every
            event the live stream made on the background at the card's threshold with no gate;
            None when not measured (then no gate is set).

    Raises:
        ConfigError: A non-positive target or an empty background.
    """
    if not fa_per_min > 0:
        raise ConfigError(f"--fa-per-min must be positive, got {fa_per_min}")
    seconds = probabilities.shape[-1] * bin_samples / rate_hz
    if seconds <= 0:
        raise ConfigError("the background is empty; record at least 10 s of the machine running")
    minutes = seconds / 60.0
    peaks = run_peaks(probabilities, bin_samples, rate_hz, card)
    allowed = fa_per_min * minutes  # events the target allows on this background
    p = np.clip(peaks, 1e-9, 1 - 1e-9)
    z = np.log(p / (1 - p))  # logit: the tail is fitted in these units
    if len(peaks) < 3:
        threshold, method = card.threshold, "tail-fit"
        logger.warning(
            "the background gave %d candidate runs: too few to fit; keeping the card's "
            "threshold %.3f (record a longer background)",
            len(peaks),
            card.threshold,
        )
    else:
        z_star, method = level_for_rate(z, allowed)
        threshold = float(1 / (1 + math.exp(-z_star)))
    threshold = min(max(threshold, CANDIDATE_THRESHOLD), MAX_THRESHOLD)
    gate = 0.0
    if threshold > GATE_ABOVE and event_snr_db is not None and len(event_snr_db) >= 3:
        threshold = card.threshold
        snr = np.sort(np.asarray(event_snr_db, dtype=np.float64))[::-1]
        gate, gate_method = level_for_rate(snr, allowed)
        method += f"+snr-gate ({gate_method})"
        measured = float(np.count_nonzero(snr >= gate)) / minutes
    else:
        measured = count_runs(probabilities, bin_samples, rate_hz, card, threshold) / minutes
    return SiteCalibration(
        threshold=threshold,
        target_fa_per_min=fa_per_min,
        measured_fa_per_min=round(measured, 3),
        background_s=round(seconds, 3),
        method=method,
        sources=sources,
        model=card.name,
        created_utc=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        min_snr_db=gate,
    )


def level_for_rate(values: npt.NDArray[np.float64], allowed: float) -> tuple[float, str]:
    """The level (in the units of ``values``, sorted descending) that at most ``allowed`` of
    them reach: read off the data when the tail is long enough, else extrapolated with an
    exponential fit to the largest :data:`TAIL_RUNS` values. Returns ``(level, method)``."""
    if len(values) >= allowed + MIN_TAIL and allowed >= 1:
        k = math.floor(allowed)  # keep at most k: sit just above the (k+1)-th largest
        return float(values[k]) + LEVEL_STEP, "empirical"
    m = min(len(values), TAIL_RUNS)
    u = float(values[m - 1])
    beta = max(float(np.mean(values[: m - 1] - u)), 1e-3)
    return u + beta * math.log(m / max(allowed, 1e-12)), "tail-fit"


def write_site_calibration(calibration: SiteCalibration, model_dir: str | Path) -> Path:
    """Write ``site_calibration.json`` beside the model (atomically); returns its path.

    Raises:
        ConfigError: The model directory cannot be written (e.g. a shipped model in a
            read-only install).
    """
    path = Path(model_dir) / CALIBRATION_FILE
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(asdict(calibration), indent=2) + "\n", "utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise ConfigError(
            f"cannot write {path} ({exc.strerror}); copy the model directory somewhere "
            "writable and pass it with --model"
        ) from None
    return path


def read_site_calibration(model_dir: str | Path) -> SiteCalibration | None:
    """The site calibration beside a model, or None.

    Raises:
        FileFormatError: The file exists but is not a calibration.
    """
    path = Path(model_dir) / CALIBRATION_FILE
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text("utf-8"))
        raw["sources"] = tuple(raw.get("sources", ()))
        return SiteCalibration(**raw)
    except (OSError, ValueError, TypeError) as exc:
        raise FileFormatError(
            f"{path} is not a site calibration ({exc}); delete it or run aemon calibrate again"
        ) from None


def with_site_calibration(card: ModelCard, model_dir: str | Path) -> ModelCard:
    """``card`` with the calibrated threshold of ``model_dir``, if it has one."""
    calibration = read_site_calibration(model_dir)
    if calibration is None:
        return card
    decision = calibration.classifier_decision
    logger.warning(
        "%s: using the site calibration %s (%s, SNR gate %.1f dB, %.3g false "
        "alarms/min on %s, made %s)",
        card.name,
        Path(model_dir) / CALIBRATION_FILE,
        f"threshold {calibration.threshold:.4f}"
        if decision is None
        else f"classifier decision {decision:.4f}",
        calibration.min_snr_db,
        calibration.target_fa_per_min,
        ", ".join(calibration.sources) or "?",
        calibration.created_utc or "?",
    )
    return replace(card, threshold=calibration.threshold, min_snr_db=calibration.min_snr_db)


def _segmenter(card: ModelCard, bin_samples: int, rate_hz: float, on: float) -> MapSegmenter:
    return MapSegmenter(
        card.classes,
        bin_samples,
        rate_hz,
        on=on,
        merge_gap_us=card.merge_gap_us,
        per_class=False,
    )
