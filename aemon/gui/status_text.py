"""Qt-free texts of the status bar: sample rate, × real time over the last 10 s, lag (and
"warming up" until detection has first kept up), event latency p50/p99 of the steady state,
gaps and samples lost, malformed frames, the recording file and its size, events/s."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from aemon.errors import AemonError
from aemon.gui.sessions import LiveSession, ReplaySession

STATUS_FIELDS = ("rate", "rt", "lag", "latency", "gaps", "malformed", "file", "events")
"""Status bar fields, left to right."""


def status_texts(
    session: LiveSession | ReplaySession | None,
    status: dict[str, Any] | None,
    events_per_s: float,
    total_events: int,
) -> dict[str, str]:
    """The texts to show (only the fields that have news).

    Args:
        session: The open session, or None.
        status: The newest ``aemon.event/1`` status message, or None.
        events_per_s: Recent event rate (events/s).
        total_events: Events in the table.
    """
    texts: dict[str, str] = {}
    if status is not None:
        texts["rate"] = f"{(status.get('rate_hz') or 0) / 1e6:.4f} MS/s/ch"
        recent = _number(status, "recent_realtime_factor")
        texts["rt"] = f"{_number(status, 'realtime_factor') if recent is None else recent:.2f}× rt"
        if recent is not None:
            texts["rt"] += " (10 s)"
        warming = _number(status, "warmup_s") is None and "warmup_s" in status
        lag = f"lag {1e3 * (status.get('detect_lag_s') or 0):.0f} ms"
        texts["lag"] = f"warming up, {lag}" if warming else lag
        p50, p99 = _number(status, "latency_p50_ms"), _number(status, "latency_p99_ms")
        texts["latency"] = "latency –" if p50 is None else f"latency p50/p99 {p50:.0f}/{p99:.0f} ms"
        texts["gaps"] = f"gaps {status.get('gaps', 0)} ({status.get('samples_lost', 0)} lost)"
        texts["malformed"] = f"malformed {status.get('malformed', 0)}"
    elif isinstance(session, ReplaySession):
        info = session.model.info
        texts["rate"] = f"{info.sample_rate_hz / 1e6:.4f} MS/s/ch"
        texts["rt"] = f"replay {session.model.speed:g}×"
        texts["gaps"] = f"gaps {info.gaps} ({info.samples_lost} lost)"
    if session is not None:
        name = session.recording if isinstance(session, LiveSession) else session.model.path
        size = session.recording_size() / 1e6
        texts["file"] = f"{Path(name).name}  {size:.1f} MB" if name else "not recording"
    texts["events"] = f"{events_per_s:.1f} events/s  ({total_events} total)"
    return texts


def _number(status: dict[str, Any], name: str) -> float | None:
    """A finite number of the status message, or None (missing, null or NaN)."""
    value = status.get(name)
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def calibration_text(model: str | None, rate_hz: float | None) -> str:
    """What the "Calibrated" field shows: the site calibration of the model the detector uses
    (``model``, or the shipped one for ``rate_hz``), or how to make one.

    Args:
        model: The model field's text (directory or name); None or "" for the default.
        rate_hz: Source sample rate (Hz), None when not known yet.
    """
    from aemon.detect.calibration import read_site_calibration
    from aemon.detect.onnx_runtime import default_model_path, resolve_model
    from aemon.detect.site_classifier import SITE_CLASSIFIER_FILE, read_classifier

    try:
        directory = resolve_model(model)[0].parent if model else default_model_path(rate_hz)
        calibration = read_site_calibration(directory)
        classifier = read_classifier(directory)
    except AemonError as exc:
        return f"model problem: {exc}"
    site = (directory / SITE_CLASSIFIER_FILE).is_file()
    if classifier is not None and site:
        bursts = classifier.info.get("harvest", {}).get("bursts", "?")
        text = f"site classifier from {bursts} bursts, keeps p ≥ {classifier.threshold:.2f}"
    elif classifier is not None and (
        calibration is None or calibration.classifier_decision is None
    ):
        return "day-one classifier only (aemon calibrate, aemon adapt --background)"
    elif classifier is not None:
        text = f"day-one classifier, keeps p ≥ {classifier.threshold:.2f}"
    elif calibration is None:
        return f"none for {directory.name} (aemon calibrate, aemon adapt --background)"
    else:
        text = f"{calibration.threshold:.4g}"
    if calibration is None:
        return text
    text += f" for {calibration.target_fa_per_min:g} FA/min"
    if calibration.min_snr_db > 0:
        text += f", SNR ≥ {calibration.min_snr_db:.1f} dB"
    return text + f" ({calibration.created_utc[:10] or 'undated'})"
