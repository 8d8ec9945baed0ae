"""Site learning: a detector for one lab's machine from its background and its PLB check.

``aemon adapt BURSTS… --background BG…`` (ASTM E976 / EN 13477-2 practice: every test already
records the machine running before damage, and a pencil-lead-break sensor check):

1. Every recording is read at the model's rate and split in time: the last
   ``held_out_fraction`` is held back for the guard.
2. The background's detections (the live stream at the candidate probability) show how loud
   the machine's own transients get; bursts are harvested from the burst recordings
   (:func:`~aemon.site.harvest.harvest`) only above that (:data:`OVER_MACHINE_DB` over the
   99th percentile), so a machine impact is never learnt as a burst.
3. The background's detections are negatives; the harvested bursts mixed into the background
   (:mod:`aemon.site.training_set`) give positives, on top of transients too.
4. Gradient-boosted trees (scikit-learn) learn them; their decision threshold is set on
   out-of-fold probabilities of the background's own detections for the false-alarm target,
   and never below 0.5 (:mod:`aemon.site.decision`).
5. The guard (:mod:`aemon.site.guard`) scores the old detector and each new one (one per
   candidate source) on the held-back part and on the independent slice; of those it keeps,
   the best on the held-back part is the result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.detect.onnx_runtime import OnnxDetector
from aemon.detect.site_classifier import SiteClassifier
from aemon.detect.trigger_setting import RAW_TRIGGERS, WHITENED_TRIGGERS, Triggers
from aemon.dsp.normalization import noise_floor
from aemon.errors import ConfigError
from aemon.site.checks import check_background, check_noise_match, warn_short_background
from aemon.site.decision import fit_site_trees
from aemon.site.generator_data import generator_detections
from aemon.site.guard import Verdict, judge, score_detector, slice_scores
from aemon.site.harvest import MIN_SNR_DB, Harvest, harvest, no_bursts_error, recording_volts
from aemon.site.training_set import (
    LabelledDetections,
    detections,
    generic_backgrounds,
    labelled_detections,
    mix_bursts,
)

logger = logging.getLogger(__name__)

__all__ = [
    "SiteLearning",
    "SiteOptions",
    "candidates_name",
    "learn_site",
]

OVER_MACHINE_DB = 6.0
"""Harvested bursts stand this far (dB) above the 99th percentile of the background's events."""
MIN_BURSTS = 4
"""Fewest harvested bursts site learning works with."""
RICHER_MARGIN = 0.02
"""Out-of-fold site F1 by which a later (richer) candidate source of
:attr:`SiteOptions.candidates` must beat an earlier one to rank first (the first ranked wins
a tie of held-back F1): about the run-to-run spread of the benchmark's site F1."""


@dataclass(frozen=True)
class SiteOptions:
    """Settings of site learning.

    Attributes:
        fa_per_min: False-alarm target on the machine's background (events/min).
        candidates: Where detections come from: ``(network probability, STA/LTA triggers)``
            pairs, sparsest first; the triggers add candidates where the network
            proposed nothing (:mod:`aemon.detect.trigger_candidates`), None for none. A
            classifier is learnt for each, and the guard judges each on the same held-back
            mixtures; of those it keeps, the one of best held-back site F1 is the result
            (ties go to the best out-of-fold site F1, each later source less
            :data:`RICHER_MARGIN` per place).
        snr_db_range: Burst peak over the background noise RMS of the mixtures (dB).
        mixtures: Mixtures of each background stretch with the bursts.
        generic_s: Seconds of each generic background (white, pink, brown) the bursts are
            also mixed into, so bursts in other noise stay bursts.
        generator_s: Seconds of the training generator's backgrounds, with its own bursts
            (:mod:`aemon.site.generator_data`), learnt beside the site's, so that bursts
            unlike the site's pencil-lead breaks stay bursts; 0 for none.
        held_out_fraction: Last part (in time) of each recording held back for the guard.
        trees: Boosting stages.
        seed: Seed of all randomness.
    """

    fa_per_min: float = 1.0
    candidates: tuple[tuple[float, Triggers | None], ...] = (
        (0.3, None),
        (0.1, RAW_TRIGGERS),
        (0.1, WHITENED_TRIGGERS),
    )
    snr_db_range: tuple[float, float] = (0.0, 30.0)
    mixtures: int = 3
    generic_s: float = 1.0
    generator_s: float = 12.0
    held_out_fraction: float = 0.3
    trees: int = 150
    seed: int = 0


@dataclass
class SiteLearning:
    """What site learning made and measured.

    Attributes:
        classifier: The new site classifier.
        verdict: The guard's decision with both detectors' scores.
        harvest: The bursts taken from the burst recordings.
        summary: Counts and settings for the card.
    """

    classifier: SiteClassifier
    verdict: Verdict
    harvest: Harvest
    summary: dict[str, Any]


def learn_site(
    model: str | Path,
    burst_paths: Sequence[str | Path],
    background_paths: Sequence[str | Path],
    options: SiteOptions,
    step: Callable[[str], None] = lambda _: None,
) -> SiteLearning:
    """Learn a site classifier for ``model`` and judge it (see the module docstring).

    Args:
        model: The model to start from (directory or shipped name).
        burst_paths: Recordings with bursts (a PLB check, the first minutes of a test).
        background_paths: Recordings of the machine alone.
        options: Settings.
        step: Called with the name of each stage as it starts (progress).

    Raises:
        ConfigError: Hostile or unusable recordings (one line: what was found, what to do).
    """
    rng = np.random.default_rng(options.seed)
    network = OnnxDetector(model, site_calibration=False)
    rate = network.card.sample_rate_hz
    step("reading the background")
    background = [ch for p in background_paths for ch in recording_volts(p, rate)]
    cut = [int(b.size * (1 - options.held_out_fraction)) for b in background]
    train_bg = [b[:c] for b, c in zip(background, cut, strict=True)]
    held_bg = [b[c:] for b, c in zip(background, cut, strict=True)]
    lowest = min(probability for probability, _ in options.candidates)
    machine = [detections(network, b, rate, lowest) for b in train_bg]
    machine_snr = np.concatenate([d.features[:, 0] for d in machine])
    loudest = float(np.percentile(machine_snr, 99)) if machine_snr.size else 0.0
    min_snr = max(MIN_SNR_DB, loudest + OVER_MACHINE_DB)
    check_background(machine, [b.size / rate for b in train_bg], background_paths)
    step("harvesting bursts")
    found = harvest(network, burst_paths, min_snr_db=min_snr)
    if len(found.bursts) < MIN_BURSTS:
        if not found.bursts:
            raise no_bursts_error(min_snr)
        raise ConfigError(
            f"aemon adapt harvested only {len(found.bursts)} clear bursts (at least "
            f"{min_snr:.0f} dB above the noise, above the machine's own transients); record "
            f"10-20 pencil-lead breaks on the specimen"
        )
    check_noise_match(
        background, [ch for p in burst_paths for ch in recording_volts(p, rate)], rate
    )
    order = np.argsort(found.onset_s)
    n_held = max(2, round(len(order) * options.held_out_fraction))
    held_bursts = [found.bursts[i] for i in order[-n_held:]]
    train_bursts = [found.bursts[i] for i in order[:-n_held]]
    noise = float(np.median([noise_floor(b) for b in train_bg]))
    warn_short_background(
        sum(b.size for b in train_bg) / rate, options.fa_per_min, 1 - options.held_out_fraction
    )
    learnt: list[_Learnt] = []
    for candidate in options.candidates:
        step(f"learning from candidates {candidates_name(*candidate)}")
        learnt.append(_learn_at(candidate, network, train_bg, train_bursts, noise, rng, options))
    for one in learnt:
        logger.info(
            "candidates %s: %d detections learnt, decision %.2f, out-of-fold site F1 %.3f,"
            " background %.1f false alarms/min", one.name, one.detections,
            one.classifier.threshold, one.oof_f1, one.oof_fa,
        )  # fmt: skip
    step("checking the new detectors against the old one")
    ranked = [
        one
        for _, one in sorted(enumerate(learnt), key=lambda e: -(e[1].oof_f1 - RICHER_MARGIN * e[0]))
    ]
    verdicts = _guard(model, network, [one.classifier for one in ranked], held_bg, held_bursts,
                      rng, options, lowest)  # fmt: skip
    verdict_of = {one.name: v for one, v in zip(ranked, verdicts, strict=True)}
    kept = [i for i, v in enumerate(verdicts) if v.keep]
    # the best held-back F1 among the kept (the first ranked on a tie), else the first refusal
    pick = max(kept, key=lambda i: verdicts[i].site_new.f1, default=0)
    best, verdict = ranked[pick], verdicts[pick]
    classifier = best.classifier
    summary = {
        "harvest": found.summary(),
        "machine_events_per_s": round(machine_snr.size / max(sum(c for c in cut) / rate, 1e-9), 1),
        "machine_event_snr_db_p99": round(loudest, 1),
        "burst_min_snr_db": round(min_snr, 1),
        "bursts_train_held_out": [len(train_bursts), len(held_bursts)],
        "background_s_train_held_out": [
            round(sum(cut) / rate, 3),
            round(sum(b.size for b in held_bg) / rate, 3),
        ],
        "detections_learnt": best.detections,
        "burst_detections_learnt": best.burst_detections,
        "decision_probability": round(classifier.threshold, 4),
        "background_fa_per_min_out_of_fold": round(best.oof_fa, 2),
        "generic_background_s": options.generic_s,
        "generator_background_s": options.generator_s,
        "candidate_probability": classifier.candidate_probability,
        "trigger_ratio": None if classifier.triggers is None else classifier.triggers.ratio,
        "candidates": best.name,
        "candidates_tried": {
            one.name: {
                "site_f1_out_of_fold": round(one.oof_f1, 4),
                "decision_probability": round(one.classifier.threshold, 4),
                "site_f1_held_back": round(verdict_of[one.name].site_new.f1, 4),
                "guard": verdict_of[one.name].reason or "kept",
            }
            for one in learnt
        },
        "fa_per_min_target": options.fa_per_min,
        "snr_db_range": list(options.snr_db_range),
        "guard": verdict.as_dict(),
    }
    classifier = replace(classifier, info=summary)
    return SiteLearning(classifier, verdict, found, summary)


def candidates_name(probability: float, triggers: Triggers | None) -> str:
    """How the card names a candidate source, e.g. ``"0.1"``, ``"0.1+sta/lta 3"`` or
    ``"0.1+whitened sta/lta 2"``."""
    return f"{probability:g}" + ("" if triggers is None else f"+{triggers.label}")


class _Learnt(NamedTuple):
    name: str
    classifier: SiteClassifier
    oof_f1: float
    oof_fa: float
    detections: int
    burst_detections: int


def _learn_at(
    candidate: tuple[float, Triggers | None],
    network: OnnxDetector,
    train_bg: list[npt.NDArray[np.float64]],
    train_bursts: list[npt.NDArray[np.float64]],
    noise: float,
    rng: np.random.Generator,
    options: SiteOptions,
) -> _Learnt:
    """Learn the classifier on the detections proposed by ``candidate`` (network probability,
    STA/LTA triggers or None)."""
    rate = network.card.sample_rate_hz
    probability, triggers = candidate
    data = labelled_detections(
        network, train_bg, train_bursts, rng, rate, threshold=probability,
        mixtures=options.mixtures, snr_db_range=options.snr_db_range, triggers=triggers,
    )  # fmt: skip
    other = generic_backgrounds(rng, int(options.generic_s * rate), rate, noise)
    general = labelled_detections(network, other, train_bursts, rng, rate, threshold=probability,
                                  mixtures=1, snr_db_range=options.snr_db_range,
                                  triggers=triggers)  # fmt: skip
    others = [general]  # rows that are not the site's: judged by no false-alarm floor
    if options.generator_s > 0:
        others.append(generator_detections(
            network, rng, rate, seconds=options.generator_s, threshold=probability,
            triggers=triggers,
        ))  # fmt: skip
    other_rows = sum(o.is_burst.size for o in others)
    site_rows = np.concatenate([np.ones(data.is_burst.size, bool), np.zeros(other_rows, bool)])
    data = LabelledDetections(
        np.concatenate([data.features, *(o.features for o in others)]),
        np.concatenate([data.is_burst, *(o.is_burst for o in others)]),
        np.concatenate([data.background_only, np.zeros(other_rows, bool)]),
        data.seconds,
        data.bursts_mixed,
        np.concatenate([data.fold, *(o.fold for o in others)]),
    )
    if data.is_burst.sum() < MIN_BURSTS or (~data.is_burst).sum() < 2:
        raise ConfigError(
            "the mixtures gave too few detections to learn from; record a longer background "
            "(at least 10 s) and more pencil-lead breaks"
        )
    trees, decision, oof_fa, oof_f1 = fit_site_trees(
        data, site_rows, trees=options.trees, seed=options.seed, fa_per_min=options.fa_per_min
    )
    classifier = SiteClassifier.from_sklearn(trees, decision, probability, triggers=triggers)
    return _Learnt(
        candidates_name(probability, triggers),
        classifier,
        oof_f1,
        oof_fa,
        int(data.features.shape[0]),
        int(data.is_burst.sum()),
    )


def _guard(
    model: str | Path,
    network: OnnxDetector,
    classifiers: Sequence[SiteClassifier],
    held_bg: list[npt.NDArray[np.float64]],
    held_bursts: list[npt.NDArray[np.float64]],
    rng: np.random.Generator,
    options: SiteOptions,
    probability: float,
) -> list[Verdict]:
    """Score the old detector (with its own site files) and each new one on the same
    held-back mixtures; bursts are mixed in between and on the transients the network shows
    from ``probability``."""
    old = OnnxDetector(model)
    mixtures, rate = [], network.card.sample_rate_hz
    for b in held_bg:
        onsets = detections(network, b, rate, probability).onsets
        mixtures.append(mix_bursts(b, held_bursts, onsets, rng, rate, options.snr_db_range))
    site_old, slice_old = score_detector(old, mixtures, held_bg, rate), slice_scores(old)
    new = OnnxDetector(model, site_calibration=False)  # carries each classifier in turn
    verdicts = []
    for classifier in classifiers:
        new.site_classifier = classifier
        site_new, slice_new = score_detector(new, mixtures, held_bg, rate), slice_scores(new)
        verdicts.append(judge(site_old, site_new, slice_old, slice_new))
        logger.info(
            "guard, candidates %s: %s",
            candidates_name(classifier.candidate_probability, classifier.triggers),
            verdicts[-1],
        )
    return verdicts
