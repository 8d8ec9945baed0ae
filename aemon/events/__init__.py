"""AE events: the Event row, the builder that refines onsets and computes AE features, map
segmentation, and event-level scoring against ground truth.

Public API (imported on first use):
    Detection: :mod:`aemon.events.event`
    Event: :mod:`aemon.events.event`
    EventBuilder: :mod:`aemon.events.event`
    us_to_samples: :mod:`aemon.events.event`
    HitFeatures: :mod:`aemon.events.features`
    check_bands: :mod:`aemon.events.features`
    dbae_to_volts: :mod:`aemon.events.features`
    default_partial_power_bands: :mod:`aemon.events.features`
    fft_length: :mod:`aemon.events.features`
    hit_features: :mod:`aemon.events.features`
    spectral_features: :mod:`aemon.events.features`
    volts_to_dbae: :mod:`aemon.events.features`
    DetectedEvent: :mod:`aemon.events.scoring`
    EventCounts: :mod:`aemon.events.scoring`
    Score: :mod:`aemon.events.scoring`
    TrueEvent: :mod:`aemon.events.scoring`
    add_counts: :mod:`aemon.events.scoring`
    event_metrics: :mod:`aemon.events.scoring`
    f1_score: :mod:`aemon.events.scoring`
    match_events: :mod:`aemon.events.scoring`
    ratio: :mod:`aemon.events.scoring`
    MapSegmenter: :mod:`aemon.events.segmentation`
    map_to_detections: :mod:`aemon.events.segmentation`

Modules: event, features, scoring, segmentation.
"""

from aemon._lazy import lazy_exports

_EXPORTS = {
    "DetectedEvent": "scoring",
    "Detection": "event",
    "Event": "event",
    "EventBuilder": "event",
    "EventCounts": "scoring",
    "HitFeatures": "features",
    "MapSegmenter": "segmentation",
    "Score": "scoring",
    "TrueEvent": "scoring",
    "add_counts": "scoring",
    "check_bands": "features",
    "dbae_to_volts": "features",
    "default_partial_power_bands": "features",
    "event_metrics": "scoring",
    "f1_score": "scoring",
    "fft_length": "features",
    "hit_features": "features",
    "map_to_detections": "segmentation",
    "match_events": "scoring",
    "ratio": "scoring",
    "spectral_features": "features",
    "us_to_samples": "event",
    "volts_to_dbae": "features",
}

__all__ = [
    "DetectedEvent",
    "Detection",
    "Event",
    "EventBuilder",
    "EventCounts",
    "HitFeatures",
    "MapSegmenter",
    "Score",
    "TrueEvent",
    "add_counts",
    "check_bands",
    "dbae_to_volts",
    "default_partial_power_bands",
    "event_metrics",
    "f1_score",
    "fft_length",
    "hit_features",
    "map_to_detections",
    "match_events",
    "ratio",
    "spectral_features",
    "us_to_samples",
    "volts_to_dbae",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
