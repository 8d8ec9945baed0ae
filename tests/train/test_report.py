"""Model evaluation runs the live path: the same events as ``aemon detect`` on the same signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aemon.detect.model_card import read_model_card
from aemon.detect.offline import detect_file
from aemon.detect.onnx_runtime import OnnxDetector
from aemon.detect.signal_detection import detect_signal
from aemon.events.scoring import TrueEvent
from aemon.io.event_csv import read_event_csv
from aemon.io.recording import RecordingWriter
from aemon.train.evaluate import Geometry
from aemon.train.metrics import extract_events
from aemon.train.report import score_live_stream
from aemon.types import ChannelInfo, StreamFormat
from tests.detect_models import RATE, burst, energy_model

ONSETS = [20_000, 61_000, 99_500, 140_017]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "energy"
    energy_model(path)
    return path


def test_evaluation_and_detect_give_the_same_events(model: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((1, 180_000)) * 0.01).astype(np.float32)
    for i, onset in enumerate(ONSETS):
        x[0, onset : onset + 300] += burst(300, 1.0, seed=i).astype(np.float32)
    path = tmp_path / "stream.h5"
    fmt = StreamFormat(RATE, 1, "float32", 1.0)
    with RecordingWriter(path, fmt, [ChannelInfo("ch0")]) as writer:
        writer.push(0, x)
    csv = tmp_path / "events.csv"
    detect_file(path, csv, model=model)
    offline = read_event_csv(csv)

    card = read_model_card(model)
    geo = Geometry.of(card)
    truth = [TrueEvent(t, t + 300, 0) for t in ONSETS]
    report, labels, probabilities = score_live_stream(OnnxDetector(model), x, truth, geo)

    assert [e.sample_index for e in offline] == sorted(
        e.sample_index for e in offline
    )  # sanity: detect writes in onset order
    assert report["events_any_type"]["detected"] == len(offline)
    assert report["events_any_type"]["recall"] == 1.0
    assert labels.shape == probabilities.shape
    # the onsets the evaluation matched are the ones `aemon detect` wrote
    onsets = sorted(e.sample_index for e in offline)
    assert all(any(abs(o - t) < 0.00025 * RATE for o in onsets) for t in ONSETS)


def test_the_window_evaluation_reads_runs_as_aemon_detect(model: Path, tmp_path: Path) -> None:
    """``extract_events`` (held-out windows, threshold choice) finds the runs whose events
    ``aemon detect`` writes: the same detector onsets, classes and scores."""
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((1, 180_000)) * 0.01).astype(np.float32)
    for i, onset in enumerate(ONSETS):
        n = 300 if i % 2 else 1200
        x[0, onset : onset + n] += burst(n, 1.0, seed=i).astype(np.float32)
    x[0, ONSETS[1] + 340 : ONSETS[1] + 400] += 0.5  # a short second run within the merge gap
    path = tmp_path / "stream.h5"
    with RecordingWriter(path, StreamFormat(RATE, 1, "float32", 1.0), [ChannelInfo("a")]) as w:
        w.push(0, x)
    csv = tmp_path / "events.csv"
    detect_file(path, csv, model=model)
    offline = read_event_csv(csv)

    card = read_model_card(model)
    found = detect_signal(OnnxDetector(model), x, RATE, keep_map=True)
    assert found.probabilities is not None
    runs = extract_events(
        found.probabilities[0], found.bin_samples, RATE, card.threshold,
        merge_gap_us=card.merge_gap_us,
    )  # fmt: skip
    assert len(offline) == len(ONSETS)
    merged = next(r for r in runs if r.onset <= ONSETS[1] < r.end)
    assert merged.end > ONSETS[1] + 400  # the short second run joined its burst
    assert [round(e.onset_s * RATE) for e in offline] == [r.onset for r in runs]
    assert [e.type for e in offline] == [card.classes[r.label] for r in runs]
    assert [e.score for e in offline] == pytest.approx([r.score for r in runs], abs=1e-4)
