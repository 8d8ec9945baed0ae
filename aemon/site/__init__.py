"""Site learning: a detector that knows one lab's machine (``aemon adapt --background``).

From the two recordings every AE test already makes, the machine's background and the
pencil-lead-break sensor check, :func:`learn_site` learns a site classifier
(:class:`~aemon.detect.site_classifier.SiteClassifier`) that gives every neural detection a
second look, and the guard keeps it only when it beats the old detector on held-back site
data and loses nothing on an independent slice.

Public API (imported on first use):
    SiteLearning: :mod:`aemon.site.learning`
    SiteOptions: :mod:`aemon.site.learning`
    learn_site: :mod:`aemon.site.learning`
    Harvest: :mod:`aemon.site.harvest`
    harvest: :mod:`aemon.site.harvest`
    recording_volts: :mod:`aemon.site.harvest`
    Scores: :mod:`aemon.site.guard`
    Verdict: :mod:`aemon.site.guard`
    judge: :mod:`aemon.site.guard`
    score_detector: :mod:`aemon.site.guard`
    slice_scores: :mod:`aemon.site.guard`
    check_background: :mod:`aemon.site.checks`
    check_noise_match: :mod:`aemon.site.checks`
    labelled_detections: :mod:`aemon.site.training_set`
    mix_bursts: :mod:`aemon.site.training_set`
"""

from __future__ import annotations

from aemon._lazy import lazy_exports

_EXPORTS = {
    "SiteLearning": "learning",
    "SiteOptions": "learning",
    "learn_site": "learning",
    "Harvest": "harvest",
    "harvest": "harvest",
    "recording_volts": "harvest",
    "Scores": "guard",
    "Verdict": "guard",
    "judge": "guard",
    "score_detector": "guard",
    "slice_scores": "guard",
    "check_background": "checks",
    "check_noise_match": "checks",
    "labelled_detections": "training_set",
    "mix_bursts": "training_set",
}

__all__ = [
    "Harvest",
    "Scores",
    "SiteLearning",
    "SiteOptions",
    "Verdict",
    "check_background",
    "check_noise_match",
    "harvest",
    "judge",
    "labelled_detections",
    "learn_site",
    "mix_bursts",
    "recording_volts",
    "score_detector",
    "slice_scores",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
