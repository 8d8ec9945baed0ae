"""The site classifier's trees and their decision threshold.

Gradient-boosted trees (scikit-learn) are fitted on the labelled detections of
:mod:`aemon.site.training_set`; the burst probability a detection must reach is set from their
out-of-fold probabilities: the site background's own detections may reach it only at the
false-alarm target, and above that the threshold of best event F1 on the site's rows is taken.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from aemon.site.training_set import LabelledDetections, fit_out_of_fold

__all__ = ["MIN_DECISION", "SUBSAMPLE", "best_f1_decision", "fit_site_trees", "kept_f1"]

MIN_DECISION = 0.5
"""Lowest burst probability the classifier's decision threshold may take."""
SUBSAMPLE = 1.0
"""Share of the rows each boosting stage is fitted on. The decision rests on the two or three
highest out-of-fold probabilities of the background's own detections (the false-alarm floor
of :func:`_decision`), and with stages on random 80 % draws those moved from 0.64 to 1.00
with the draw alone: a white-noise site's decision went from 0.63 to 0.95 and its mid-SNR
recall from 0.86 to 0.62. Fitted on every row, the trees depend on the rows alone."""


def fit_site_trees(
    data: LabelledDetections,
    site_rows: npt.NDArray[np.bool_],
    *,
    trees: int,
    seed: int,
    fa_per_min: float,
) -> tuple[Any, float, float, float]:
    """Fit the boosted trees on ``data`` and set their decision (:func:`_decision`) from their
    out-of-fold probabilities.

    Every stage sees every row (:data:`SUBSAMPLE`), so the trees, and the decision, depend on
    the rows alone and not on a random draw.

    Args:
        data: The labelled detections, with their folds.
        site_rows: Which rows are the site's own (background and mixtures), against the
            generic and generator rows; the decision is scored on those.
        trees: Boosting stages.
        seed: Seed of the trees (with :data:`SUBSAMPLE` 1 it only breaks ties between
            equally good splits).
        fa_per_min: False-alarm target on the background (events/min).

    Returns:
        ``(fitted GradientBoostingClassifier, decision probability, out-of-fold background
        false alarms per minute, out-of-fold site F1)``.
    """
    from sklearn.ensemble import GradientBoostingClassifier

    model = GradientBoostingClassifier(
        n_estimators=trees, max_depth=3, subsample=SUBSAMPLE, random_state=seed
    )
    from sklearn.model_selection import PredefinedSplit

    model, out_of_fold = fit_out_of_fold(
        model, data.features, data.is_burst, PredefinedSplit(data.fold)
    )
    decision, oof_fa, oof_f1 = _decision(out_of_fold, data, site_rows, fa_per_min)
    return model, decision, oof_fa, oof_f1


def _decision(
    probability: npt.NDArray[np.float64],
    data: LabelledDetections,
    site_rows: npt.NDArray[np.bool_],
    fa_per_min: float,
) -> tuple[float, float, float]:
    """The burst probability a detection must reach, the background's false alarms per
    minute at it, and the F1 on the site's rows at it (all from out-of-fold probabilities).

    The background's own detections may reach it at most ``fa_per_min`` times a minute, or
    once in the whole background where that is too short to count the target (the strictest
    rate it can show); among the thresholds that allow, the one of best F1 on the site's rows
    (its background alone and with the bursts mixed in), from :data:`MIN_DECISION` up. The F1
    counts every burst mixed into the site's background, so a burst the candidates missed
    costs recall (candidate probabilities are compared by it).
    """
    negatives = np.sort(probability[data.background_only])[::-1]
    minutes = data.seconds / 60.0
    allowed = max(1, int(fa_per_min * minutes))
    floor = float(negatives[allowed]) + 1e-6 if negatives.size > allowed else MIN_DECISION
    p, positive = probability[site_rows], data.is_burst[site_rows]
    decision, f1 = best_f1_decision(p, positive, max(data.bursts_mixed, int(np.sum(positive))),
                                    floor)  # fmt: skip
    return decision, float(np.sum(negatives >= decision)) / max(minutes, 1e-9), f1


def kept_f1(kept: npt.NDArray[np.bool_], is_burst: npt.NDArray[np.bool_], bursts: int) -> float:
    """Event F1 of keeping the ``kept`` detections, where ``bursts`` counts every burst there
    was, found or not (a burst no detection found costs recall)."""
    return 2 * int(np.sum(is_burst & kept)) / max(bursts + int(np.sum(kept)), 1)


def best_f1_decision(
    probability: npt.NDArray[np.float64],
    is_burst: npt.NDArray[np.bool_],
    bursts: int,
    floor: float = MIN_DECISION,
) -> tuple[float, float]:
    """The burst probability (from ``floor`` and :data:`MIN_DECISION` up) at which keeping the
    detections gives the best F1, and that F1; ``bursts`` counts every burst there was, found
    or not, so a missed one costs recall."""

    def f1_at(t: float) -> float:
        return kept_f1(probability >= t, is_burst, bursts)

    candidates = np.linspace(MIN_DECISION, 0.99, 50)
    f1 = [f1_at(t) if t >= floor else -1.0 for t in candidates]
    decision = float(candidates[int(np.argmax(f1))]) if max(f1) >= 0 else floor
    decision = min(max(decision, floor, MIN_DECISION), 0.999)
    return decision, f1_at(decision)
