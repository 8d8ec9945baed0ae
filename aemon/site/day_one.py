"""The day-one classifier: a second look at every detection before any site data exist.

``aemon train-classifier`` learns the same gradient-boosted trees as ``aemon adapt --background``
(:mod:`aemon.site.learning`), but from the training generator instead of one lab's recordings:

1. Backgrounds and bursts are drawn from the training generator
   (:mod:`aemon.site.generator_data`).
2. The live stream proposes detections at :attr:`DayOneOptions.candidate_probability`; those of
   a background alone are negatives, and the bursts are mixed into it (half on its own
   transients, :func:`~aemon.site.training_set.labelled_detections`) for positives.
3. The decision for the extra candidates is the burst probability of best out-of-fold F1. A
   detection the network keeps on its own (at its card's threshold) is dropped only below a
   lower bar, ``drop_below``: the out-of-fold probability under which no more than
   :attr:`DayOneOptions.max_network_bursts_dropped` of the network's own burst detections fall.
   The network alone is strong on quiet backgrounds and weak on impulsive ones, and the lower
   bar keeps its quiet-background bursts while the machine's impacts, judged far from any
   burst, go.

Nothing here sees the benchmark's generator (``bench/independent``), which judges the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aemon.detect.onnx_runtime import OnnxDetector
from aemon.detect.site_classifier import SiteClassifier, network_probability, two_bar_keeps
from aemon.site.generator_data import BACKGROUND_KINDS, generator_detections
from aemon.site.learning import best_f1_decision, kept_f1
from aemon.site.training_set import LabelledDetections

logger = logging.getLogger(__name__)

__all__ = ["DayOneOptions", "learn_day_one"]


@dataclass(frozen=True)
class DayOneOptions:
    """Settings of ``aemon train-classifier``.

    Attributes:
        seconds: Background drawn in all (s), shared equally by :data:`BACKGROUND_KINDS`.
        window_s: Length of each background draw (s).
        bursts: Burst waveforms drawn (half randomised, half simulator).
        mixtures: Mixtures of each background draw with the bursts.
        snr_db_range: Burst peak over the background's noise RMS (dB), uniform.
        candidate_probability: Network probability at which detections are proposed.
        max_network_bursts_dropped: Share of the network's own burst detections (those at
            or above its card's threshold) the classifier may drop, out of fold.
        trees: Boosting stages.
        seed: Seed of all randomness.
    """

    seconds: float = 40.0
    window_s: float = 0.25
    bursts: int = 300
    mixtures: int = 2
    snr_db_range: tuple[float, float] = (0.0, 30.0)
    candidate_probability: float = 0.3
    max_network_bursts_dropped: float = 0.03
    trees: int = 150
    seed: int = 0


def learn_day_one(
    model: str | Path,
    options: DayOneOptions,
    step: Callable[[str], None] = lambda _: None,
) -> SiteClassifier:
    """Learn the day-one classifier of ``model`` (see the module docstring).

    Args:
        model: The model whose network proposes the detections (directory or shipped name).
        options: Settings.
        step: Called with the name of each stage as it starts (progress).

    Returns:
        The classifier, with what it learnt from and its out-of-fold scores in ``info``.
    """
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.model_selection import cross_val_predict

    started = time.monotonic()
    rng = np.random.default_rng(options.seed)
    network = OnnxDetector(model, site_calibration=False)
    rate = network.card.sample_rate_hz
    data = generator_detections(
        network, rng, rate, seconds=options.seconds, threshold=options.candidate_probability,
        window_s=options.window_s, bursts=options.bursts, mixtures=options.mixtures,
        snr_db_range=options.snr_db_range, step=step,
    )  # fmt: skip
    step("learning")
    trees = GradientBoostingClassifier(
        n_estimators=options.trees, max_depth=3, subsample=0.5, min_samples_leaf=20,
        random_state=options.seed,
    )  # fmt: skip
    out_of_fold = cross_val_predict(trees, data.features, data.is_burst, cv=3,
                                    method="predict_proba")[:, 1]  # fmt: skip
    trees.fit(data.features, data.is_burst)
    decision, f1 = best_f1_decision(out_of_fold, data.is_burst, data.bursts_mixed)
    network_threshold = network.card.threshold
    network_kept = network_probability(data.features) >= network_threshold
    own = out_of_fold[network_kept & data.is_burst]
    drop_below = float(np.quantile(own, options.max_network_bursts_dropped)) if own.size else 0.0
    drop_below = min(drop_below, decision)
    classifier = SiteClassifier.from_sklearn(trees, decision, options.candidate_probability)
    kept = two_bar_keeps(out_of_fold, data.features, decision, network_threshold, drop_below)
    info = _info(options, data, kept, f1, network_kept, started)
    info["model"] = network.card.name
    return replace(classifier, info=info, network_threshold=network_threshold,
                   drop_below=drop_below)  # fmt: skip


def _info(
    options: DayOneOptions,
    data: LabelledDetections,
    kept: npt.NDArray[np.bool_],
    f1_decision: float,
    network_kept: npt.NDArray[np.bool_],
    started: float,
) -> dict[str, Any]:
    """What the classifier learnt from and how it scored out of fold (for its file)."""
    burst, alone = data.is_burst, data.background_only
    minutes = data.seconds / 60.0

    def f1(keep: npt.NDArray[np.bool_]) -> float:
        return round(kept_f1(keep, burst, data.bursts_mixed), 4)

    own = network_kept & burst
    return {
        "learnt_from": "training generator: " + ", ".join(BACKGROUND_KINDS),
        "options": asdict(options),
        "detections_learnt": int(burst.size),
        "burst_detections_learnt": int(burst.sum()),
        "bursts_mixed": data.bursts_mixed,
        "background_s": round(data.seconds, 3),
        "out_of_fold": {
            "f1_decision_alone": round(f1_decision, 4),
            "f1": f1(kept),
            "network_alone_f1": f1(network_kept),
            "background_fa_per_min": round(float(np.sum(kept & alone)) / minutes, 1),
            "network_alone_background_fa_per_min": round(
                float(np.sum(network_kept & alone)) / minutes, 1
            ),
            "network_bursts_dropped": round(float(np.mean(~kept[own])) if own.any() else 0.0, 4),
        },
        "seconds_to_learn": round(time.monotonic() - started, 1),
    }
