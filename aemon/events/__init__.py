"""AE events: the hit row (one channel's detection, :class:`Hit`), the builder that refines
its onset and computes its AE features, map segmentation, event-level scoring against ground
truth, and multi-channel events: hits of
several channels grouped (grouping), arrival times refined by cross-correlation (arrival),
sources located on a line or a plate (location, location_config) and the wave speed fitted
from pencil-lead breaks (wave_speed). The stored rows (hit, truth, event) are declared once
in records.

Public API (imported on first use):
    refine_delay: :mod:`aemon.events.arrival`
    WaveSpeedFit: :mod:`aemon.events.wave_speed`
    KnownPosition: :mod:`aemon.events.wave_speed`
    PositionError: :mod:`aemon.events.wave_speed`
    fit_wave_speed: :mod:`aemon.events.wave_speed`
    wave_speed_table: :mod:`aemon.events.wave_speed`
    Detection: :mod:`aemon.events.hit`
    Hit: :mod:`aemon.events.hit`
    HitBuilder: :mod:`aemon.events.hit`
    us_to_samples: :mod:`aemon.events.hit`
    HitFeatures: :mod:`aemon.events.features`
    check_bands: :mod:`aemon.events.features`
    dbae_to_volts: :mod:`aemon.events.features`
    default_partial_power_bands: :mod:`aemon.events.features`
    fft_length: :mod:`aemon.events.features`
    hit_features: :mod:`aemon.events.features`
    spectral_features: :mod:`aemon.events.features`
    volts_to_dbae: :mod:`aemon.events.features`
    HitSink: :mod:`aemon.events.grouping`
    HitGrouper: :mod:`aemon.events.grouping`
    LocatedEvent: :mod:`aemon.events.grouping`
    LocatingWriter: :mod:`aemon.events.grouping`
    group_hits: :mod:`aemon.events.grouping`
    only_inside: :mod:`aemon.events.grouping`
    LocationConfig: :mod:`aemon.events.location_config`
    Sensor: :mod:`aemon.events.location_config`
    load_location_config: :mod:`aemon.events.location_config`
    location_config_from_dict: :mod:`aemon.events.location_config`
    location_config_toml: :mod:`aemon.events.location_config`
    Location: :mod:`aemon.events.location`
    STATUSES: :mod:`aemon.events.location`
    locate: :mod:`aemon.events.location`
    locate_linear: :mod:`aemon.events.location`
    locate_planar: :mod:`aemon.events.location`
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

Modules: arrival, features, grouping, hit, location, location_config, records, scoring,
segmentation, wave_speed.
"""

from aemon._lazy import lazy_exports

_EXPORTS = {
    "WaveSpeedFit": "wave_speed",
    "DetectedEvent": "scoring",
    "Detection": "hit",
    "Hit": "hit",
    "HitBuilder": "hit",
    "EventCounts": "scoring",
    "HitSink": "grouping",
    "HitFeatures": "features",
    "HitGrouper": "grouping",
    "KnownPosition": "wave_speed",
    "LocatedEvent": "grouping",
    "LocatingWriter": "grouping",
    "Location": "location",
    "LocationConfig": "location_config",
    "MapSegmenter": "segmentation",
    "PositionError": "wave_speed",
    "STATUSES": "location",
    "Score": "scoring",
    "Sensor": "location_config",
    "TrueEvent": "scoring",
    "add_counts": "scoring",
    "fit_wave_speed": "wave_speed",
    "wave_speed_table": "wave_speed",
    "check_bands": "features",
    "dbae_to_volts": "features",
    "default_partial_power_bands": "features",
    "event_metrics": "scoring",
    "f1_score": "scoring",
    "fft_length": "features",
    "group_hits": "grouping",
    "hit_features": "features",
    "load_location_config": "location_config",
    "locate": "location",
    "locate_linear": "location",
    "locate_planar": "location",
    "location_config_from_dict": "location_config",
    "location_config_toml": "location_config",
    "map_to_detections": "segmentation",
    "match_events": "scoring",
    "only_inside": "grouping",
    "ratio": "scoring",
    "refine_delay": "arrival",
    "spectral_features": "features",
    "us_to_samples": "hit",
    "volts_to_dbae": "features",
}

__all__ = [
    "STATUSES",
    "DetectedEvent",
    "Detection",
    "EventCounts",
    "Hit",
    "HitBuilder",
    "HitFeatures",
    "HitGrouper",
    "HitSink",
    "KnownPosition",
    "LocatedEvent",
    "LocatingWriter",
    "Location",
    "LocationConfig",
    "MapSegmenter",
    "PositionError",
    "Score",
    "Sensor",
    "TrueEvent",
    "WaveSpeedFit",
    "add_counts",
    "check_bands",
    "dbae_to_volts",
    "default_partial_power_bands",
    "event_metrics",
    "f1_score",
    "fft_length",
    "fit_wave_speed",
    "group_hits",
    "hit_features",
    "load_location_config",
    "locate",
    "locate_linear",
    "locate_planar",
    "location_config_from_dict",
    "location_config_toml",
    "map_to_detections",
    "match_events",
    "only_inside",
    "ratio",
    "refine_delay",
    "spectral_features",
    "us_to_samples",
    "volts_to_dbae",
    "wave_speed_table",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
