"""The live stream's site features: the same however the stream is cut into blocks, and
counting the candidates just before each one."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aemon.detect.onnx_runtime import OnnxDetector
from aemon.detect.signal_detection import detect_signal
from aemon.detect.site_features import FEATURE_NAMES, RECENT_S
from tests.detect_models import energy_model
from tests.site.site_data import RATE, machine


def _features(model: Path, x: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    found: list[tuple[int, np.ndarray]] = []
    detect_signal(OnnxDetector(model), x, RATE, block_samples=block,
                  feature_listener=lambda _e, f, onset: found.append((onset, f)))  # fmt: skip
    found.sort(key=lambda item: item[0])
    return np.array([o for o, _ in found]), np.array([f for _, f in found])


def test_features_do_not_depend_on_the_blocks_and_count_recent_candidates(
    tmp_path: Path,
) -> None:
    energy_model(tmp_path / "energy", window=4096)
    x = machine(np.random.default_rng(2), 0.3, impacts_per_s=400.0)
    onsets, features = _features(tmp_path / "energy", x, 65536)
    again_onsets, again = _features(tmp_path / "energy", x, 10007)
    np.testing.assert_array_equal(again_onsets, onsets)
    np.testing.assert_allclose(again, features, rtol=1e-9, atol=1e-9)
    recent = np.expm1(features[:, FEATURE_NAMES.index("log_recent_candidates")])
    assert onsets.size > 40 and recent[0] == 0
    # each counts the candidates of the last RECENT_S (runs' starts, so allow one at the edge)
    span = RECENT_S * RATE
    earlier = np.array([np.count_nonzero((onsets < o) & (onsets >= o - span)) for o in onsets])
    assert np.all(np.abs(np.round(recent) - earlier) <= 1)
    assert recent.max() >= 10  # ~400 impacts/s: about 20 in 50 ms
    stretch = features[:, FEATURE_NAMES.index("background_peak_p90_db")]
    assert np.all(stretch[onsets > 0.02 * RATE] > 9)  # the machine's frames peak high
