"""The Qt-free "Calibrated" text of the detector controls."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier

from aemon.detect.calibration import SiteCalibration, write_site_calibration
from aemon.detect.site_classifier import DAY_ONE_CLASSIFIER_FILE, SiteClassifier
from aemon.detect.site_features import FEATURE_NAMES
from aemon.gui.status_text import calibration_text
from tests.detect_models import energy_model


def test_calibration_text_follows_the_models_site_calibration(tmp_path: Path) -> None:
    model = tmp_path / "lab-model"
    energy_model(model)
    none = "none for lab-model (aemon calibrate, aemon adapt --background)"
    assert calibration_text(str(model), 1_562_500.0) == none
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((200, len(FEATURE_NAMES))), rng.random(200) > 0.5
    trees = GradientBoostingClassifier(n_estimators=5).fit(x, y)
    SiteClassifier.from_sklearn(trees, 0.6, 0.3).write(model, DAY_ONE_CLASSIFIER_FILE)
    day_one = "day-one classifier only (aemon calibrate, aemon adapt --background)"
    assert calibration_text(str(model), None) == day_one
    calibration = SiteCalibration(
        threshold=0.4321, target_fa_per_min=2.0, measured_fa_per_min=1.5, background_s=60.0,
        method="tail-fit+snr-gate (empirical)", sources=("bg.h5",), model="lab-model",
        created_utc="2026-11-30T03:00:00+00:00", min_snr_db=14.25,
    )  # fmt: skip
    write_site_calibration(calibration, model)
    text = calibration_text(str(model), None)
    assert text == "0.4321 for 2 FA/min, SNR ≥ 14.2 dB (2026-11-30)"
    assert calibration_text(str(tmp_path / "missing"), None).startswith("model problem: ")
    raised = replace(calibration, classifier_decision=0.7, min_snr_db=0.0)
    write_site_calibration(raised, model)  # calibrate kept the day-one classifier, raised
    assert calibration_text(str(model), None) == (
        "day-one classifier, keeps p ≥ 0.70 for 2 FA/min (2026-11-30)"
    )
    info = {"harvest": {"bursts": 14}}
    SiteClassifier.from_sklearn(trees, 0.81, 0.3, info=info).write(model)
    assert calibration_text(str(model), None) == (
        "site classifier from 14 bursts, keeps p ≥ 0.81 for 2 FA/min (2026-11-30)"
    )
    (model / "site_calibration.json").unlink()
    assert calibration_text(str(model), None) == "site classifier from 14 bursts, keeps p ≥ 0.81"


def test_live_status_labels_p50_p99_a_recent_rate_and_the_warm_up() -> None:
    from aemon.gui.status_text import status_texts

    status = {
        "rate_hz": 1_562_500.0, "realtime_factor": 0.61, "recent_realtime_factor": 1.0,
        "detect_lag_s": 4.0, "latency_p50_ms": math.nan, "latency_p99_ms": math.nan,
        "warmup_s": math.nan, "gaps": 0, "samples_lost": 0, "malformed": 0,
    }  # fmt: skip
    texts = status_texts(None, status, 0.0, 0)
    assert texts["rt"] == "1.00× rt (10 s)" and texts["lag"] == "warming up, lag 4000 ms"
    assert texts["latency"] == "latency –"
    status.update(detect_lag_s=0.05, latency_p50_ms=31.4, latency_p99_ms=88.6, warmup_s=3.1)
    texts = status_texts(None, status, 0.0, 0)
    assert texts["lag"] == "lag 50 ms" and texts["latency"] == "latency p50/p99 31/89 ms"
