"""Evaluate detectors on held-out windows and on continuous streams, the way the live path runs.

Two evaluations, both reported in the model card:

* **windows**: held-out mixed windows (as the thesis evaluated, augmented); binary-map metrics
  (Table 4.3 layout) and event-level precision/recall/F1.
* **stream**: a continuous recording (default: a held-out simulator stream) run through the
  live hit stream (:func:`aemon.train.report.score_live_stream`), then scored the same ways.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from aemon.detect.model_card import INPUT_NAME, OUTPUT_NAME, ModelCard
from aemon.dsp.normalization import NormalizationParams
from aemon.errors import ConfigError
from aemon.events.scoring import (
    EMPTY_COUNTS,
    TrueEvent,
    add_counts,
    event_metrics,
    match_events,
)
from aemon.sim.bursts import burst_spacing_samples
from aemon.sim.simulator import BURST_TYPES, AESimulator, SimConfig
from aemon.train.config import ModelConfig
from aemon.train.data import WindowGenerator
from aemon.train.metrics import MERGE_GAP_US, extract_events, map_metrics

logger = logging.getLogger(__name__)

Predictor = Callable[[np.ndarray], np.ndarray]
"""Normalised float32 ``(B, C, N)`` -> probabilities ``(B, E, M)``."""


class Geometry(NamedTuple):
    """How a model cuts a stream: from a :class:`ModelConfig` or a :class:`ModelCard`."""

    sample_rate_hz: float
    window: int
    hop: int
    decimation: int
    margin_bins: int
    channels: int
    classes: tuple[str, ...]
    normalization: NormalizationParams
    merge_gap_us: float = MERGE_GAP_US

    @classmethod
    def of(cls, model: ModelConfig | ModelCard) -> Geometry:
        """Geometry of a configuration or a card."""
        if isinstance(model, ModelCard):
            return cls(
                model.sample_rate_hz,
                model.window,
                model.hop,
                model.bin_samples,
                model.margin_bins,
                model.channels,
                tuple(model.classes),
                model.normalization_params(),
                model.merge_gap_us,
            )
        return cls(
            model.signal.sample_rate_hz,
            model.signal.window,
            model.hop,
            model.decimation,
            model.margin_bins,
            model.signal.channels,
            model.signal.classes,
            model.normalization,
        )


def onnx_predictor(session: Any) -> Predictor:
    """Wrap an ONNX Runtime session."""

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(session.run([OUTPUT_NAME], {INPUT_NAME: x})[0])

    return predict


def simulator_stream(
    geo: Geometry, seconds: float | None = None, seed: int = 10_000, bursts: int = 800
) -> tuple[np.ndarray, list[TrueEvent], SimConfig]:
    """A held-out simulator stream at the model rate with default SNR range and background.

    The burst rate is raised (so ~``bursts`` bursts arrive in a few seconds) but everything
    else is the simulator default. ``seed`` differs from every training seed.
    """
    spacing_s = burst_spacing_samples(geo.sample_rate_hz) / geo.sample_rate_hz
    rate = min(100.0, 0.4 / spacing_s)
    seconds = seconds or bursts / rate
    config = SimConfig(sample_rate_hz=geo.sample_rate_hz, burst_rate_hz=rate, seed=seed)
    block = AESimulator(config).render(int(seconds * geo.sample_rate_hz))
    names = list(geo.classes)
    truth = []
    for b in block.bursts:
        name = BURST_TYPES[b.burst_type]
        if name not in names:
            raise ConfigError(f"model classes {names} do not include simulator type {name!r}")
        truth.append(TrueEvent(b.onset_sample, b.end_sample, names.index(name), b.channel))
    return block.samples, truth, config


class WindowSet(NamedTuple):
    """Held-out windows: normalised inputs, true maps and events per window."""

    x: np.ndarray
    y: np.ndarray
    events: list[list[TrueEvent]]


def make_window_set(generator: WindowGenerator, count: int, seed: int) -> WindowSet:
    """Draw ``count`` windows with a fixed seed (validation and held-out test sets)."""
    rng = np.random.default_rng(seed)
    x, y, evs = generator.batch(rng, count)
    n = generator.window
    events = [
        [TrueEvent(e.onset, e.end, e.label, e.channel, 0 <= e.onset < n) for e in w] for w in evs
    ]
    return WindowSet(x, y, events)


def score_windows(
    predict: Predictor, windows: WindowSet, geo: Geometry, threshold: float = 0.5, batch: int = 8
) -> tuple[dict[str, Any], np.ndarray]:
    """Metrics over held-out windows; returns the report and the predicted maps."""
    probs = np.concatenate(
        [predict(windows.x[i : i + batch]) for i in range(0, len(windows.x), batch)]
    )
    typed, anytype = EMPTY_COUNTS, EMPTY_COUNTS
    for p, truth in zip(probs, windows.events, strict=True):
        # a single-channel map cannot tell channels apart: score per window on channel 0
        flat = [t._replace(channel=0) for t in truth]
        found = extract_events(
            p, geo.decimation, geo.sample_rate_hz, threshold, merge_gap_us=geo.merge_gap_us
        )
        typed = add_counts(typed, match_events(found, flat, geo.sample_rate_hz, typed=True))
        anytype = add_counts(anytype, match_events(found, flat, geo.sample_rate_hz, typed=False))
    report = {
        "map": map_metrics(windows.y, probs, threshold),
        "events": event_metrics(typed),
        "events_any_type": event_metrics(anytype),
        "windows": len(windows.x),
    }
    return report, probs


def summary_line(report: dict[str, Any]) -> str:
    """One-line summary of a windows/stream report."""
    m, e = report["map"], report["events"]
    med = e["median_onset_error_us"]
    return (
        f"map acc {m['accuracy']:.5f} P {m['precision']:.4f} R {m['recall']:.4f} "
        f"F1 {m['f1']:.4f} AUC {m['roc_auc']:.4f} | events P {e['precision']:.4f} "
        f"R {e['recall']:.4f} F1 {e['f1']:.4f} onset {med:.1f} µs"
    )
