"""The Qt-free "Calibrated" text of the detector controls."""

from __future__ import annotations

from pathlib import Path

from aemon.detect.calibration import SiteCalibration, write_site_calibration
from aemon.gui.status_text import calibration_text
from tests.detect_models import energy_model


def test_calibration_text_follows_the_models_site_calibration(tmp_path: Path) -> None:
    model = tmp_path / "lab-model"
    energy_model(model)
    assert calibration_text(str(model), 1_562_500.0) == "none for lab-model (aemon calibrate)"
    calibration = SiteCalibration(
        threshold=0.4321, target_fa_per_min=2.0, measured_fa_per_min=1.5, background_s=60.0,
        method="tail-fit+snr-gate (empirical)", sources=("bg.h5",), model="lab-model",
        created_utc="2026-11-30T03:00:00+00:00", min_snr_db=14.25,
    )  # fmt: skip
    write_site_calibration(calibration, model)
    text = calibration_text(str(model), None)
    assert text == "0.4321 for 2 FA/min, SNR ≥ 14.2 dB (2026-11-30)"
    assert calibration_text(str(tmp_path / "missing"), None).startswith("model problem: ")
