"""Detectors: model cards, the inference backend interface, the ONNX runtime, window
scheduling and the stitched probability map, threshold hits, the neural/threshold/cascade
hit streams, the one factory that builds them from options, the one runner that walks a
stream of blocks and gaps into hit sinks (live, files, replay, evaluation), and offline
detection of files.

Public API (imported on first use):
    Backend: :mod:`aemon.detect.backend`
    Detector: :mod:`aemon.detect.backend`
    choose_backend: :mod:`aemon.detect.backend`
    open_with_backend: :mod:`aemon.detect.backend`
    register_backend: :mod:`aemon.detect.backend`
    CascadeHitStream: :mod:`aemon.detect.cascade_hit_stream`
    NeuralHitStream: :mod:`aemon.detect.hit_streams`
    TriggerCandidates: :mod:`aemon.detect.trigger_candidates`
    HitStream: :mod:`aemon.detect.factory`
    OFFLINE_BATCH_WINDOWS: :mod:`aemon.detect.factory`
    make_hit_stream: :mod:`aemon.detect.factory`
    open_model: :mod:`aemon.detect.factory`
    ThresholdHitStream: :mod:`aemon.detect.threshold_hit_stream`
    threshold_hits_to_hits: :mod:`aemon.detect.threshold_hit_stream`
    ModelCard: :mod:`aemon.detect.model_card`
    card_from_dict: :mod:`aemon.detect.model_card`
    card_markdown: :mod:`aemon.detect.model_card`
    metrics_table: :mod:`aemon.detect.model_card`
    read_model_card: :mod:`aemon.detect.model_card`
    write_model_card: :mod:`aemon.detect.model_card`
    DetectRun: :mod:`aemon.detect.offline`
    DetectSummary: :mod:`aemon.detect.offline`
    detect_file: :mod:`aemon.detect.offline`
    detect_path: :mod:`aemon.detect.offline`
    DetectionRunner: :mod:`aemon.detect.runner`
    HitList: :mod:`aemon.detect.runner`
    Fanout: :mod:`aemon.detect.runner`
    ring_items: :mod:`aemon.detect.runner`
    CallbackSink: :mod:`aemon.detect.sinks`
    PublishedEvents: :mod:`aemon.detect.sinks`
    RecordedEvents: :mod:`aemon.detect.sinks`
    OnnxDetector: :mod:`aemon.detect.onnx_runtime`
    default_model_path: :mod:`aemon.detect.onnx_runtime`
    models_dir: :mod:`aemon.detect.onnx_runtime`
    resolve_model: :mod:`aemon.detect.onnx_runtime`
    DetectOptions: :mod:`aemon.detect.options`
    ProbabilityChunk: :mod:`aemon.detect.probability_map`
    ProbabilityMapStream: :mod:`aemon.detect.probability_map`
    rate_mismatch_error: :mod:`aemon.detect.probability_map`
    ThresholdHit: :mod:`aemon.detect.threshold_hits`
    HitDetector: :mod:`aemon.detect.threshold_hits`
    HitDetectorConfig: :mod:`aemon.detect.threshold_hits`
    detect_hits: :mod:`aemon.detect.threshold_hits`
    Window: :mod:`aemon.detect.windows`
    WindowScheduler: :mod:`aemon.detect.windows`
    ReplaySummary: :mod:`aemon.detect.replay`
    replay_file: :mod:`aemon.detect.replay`
    parse_speed: :mod:`aemon.detect.replay`

Modules: backend, cascade_hit_stream, factory, hit_streams, model_card, offline, onnx_runtime,
options, probability_map, replay, runner, sinks, threshold_hit_stream, threshold_hits,
trigger_candidates, windows.
"""

from aemon._lazy import lazy_exports

_EXPORTS = {
    "Backend": "backend",
    "Detector": "backend",
    "choose_backend": "backend",
    "open_with_backend": "backend",
    "register_backend": "backend",
    "ReplaySummary": "replay",
    "replay_file": "replay",
    "parse_speed": "replay",
    "CascadeHitStream": "cascade_hit_stream",
    "DetectOptions": "options",
    "DetectSummary": "offline",
    "DetectRun": "offline",
    "detect_path": "offline",
    "DetectionRunner": "runner",
    "HitList": "runner",
    "Fanout": "runner",
    "ring_items": "runner",
    "CallbackSink": "sinks",
    "PublishedEvents": "sinks",
    "RecordedEvents": "sinks",
    "HitStream": "factory",
    "ThresholdHit": "threshold_hits",
    "HitDetector": "threshold_hits",
    "HitDetectorConfig": "threshold_hits",
    "ThresholdHitStream": "threshold_hit_stream",
    "ModelCard": "model_card",
    "NeuralHitStream": "hit_streams",
    "TriggerCandidates": "trigger_candidates",
    "OFFLINE_BATCH_WINDOWS": "factory",
    "OnnxDetector": "onnx_runtime",
    "ProbabilityChunk": "probability_map",
    "ProbabilityMapStream": "probability_map",
    "Window": "windows",
    "WindowScheduler": "windows",
    "card_from_dict": "model_card",
    "card_markdown": "model_card",
    "default_model_path": "onnx_runtime",
    "detect_file": "offline",
    "detect_hits": "threshold_hits",
    "threshold_hits_to_hits": "threshold_hit_stream",
    "make_hit_stream": "factory",
    "metrics_table": "model_card",
    "models_dir": "onnx_runtime",
    "open_model": "factory",
    "rate_mismatch_error": "probability_map",
    "read_model_card": "model_card",
    "resolve_model": "onnx_runtime",
    "write_model_card": "model_card",
}

__all__ = [
    "OFFLINE_BATCH_WINDOWS",
    "Backend",
    "CallbackSink",
    "CascadeHitStream",
    "DetectOptions",
    "DetectRun",
    "DetectSummary",
    "DetectionRunner",
    "Detector",
    "Fanout",
    "HitDetector",
    "HitDetectorConfig",
    "HitList",
    "HitStream",
    "ModelCard",
    "NeuralHitStream",
    "OnnxDetector",
    "ProbabilityChunk",
    "ProbabilityMapStream",
    "PublishedEvents",
    "RecordedEvents",
    "ReplaySummary",
    "ThresholdHit",
    "ThresholdHitStream",
    "TriggerCandidates",
    "Window",
    "WindowScheduler",
    "card_from_dict",
    "card_markdown",
    "choose_backend",
    "default_model_path",
    "detect_file",
    "detect_hits",
    "detect_path",
    "make_hit_stream",
    "metrics_table",
    "models_dir",
    "open_model",
    "open_with_backend",
    "parse_speed",
    "rate_mismatch_error",
    "read_model_card",
    "register_backend",
    "replay_file",
    "resolve_model",
    "resolve_providers",
    "ring_items",
    "threshold_hits_to_hits",
    "write_model_card",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
