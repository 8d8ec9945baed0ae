"""Site calibration of a model's classifier: a decision, or a gate, for a false-alarm rate.

``aemon calibrate`` and ``monitor --learn-background`` keep the model's classifier (the shipped
day-one one, or a site classifier from ``aemon adapt``). The live stream proposes its
candidates on the background and the classifier judges them:

1. the burst probability it asks for is raised until the candidates it keeps meet the target
   (:func:`classifier_decision_for_rate`: read off the data where the background is long
   enough to count the target, else a tail fit in logit units, as for the network's
   threshold); it is never lowered;
2. where that decision would exceed :data:`~aemon.detect.calibration.GATE_ABOVE` (the
   machine's transients convince the classifier too), the classifier keeps its own decision
   and an SNR gate is set instead, from the SNRs of the candidates it keeps
   (:func:`~aemon.detect.calibration.level_for_rate`), as a conventional hit threshold is set
   above the machine's transients;
3. with fewer than 3 candidates kept there is nothing to set a gate from: the caller then
   calibrates the network alone (:func:`~aemon.detect.calibration.calibrate_threshold`).

Where the classifier needs a gate, the caller calibrates the network alone too and keeps the
calibration with the lower gate (:func:`weaker_gate`; none counts as 0 dB): both meet the
target on the background, and the lower gate keeps the weaker bursts. On the benchmark's
`machine` background the classifier's gate was 18.6 dB against the network's 20.0 dB; on
`rubbing` 37.1 dB against 31.4 dB.
"""

from __future__ import annotations

import datetime as dt
import logging
import math

import numpy as np
import numpy.typing as npt

from aemon.detect.calibration import (
    GATE_ABOVE,
    LEVEL_STEP,
    MAX_THRESHOLD,
    SiteCalibration,
    level_for_rate,
)
from aemon.detect.model_card import ModelCard
from aemon.detect.site_classifier import SiteClassifier

logger = logging.getLogger(__name__)

__all__ = ["calibrate_classifier", "classifier_decision_for_rate", "weaker_gate"]


def calibrate_classifier(
    classifier: SiteClassifier,
    features: npt.NDArray[np.float64],
    snr_db: npt.NDArray[np.float64],
    seconds: float,
    *,
    fa_per_min: float,
    card: ModelCard,
    sources: tuple[str, ...],
) -> SiteCalibration | None:
    """The classifier's decision (or its SNR gate) for ``fa_per_min`` on a background.

    Args:
        classifier: The model's classifier as written (no calibration).
        features: Site features of every candidate the live stream proposed on the background
            for it (its candidate probability and triggers).
        snr_db: The live gate's SNR (dB, :func:`~aemon.detect.hit_streams.peak_snr_db`) of
            each of those candidates, in the same order.
        seconds: Background duration (s).
        fa_per_min: Target false alarms per minute.
        card: The model's card (its threshold is kept).
        sources: Where the background came from (for the record).

    Returns:
        The calibration, or None where fewer than 3 candidates are kept at a decision above
        :data:`~aemon.detect.calibration.GATE_ABOVE` (calibrate the network alone then).
    """
    if features.size:
        probability, kept = classifier.probability(features), classifier.keeps(features)
    else:
        probability, kept = np.zeros(0), np.zeros(0, bool)
    decision, method, measured = classifier_decision_for_rate(
        probability, kept, seconds, fa_per_min, classifier.threshold
    )
    gate = 0.0
    if decision > GATE_ABOVE:
        loud = np.sort(np.asarray(snr_db, np.float64)[kept])[::-1]
        if loud.size < 3:
            return None
        gate, gate_method = level_for_rate(loud, fa_per_min * seconds / 60.0)
        decision, method = classifier.threshold, f"{method}+snr-gate ({gate_method})"
        measured = float(np.count_nonzero(loud >= gate)) / max(seconds / 60.0, 1e-12)
    logger.info(
        "classifier: %d candidates on %.1f s of background, decision %.4f, SNR gate %.1f dB "
        "(%s)", len(features), seconds, decision, gate, method,
    )  # fmt: skip
    return SiteCalibration(
        threshold=card.threshold,
        target_fa_per_min=fa_per_min,
        measured_fa_per_min=round(measured, 3),
        background_s=round(seconds, 3),
        method=f"classifier {method}",
        sources=sources,
        model=card.name,
        created_utc=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        min_snr_db=gate,
        classifier_decision=decision,
    )


def weaker_gate(classifier: SiteCalibration | None, network: SiteCalibration) -> SiteCalibration:
    """Of a classifier's calibration (None where it has none) and the network's alone on the
    same background, the one with the lower SNR gate (dB; the classifier's on a tie)."""
    if classifier is None or network.min_snr_db < classifier.min_snr_db:
        return network
    return classifier


def classifier_decision_for_rate(
    probability: npt.NDArray[np.float64],
    kept: npt.NDArray[np.bool_],
    seconds: float,
    fa_per_min: float,
    decision: float,
) -> tuple[float, str, float]:
    """The burst probability a classifier must ask for so that the background's detections
    it keeps meet ``fa_per_min``; never under its own ``decision``.

    Args:
        probability: The classifier's burst probability of every detection on the background.
        kept: Which of them it keeps at its own bars.
        seconds: Background duration (s).
        fa_per_min: Target false alarms per minute.
        decision: The classifier's own decision (probability).

    Returns:
        ``(decision, method, false alarms per minute at it on this background)``; the method
        is ``"empirical"`` or ``"tail-fit"`` (in logit units, as the network's threshold), or
        ``"above-all"`` where fewer than 3 detections are kept (the decision then sits just
        above the highest).
    """
    minutes = seconds / 60.0
    values = np.sort(np.asarray(probability, np.float64)[kept])[::-1]
    allowed = fa_per_min * minutes
    if values.size <= allowed:
        level, method = decision, "empirical"
    elif values.size < 3:
        level, method = float(values[0]) + LEVEL_STEP, "above-all"
    else:
        p = np.clip(values, 1e-9, 1 - 1e-9)
        z_star, method = level_for_rate(np.log(p / (1 - p)), allowed)
        level = float(1 / (1 + math.exp(-z_star)))
    level = min(max(level, decision), MAX_THRESHOLD)
    return level, method, float(np.count_nonzero(values >= level)) / max(minutes, 1e-12)
