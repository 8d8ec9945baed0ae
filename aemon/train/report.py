"""Held-out evaluation of detectors (ONNX Runtime or any predictor; no torch needed).

Used by ``aemon evaluate`` and at the end of ``aemon train``: held-out windows and, where
there is one, a continuous stream; writes ``roc.png``, ``examples.png`` and
``evaluation.json``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from aemon.detect.backend import Detector
from aemon.detect.model_card import CARD_FILE, ONNX_FILE, read_model_card, write_model_card
from aemon.detect.onnx_runtime import OnnxDetector
from aemon.detect.signal_detection import detect_signal
from aemon.errors import AemonError
from aemon.events.scoring import DetectedEvent, TrueEvent, event_metrics, match_events
from aemon.onnx_sessions import open_session
from aemon.train.config import ModelConfig, model_config_from_dict
from aemon.train.data import Augmentation, WindowGenerator, binary_map
from aemon.train.data_sources import build_sources
from aemon.train.evaluate import (
    Geometry,
    Predictor,
    WindowSet,
    make_window_set,
    onnx_predictor,
    score_windows,
    simulator_stream,
    summary_line,
)
from aemon.train.labelled import LabelledSource
from aemon.train.metrics import map_metrics
from aemon.train.plots import plot_examples, plot_roc

logger = logging.getLogger(__name__)

TEST_SEED = 9_000_017
THRESHOLD_SEED = 9_000_029
THRESHOLDS = tuple(round(0.15 + 0.05 * i, 2) for i in range(14))
"""Candidate decision thresholds (probability) for :func:`choose_event_threshold`."""
EVALUATION_FILE = "evaluation.json"


def measure_speed(
    predict: Predictor,
    geo: Geometry,
    seconds: float = 2.0,
    batch: int = 4,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """× real time for one channel: signal seconds processed per second of ``clock``.

    With ``clock=time.thread_time`` and a one-thread ONNX Runtime session this is the work
    done by one core, which a busy machine disturbs far less than wall-clock time.
    """
    x = (
        np.random.default_rng(0)
        .standard_normal((batch, geo.channels, geo.window))
        .astype(np.float32)
    )
    predict(x)  # warm-up
    runs, start, wall = 0, clock(), time.perf_counter()
    while time.perf_counter() - wall < seconds or runs < 2:
        predict(x)
        runs += 1
    return runs * batch * geo.window / geo.sample_rate_hz / (clock() - start)


def evaluate_predictor(
    predict: Predictor,
    config: ModelConfig,
    data: list[str],
    out: Path | None,
    windows: int = 128,
    stream_bursts: int = 800,
    title: str = "",
    model_dir: Path | None = None,
    choose_threshold: bool = False,
    open_detector: Callable[[Path], Detector] | None = None,
) -> dict[str, Any]:
    """Held-out evaluation (windows and, where there is one, a continuous stream).

    The windows go through ``predict``; the streams go through the live path
    (:func:`~aemon.detect.signal_detection.detect_signal` on the exported model in
    ``model_dir``: preprocessing, windows, stitching, segmentation and event building exactly as
    ``aemon monitor`` runs them), so the stream numbers are the numbers a user gets. Without
    ``model_dir`` only the windows are evaluated. ``open_detector(model_dir)`` opens the model
    for the streams instead of ONNX Runtime (e.g. the torch backend on a GPU).

    With ``choose_threshold`` the decision threshold is first chosen on a separate set of
    windows (:func:`choose_event_threshold`) and written into the card in ``model_dir``.

    Writes ``roc.png``, ``examples.png`` and ``evaluation.json`` into ``out`` when given.
    """
    geo = Geometry.of(config)
    sources = build_sources(data, config, Augmentation(), split="test")
    generator = WindowGenerator(
        config, sources, window=config.signal.window, augmentation=Augmentation()
    )
    report: dict[str, Any] = {}
    if choose_threshold:
        generator.new_epoch(np.random.default_rng(THRESHOLD_SEED))
        tuning = make_window_set(generator, windows, THRESHOLD_SEED)
        report["threshold"] = choose_event_threshold(predict, tuning, geo)
        if model_dir is not None:  # the live path reads the threshold from the card
            card = read_model_card(model_dir)
            card.threshold = report["threshold"]["chosen"]
            write_model_card(card, model_dir)
    generator.new_epoch(np.random.default_rng(TEST_SEED))
    test = make_window_set(generator, windows, TEST_SEED)
    threshold = report["threshold"]["chosen"] if choose_threshold else 0.5
    win_report, probs = score_windows(predict, test, geo, threshold=threshold)
    report["heldout_windows"] = win_report
    notes = [
        f"heldout_windows: {windows} mixed windows of {geo.window} samples from "
        f"{', '.join(data or ['sim'])} (held-out seed/files, augmented as in training)"
    ]
    logger.info("held-out windows: %s", summary_line(win_report))
    curves = {"windows": (test.y, probs, win_report["map"]["roc_auc"])}
    streams = []
    if any(d == "sim" for d in data or ["sim"]):
        signal, truth, sim = simulator_stream(geo, bursts=stream_bursts)
        streams.append(("simulator stream", signal, truth))
        notes.append(
            f"heldout_stream: {signal.shape[1] / geo.sample_rate_hz:.2f} s continuous simulator "
            f"stream (seed {sim.seed}, default SNR {sim.snr_db_range[0]:g}-"
            f"{sim.snr_db_range[1]:g} dB and background, {sim.burst_rate_hz:g} bursts/s), "
            "run through the live hit stream (aemon.detect.signal_detection)"
        )
    for source in sources:
        if isinstance(source, LabelledSource):
            for part in source.parts:
                truth_l = [_true(e) for e in part.events]
                streams.append((f"recording {part.name}", part.signal, truth_l))
    detector: Detector | None = None
    if model_dir is not None:  # opened after the threshold went into the card
        detector = (open_detector or OnnxDetector)(model_dir)
    for name, signal, truth in streams:
        if signal.shape[1] < geo.window or detector is None:
            continue
        rep, labels, probabilities = score_live_stream(detector, signal, truth, geo)
        report["heldout_stream" if name == "simulator stream" else name] = rep
        logger.info("%s: %s", name, summary_line(rep))
        if name == "simulator stream":
            curves["stream"] = (labels, probabilities, rep["map"]["roc_auc"])
    report["notes"] = "; ".join(notes) + "."
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        plot_roc(curves, out / "roc.png", f"{title or config.name}: ROC on held-out data")
        with_bursts = [i for i, ev in enumerate(test.events) if ev][:4] or [0]
        plot_examples(
            test.x[with_bursts],
            test.y[with_bursts],
            probs[with_bursts],
            geo.classes,
            geo.sample_rate_hz,
            out / "examples.png",
            f"{title or config.name}: held-out windows, truth vs prediction",
        )
        (out / EVALUATION_FILE).write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    return report


def choose_event_threshold(predict: Predictor, windows: WindowSet, geo: Geometry) -> dict[str, Any]:
    """The threshold of :data:`THRESHOLDS` with the best event F1 (any type) on ``windows``."""
    probs = np.concatenate([predict(windows.x[i : i + 8]) for i in range(0, len(windows.x), 8)])

    def cached(_x: np.ndarray) -> np.ndarray:
        return probs

    f1 = {}
    for threshold in THRESHOLDS:
        report, _ = score_windows(cached, windows, geo, threshold, len(probs))
        f1[threshold] = report["events_any_type"]["f1"]
    chosen = max(f1, key=lambda t: (f1[t], t))  # ties: the higher, quieter threshold
    logger.info("decision threshold %.2f (event F1 %.4f on tuning windows)", chosen, f1[chosen])
    return {"chosen": chosen, "event_f1_by_threshold": {str(k): v for k, v in f1.items()}}


def score_live_stream(
    detector: Detector, signal: np.ndarray, truth: list[TrueEvent], geo: Geometry
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Detect with the live hit stream and score events and map against the truth.

    Returns:
        The report (``map``, ``events``, ``events_any_type``, ``seconds``), the true binary
        maps and the stitched probability maps (``(channels, classes, bins)`` each).
    """
    found = detect_signal(detector, signal, geo.sample_rate_hz, keep_map=True)
    assert found.probabilities is not None
    probabilities = found.probabilities
    n_ch, bins = signal.shape[0], probabilities.shape[-1]
    covered = bins * found.bin_samples
    labels = np.stack(
        [
            binary_map(
                [t for t in truth if t.channel == c], covered, found.bin_samples, len(geo.classes)
            )
            for c in range(n_ch)
        ]
    )
    names = list(geo.classes)
    detected = [
        DetectedEvent(
            e.sample_index,
            e.sample_index,
            names.index(e.type) if e.type in names else -1,
            e.score,
            e.channel,
        )
        for e in found.events
    ]
    scored = [t._replace(counted=t.counted and 0 <= t.onset < covered) for t in truth]
    typed = match_events(detected, scored, geo.sample_rate_hz, typed=True)
    anytype = match_events(detected, scored, geo.sample_rate_hz, typed=False)
    report = {
        "map": map_metrics(labels, probabilities, detector.card.threshold),
        "events": event_metrics(typed),
        "events_any_type": event_metrics(anytype),
        "seconds": signal.shape[1] / geo.sample_rate_hz,
    }
    return report, labels, probabilities


def _true(e: Any) -> TrueEvent:
    return TrueEvent(e.onset, e.end, e.label, e.channel)


def evaluate_model_dir(
    model_dir: Path, data: list[str], out: Path | None, windows: int
) -> dict[str, Any]:
    """``aemon evaluate``: evaluate a model directory's ONNX model on held-out data."""
    card = read_model_card(model_dir)
    onnx_path = Path(model_dir) / ONNX_FILE
    if not onnx_path.is_file():
        raise AemonError(f"{model_dir} has no {ONNX_FILE}; export or retrain the model")
    config = model_config_from_dict(card.architecture, f"{model_dir}/{CARD_FILE}")
    predict = onnx_predictor(open_session(onnx_path))
    return evaluate_predictor(
        predict,
        config,
        data,
        out if out else Path(model_dir),
        windows,
        title=card.name,
        model_dir=Path(model_dir),
    )
