"""Scoring helper and the conventional baselines."""

from __future__ import annotations

import math

import numpy as np
import pytest
from independent import (
    StaLtaDetector,
    ThresholdDetector,
    render_parts,
    score,
    tune_sta_lta,
    tune_threshold,
)
from independent.scoring import match, window_samples

FS = 1_562_500.0


def test_window_edges_are_inclusive():
    assert window_samples(1e6) == (-100, 250)
    true = [1000]
    assert score([900], true, 1e6, 1.0).tp == 1
    assert score([899], true, 1e6, 1.0).tp == 0
    assert score([1250], true, 1e6, 1.0).tp == 1
    assert score([1251], true, 1e6, 1.0).tp == 0
    assert window_samples(FS) == (-156, 390)


def test_empty_cases_give_zero_not_nan():
    s = score([], [1000, 5000], 1e6, 1.0)
    assert (s.precision, s.recall, s.f1, s.fn, s.false_alarms_per_min) == (0.0, 0.0, 0.0, 2, 0.0)
    assert math.isnan(s.median_onset_error_us)
    s = score([10, 20], [], 1e6, 30.0)
    assert (s.f1, s.fp, s.false_alarms_per_min) == (0.0, 2, 4.0)
    s = score([], [], 1e6, 1.0)
    assert s.f1 == 0.0 and s.detected == 0


def test_one_to_one_closest_detection_and_onset_error():
    s = score([1010, 1100, 5000], [1000], 1e6, 60.0)
    assert (s.tp, s.fp, s.fn) == (1, 2, 0)
    assert s.median_onset_error_us == pytest.approx(10.0)
    assert s.precision == pytest.approx(1 / 3) and s.recall == 1.0
    assert s.f1 == pytest.approx(0.5)
    assert s.false_alarms_per_min == pytest.approx(2.0)


def test_matching_is_greedy_by_time():
    # 1200 lies in both windows; the earlier burst takes it, the later one stays unmatched.
    assert match([1200], [1300, 1000], 1e6) == [(1, 0)]
    s = score([1200, 1290], [1000, 1300], 1e6, 1.0)
    assert s.tp == 2 and s.median_onset_error_us == pytest.approx(105.0)


def test_perfect_detection():
    true = np.array([100, 5000, 9000])
    s = score(true + 3, true, 1e6, 1.0)
    assert (s.precision, s.recall, s.f1) == (1.0, 1.0, 1.0)
    assert s.median_onset_error_us == pytest.approx(3.0)


def test_tuned_threshold_detector_finds_high_snr_bursts():
    cal = render_parts("white", "high", seed=21, duration_s=0.5)
    tuned = tune_threshold(cal.signal, [t.onset_sample for t in cal.truth], FS)
    assert isinstance(tuned.detector, ThresholdDetector)
    assert tuned.calibration.f1 > 0.9
    ev = render_parts("white", "high", seed=22, duration_s=0.5)
    onsets, ends = tuned.detector.detect(ev.signal, FS)
    assert np.all(ends > onsets)
    s = score(onsets, [t.onset_sample for t in ev.truth], FS, 0.5)
    assert s.recall > 0.9 and s.precision > 0.9
    assert s.median_onset_error_us < 100.0


def test_threshold_detector_hdt_and_rearm():
    x = np.zeros(20_000)
    x[[1000, 1050, 1300, 1600, 9000]] = 1.0
    det = ThresholdDetector(k=0.5, hdt_us=100.0, rearm_us=200.0)
    onsets, ends = det.detect_normalised(np.abs(x), 1e6)
    # 1000 and 1050 form one hit (gap <= HDT); 1300 falls in HDT + rearm (until 1350).
    assert onsets.tolist() == [1000, 1600, 9000]
    assert ends.tolist() == [1051, 1601, 9001]


def test_sta_lta_baseline_finds_high_snr_bursts():
    pytest.importorskip("obspy")
    cal = render_parts("white", "high", seed=21, duration_s=0.5)
    tuned = tune_sta_lta(cal.signal, [t.onset_sample for t in cal.truth], FS)
    assert isinstance(tuned.detector, StaLtaDetector)
    ev = render_parts("white", "high", seed=22, duration_s=0.5)
    s = score(tuned.detector.detect(ev.signal, FS)[0], [t.onset_sample for t in ev.truth], FS, 0.5)
    assert s.f1 > 0.9
