"""The day-one classifier: learnt from the training generator, its two-bar rule, its file and
which classifier a model directory's detector uses."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from aemon.cli import main
from aemon.detect.calibration import (
    SiteCalibration,
    read_site_calibration,
    write_site_calibration,
)
from aemon.detect.classifier_calibration import calibrate_classifier
from aemon.detect.onnx_runtime import OnnxDetector
from aemon.detect.signal_detection import background_features
from aemon.detect.site_classifier import (
    DAY_ONE_CLASSIFIER_FILE,
    SITE_CLASSIFIER_FILE,
    SiteClassifier,
    read_classifier,
    two_bar_keeps,
)
from aemon.detect.site_features import FEATURE_NAMES
from aemon.site.day_one import DayOneOptions, learn_day_one, lower_bar
from aemon.site.training_set import LabelledDetections
from tests.detect_models import energy_model

TINY = DayOneOptions(seconds=1.5, bursts=24, mixtures=1, trees=20, candidate_probability=0.3)


@pytest.fixture(scope="module")
def energy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("day-one") / "energy"
    energy_model(directory, window=4096)
    return directory


def test_learnt_from_the_training_generator(energy: Path) -> None:
    classifier = learn_day_one(energy, TINY)
    info = classifier.info
    assert info["burst_detections_learnt"] > 0
    assert info["detections_learnt"] > info["burst_detections_learnt"]  # negatives too
    assert classifier.candidate_probability == 0.3
    if classifier.drop_below is not None:  # only where a lower bar helps out of fold
        assert classifier.network_threshold == OnnxDetector(energy).card.threshold
        assert 0.0 < classifier.drop_below < classifier.threshold
    scores = info["out_of_fold"]
    # out of fold, the second look beats the network alone on the training generator: fewer
    # false alarms on the backgrounds and a better F1
    assert scores["f1"] > scores["network_alone_f1"]
    assert scores["background_fa_per_min"] < scores["network_alone_background_fa_per_min"]
    again = learn_day_one(energy, TINY)  # reproducible from its options
    assert again.threshold == classifier.threshold
    assert again.drop_below == classifier.drop_below


def test_the_two_bar_rule() -> None:
    score = np.array([0.9, 0.9, 0.2, 0.2, 0.9])
    features = np.zeros((5, len(FEATURE_NAMES)))
    features[:, FEATURE_NAMES.index("score_logit")] = np.log(score / (1 - score))
    # the network's own detections are kept from the lower bar, the others from the decision
    for p, kept in ((0.4, [True, True, False, False, True]), (0.3, [False] * 5),
                    (0.7, [True] * 5)):  # fmt: skip
        constant = SiteClassifier((), 1.0, float(np.log(p / (1 - p))), 0.6, 0.3,
                                  network_threshold=0.65, drop_below=0.4)  # fmt: skip
        np.testing.assert_allclose(constant.probability(features), p)
        assert constant.keeps(features).tolist() == kept, p
        assert [constant.accepts(row) for row in features] == kept
    one_bar = SiteClassifier((), 1.0, float(np.log(0.4 / 0.6)), 0.6, 0.3)
    assert not one_bar.keeps(features).any()  # a site classifier: one bar for all
    probability = np.array([0.5, 0.1, 0.5, 0.8, 0.39])
    keep = two_bar_keeps(probability, features, 0.6, network_threshold=0.65, drop_below=0.4)
    assert keep.tolist() == [True, False, False, True, False]


def _labelled(score: np.ndarray, is_burst: np.ndarray) -> LabelledDetections:
    features = np.zeros((score.size, len(FEATURE_NAMES)))
    features[:, FEATURE_NAMES.index("score_logit")] = np.log(score / (1 - score))
    fold = np.arange(is_burst.size) % 3
    return LabelledDetections(features, is_burst, ~is_burst, 60.0, int(is_burst.sum()), fold)


def test_a_lower_bar_only_where_it_raises_the_out_of_fold_f1() -> None:
    network = np.array([0.9] * 20 + [0.2] * 20)
    is_burst = np.array([True] * 20 + [False] * 20)
    # the network's own detections are bursts the classifier doubts: a lower bar keeps them
    doubted = np.array([0.3] * 20 + [0.1] * 20)
    bar = lower_bar(doubted, _labelled(network, is_burst), 0.6, 0.65)
    assert bar is not None and 0.1 < bar <= 0.3
    # the network's own detections are the machine's impacts: no lower bar
    impacts = np.array([0.7] * 10 + [0.3] * 10 + [0.1] * 20)
    wrong = np.array([True] * 10 + [False] * 30)
    assert lower_bar(impacts, _labelled(network, wrong), 0.6, 0.65) is None


def test_the_site_classifier_wins_and_calibration_sets_it_aside(
    energy: Path, tmp_path: Path
) -> None:
    classifier = learn_day_one(energy, TINY)
    directory = tmp_path / "model"
    directory.mkdir()
    for f in energy.iterdir():
        (directory / f.name).write_bytes(f.read_bytes())
    assert read_classifier(directory) is None
    classifier.write(directory, DAY_ONE_CLASSIFIER_FILE)
    used = read_classifier(directory)
    assert used is not None and used.drop_below == classifier.drop_below
    x = np.random.default_rng(0).standard_normal((50, len(FEATURE_NAMES))) * 5
    np.testing.assert_array_equal(used.keeps(x), classifier.keeps(x))
    assert [used.accepts(row) for row in x[:5]] == classifier.keeps(x[:5]).tolist()
    assert OnnxDetector(directory).site_classifier is not None
    assert OnnxDetector(directory, site_calibration=False).site_classifier is None
    network_calibrated = SiteCalibration(0.7, 1.0, 1.0, 10.0, "empirical", (), "energy")
    write_site_calibration(network_calibrated, directory)  # the network calibrated alone
    assert read_classifier(directory) is None
    raised = replace(network_calibrated, classifier_decision=classifier.threshold + 0.05)
    write_site_calibration(raised, directory)  # the day-one classifier calibrated for the site
    used = read_classifier(directory)
    assert used is not None and used.threshold == pytest.approx(classifier.threshold + 0.05)
    if classifier.drop_below is not None:
        assert used.drop_below == pytest.approx(max(classifier.drop_below, used.threshold))
    assert np.sum(used.keeps(x)) <= np.sum(classifier.keeps(x))
    site = SiteClassifier(classifier.trees, classifier.learning_rate, classifier.offset, 0.9,
                            0.2, info={"harvest": {"bursts": 9}})  # fmt: skip
    site.write(directory)
    chosen = read_classifier(directory)
    assert chosen is not None and chosen.threshold == 0.9 and chosen.drop_below is None
    assert (directory / SITE_CLASSIFIER_FILE).is_file()


def test_the_command_writes_a_copy_with_its_command(
    energy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _train_classifier(energy, tmp_path / "day-one")
    raw = json.loads((out / DAY_ONE_CLASSIFIER_FILE).read_text())
    assert "train-classifier" in raw["info"]["command"]
    assert raw["info"]["options"]["seconds"] == 1.5
    assert raw["drop_below"] is None or raw["drop_below"] < raw["threshold"]
    assert (out / "model.onnx").is_file()
    assert not (tmp_path / "day-one.partial").exists()
    capsys.readouterr()
    assert main(["train-classifier", "--model", str(energy), "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["train-classifier", "--model", str(energy), "--out", str(tmp_path / "x"),
                 "--seconds", "0"]) == 2  # fmt: skip
    assert "--seconds must be at least 1" in capsys.readouterr().err
    assert main(["train-classifier", "--model", str(energy), "--out", str(tmp_path / "x"),
                 "--trigger-ratio", "0.5"]) == 2  # fmt: skip
    assert "--trigger-ratio must be above 1" in capsys.readouterr().err
    assert main(["train-classifier", "--model", str(energy), "--out", str(tmp_path / "x"),
                 "--backgrounds", "randomised,lab"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "unknown lab" in err and "randomised-friction" in err
    assert not (tmp_path / "x").exists()
    assert raw["trigger_ratio"] is None and "--trigger-ratio" not in raw["info"]["command"]
    assert "--backgrounds" not in raw["info"]["command"]  # the defaults are not spelt out


def test_without_the_network_score_the_trees_judge_the_waveform_alone(
    energy: Path, tmp_path: Path
) -> None:
    out = tmp_path / "waveform"
    kinds = "randomised-friction,simulator"
    argv = ["train-classifier", "--model", str(energy), "--out", str(out), "--seconds", "1.5",
            "--backgrounds", kinds, "--without-network-score"]  # fmt: skip
    assert main([*argv, "--no-progress"]) == 0
    classifier = read_classifier(out)
    assert classifier is not None
    assert "score_logit" not in classifier.feature_names
    assert len(classifier.feature_names) == len(FEATURE_NAMES) - 1
    info = classifier.info
    assert info["learnt_from"] == "training generator: randomised-friction, simulator"
    assert "--backgrounds randomised-friction,simulator --without-network-score" in info["command"]
    rows = np.random.default_rng(0).normal(size=(50, len(FEATURE_NAMES)))
    shifted = rows.copy()
    shifted[:, FEATURE_NAMES.index("score_logit")] += 5.0
    np.testing.assert_array_equal(classifier.probability(rows), classifier.probability(shifted))


class _Site(NamedTuple):
    model: Path
    background: Path
    second: Path
    white: Path


@pytest.fixture(scope="module")
def site(energy: Path, tmp_path_factory: pytest.TempPathFactory) -> _Site:
    """A day-one model, two stretches of one machine and white noise, for ``calibrate``."""
    from tests.site.site_data import NOISE_RMS_V, RATE, machine, write_wav

    directory = tmp_path_factory.mktemp("calibrate")
    rng = np.random.default_rng(3)
    return _Site(
        _train_classifier(energy, directory / "day-one"),
        write_wav(directory / "bg.wav", machine(rng, 2.0)),
        write_wav(directory / "bg2.wav", machine(rng, 2.0)),
        write_wav(directory / "white.wav", rng.standard_normal(int(2 * RATE)) * NOISE_RMS_V),
    )


def _events(model_dir: Path, recording: Path) -> int:
    """Events ``aemon detect`` writes for ``recording`` with ``model_dir``."""
    csv = model_dir.parent / f"{model_dir.name}-{recording.stem}.csv"
    assert main(["detect", str(recording), "-o", str(csv), "--model", str(model_dir)]) == 0
    return len(csv.read_text().splitlines()) - 1


def test_calibrate_gates_the_day_one_classifier_where_no_decision_meets_the_target(
    site: _Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = read_classifier(site.model)
    assert shipped is not None
    capsys.readouterr()
    out = tmp_path / "calibrated"
    argv = ["calibrate", str(site.background), "--model", str(site.model), "--out", str(out)]
    assert main(argv) == 0
    assert "SNR gate" in capsys.readouterr().out
    calibration = read_site_calibration(out)
    assert calibration is not None and calibration.min_snr_db > 0
    used = OnnxDetector(out)
    assert used.card.min_snr_db == calibration.min_snr_db
    # of the classifier's gate (at its own decision) and the network's alone, the lower one
    features = background_features(
        OnnxDetector(site.model, site_calibration=False), [site.background],
        shipped.candidate_probability,
    )  # fmt: skip
    mine = calibrate_classifier(shipped, features.features, features.snr_db, features.seconds,
                                fa_per_min=1.0, card=used.card, sources=())  # fmt: skip
    assert mine is not None and mine.min_snr_db > 0
    assert calibration.min_snr_db <= mine.min_snr_db
    if calibration.classifier_decision is not None:
        assert calibration.classifier_decision == shipped.threshold and used.site_classifier
    else:
        assert used.site_classifier is None and calibration.min_snr_db < mine.min_snr_db
    assert _events(out, site.second) <= 2  # 1/min asked: ~0 in 2 s


def test_calibrate_raises_the_day_one_decision_where_that_meets_the_target(
    site: _Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = read_classifier(site.model)
    assert shipped is not None
    capsys.readouterr()
    out = tmp_path / "machine-30"
    argv = ["calibrate", str(site.background), "--model", str(site.model), "--out", str(out)]
    assert main([*argv, "--fa-per-min", "30"]) == 0
    assert "classifier decision" in capsys.readouterr().out
    calibration = read_site_calibration(out)
    assert calibration is not None and calibration.classifier_decision is not None
    assert shipped.threshold < calibration.classifier_decision <= 0.95  # raised, kept
    assert calibration.measured_fa_per_min <= 30 and calibration.min_snr_db == 0
    used = OnnxDetector(out).site_classifier
    assert used is not None and used.threshold == calibration.classifier_decision
    # on another stretch of the machine: near the target, and fewer than the day one's own
    assert _events(out, site.second) <= 2 * 30 * 2.0 / 60 + 1 < _events(site.model, site.second)
    quiet = tmp_path / "white-1"
    argv = ["calibrate", str(site.white), "--model", str(site.model), "--out", str(quiet)]
    assert main(argv) == 0
    kept = read_site_calibration(quiet)
    assert kept is not None and kept.classifier_decision == shipped.threshold  # never lowered


def _train_classifier(model: Path, out: Path) -> Path:
    argv = ["train-classifier", "--model", str(model), "--out", str(out), "--seconds", "1.5"]
    assert main([*argv, "--no-progress"]) == 0
    return out
