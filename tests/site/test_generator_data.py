"""The training generator's labelled detections: the backgrounds each classifier learns from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aemon.detect.onnx_runtime import OnnxDetector
from aemon.site.generator_data import (
    BACKGROUND_KINDS,
    GENERATOR_KINDS,
    generator_detections,
)
from tests.detect_models import energy_model

FRICTION_KINDS = ("randomised", "randomised-friction", "simulator")


@pytest.fixture(scope="module")
def energy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("generator") / "energy"
    energy_model(directory, window=4096)
    return directory


def test_broadband_friction_only_where_asked_for() -> None:
    assert set(BACKGROUND_KINDS) < set(GENERATOR_KINDS)
    assert "randomised-friction" not in BACKGROUND_KINDS  # the shipped classifier's draws


def test_each_kind_is_one_fold_and_friction_changes_the_draws(energy: Path) -> None:
    network = OnnxDetector(energy)
    rate = network.card.sample_rate_hz
    steps: list[str] = []
    common = {"seconds": 0.75, "threshold": 0.3, "window_s": 0.05, "bursts": 8, "mixtures": 1}
    friction = generator_detections(network, np.random.default_rng(1), rate,
                                    kinds=FRICTION_KINDS, step=steps.append, **common)  # fmt: skip
    assert steps == [f"detections in {k} backgrounds" for k in FRICTION_KINDS]
    assert set(np.unique(friction.fold)) <= {0, 1, 2}
    assert friction.is_burst.any() and friction.background_only.any()
    machine = generator_detections(network, np.random.default_rng(1), rate, **common)
    assert friction.seconds == pytest.approx(machine.seconds)
    assert not np.array_equal(friction.features, machine.features)


def test_an_unknown_kind_is_refused(energy: Path) -> None:
    network = OnnxDetector(energy)
    with pytest.raises(ValueError, match="unknown background kind 'lab'"):
        generator_detections(network, np.random.default_rng(0), network.card.sample_rate_hz,
                             seconds=0.1, threshold=0.3, window_s=0.05, kinds=("lab",))  # fmt: skip
