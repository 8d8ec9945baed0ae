"""The only place that knows about aemon: its recording format, truth CSV and command line.

The package ``aemon`` is being reorganised; every ``aemon`` import of this benchmark is in
:func:`_aemon_recording_api`, and every ``aemon`` command line in :func:`aemon_command`, so a
move of modules or commands is fixed here alone. Nothing else in :mod:`independent` imports
aemon.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .dataset import TruthBurst

logger = logging.getLogger(__name__)

TRUTH_CSV_COLUMNS = (
    "time_s",
    "sample_index",
    "channel",
    "type",
    "snr_db",
    "end_sample",
    "peak_amplitude_V",
)
"""Columns of aemon's truth CSV (as ``aemon sim`` writes next to a WAV file)."""
BURST_TYPE = "burst"
"""Value of the truth ``type`` column for every burst of this benchmark."""


def _aemon_recording_api() -> tuple[Any, Any, Any]:
    """Import aemon's recording writer and format types: ``(RecordingWriter, StreamFormat,
    ChannelInfo)``. The one place to fix when aemon's modules move."""
    from aemon.io.recording import RecordingWriter
    from aemon.types import ChannelInfo, StreamFormat

    return RecordingWriter, StreamFormat, ChannelInfo


def aemon_command(*args: str) -> list[str]:
    """The argv that runs ``aemon ARGS...`` with this interpreter."""
    return [sys.executable, "-m", "aemon.cli", *args]


def write_recording(
    path: str | os.PathLike[str],
    signal: npt.NDArray[np.floating],
    fs: float,
    truth: Sequence[TruthBurst],
    noise_rms_v: float,
    description: str = "",
) -> None:
    """Write ``signal`` (V) as a one-channel float32 aemon HDF5 recording with ``/truth``.

    Args:
        path: Output ``.h5`` (replaced if it exists).
        signal: Samples in volts at the sensor.
        fs: Sample rate (Hz).
        truth: True bursts (stored in ``/truth`` with type ``"burst"``).
        noise_rms_v: Background RMS (V), to give each burst's peak amplitude.
        description: Stored in the recording's configuration JSON.
    """
    writer_cls, fmt_cls, channel_cls = _aemon_recording_api()
    fmt = fmt_cls(float(fs), 1, "float32", 1.0)
    channels = [channel_cls(name="ch1", sensor="bench.independent", gain_db=0.0)]
    config = {"source": "bench.independent", "description": description}
    block = np.asarray(signal, dtype=np.float32).reshape(1, -1)
    with writer_cls(os.fspath(path), fmt, channels, config=config, overwrite=True) as writer:
        writer.push(0, block)
        writer.add_truth([_truth_row(t, noise_rms_v) for t in truth])


def _truth_row(t: TruthBurst, noise_rms_v: float) -> dict[str, Any]:
    return {
        "onset_sample": t.onset_sample,
        "end_sample": t.end_sample,
        "channel": 0,
        "burst_type": BURST_TYPE,
        "peak_amplitude_v": noise_rms_v * 10.0 ** (t.snr_db / 20.0),
        "snr_db": t.snr_db,
    }


def write_truth_csv(
    path: str | os.PathLike[str], truth: Sequence[TruthBurst], fs: float, noise_rms_v: float
) -> None:
    """Write the truth in aemon's truth CSV layout (:data:`TRUTH_CSV_COLUMNS`), channel 0."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(TRUTH_CSV_COLUMNS)
        for t in truth:
            peak_v = noise_rms_v * 10.0 ** (t.snr_db / 20.0)
            out.writerow(
                [f"{t.onset_sample / fs:.9f}", t.onset_sample, 0, BURST_TYPE, f"{t.snr_db:.3f}",
                 t.end_sample, f"{peak_v:.6e}"]
            )  # fmt: skip


def read_truth_csv(path: str | os.PathLike[str]) -> list[TruthBurst]:
    """Read a truth CSV written by :func:`write_truth_csv` (or ``aemon sim``)."""
    with open(path, newline="", encoding="utf-8") as f:
        return [
            TruthBurst(int(r["sample_index"]), int(r["end_sample"]), float(r["snr_db"]))
            for r in csv.DictReader(f)
        ]


def read_event_onsets(path: str | os.PathLike[str]) -> npt.NDArray[np.int64]:
    """Onset samples (``sample_index`` column) of an aemon event CSV, sorted."""
    with open(path, newline="", encoding="utf-8") as f:
        onsets = [int(r["sample_index"]) for r in csv.DictReader(f)]
    return np.sort(np.asarray(onsets, dtype=np.int64))


def run_aemon_detect(
    recording: str | os.PathLike[str],
    events_csv: str | os.PathLike[str],
    detector: str = "nn",
    model: str | None = None,
    timeout_s: float = 1800.0,
) -> int:
    """Run ``aemon detect RECORDING -o EVENTS --detector DETECTOR [--model M]``.

    Uses the ``aemon`` that this interpreter imports (``PYTHONPATH`` decides, not the
    working directory).

    Returns:
        How many events aemon reported as skipped (its warning "no raw samples left for the
        event"): detections so long that their start left the raw history, e.g. when the
        detector stays on for seconds. They are missing from the event CSV.

    Raises:
        RuntimeError: When the command fails (with the end of its error output).
    """
    recording, events_csv = Path(recording).resolve(), Path(events_csv).resolve()
    argv = aemon_command(
        "detect", str(recording), "-o", str(events_csv), "--detector", detector, "--no-progress"
    )  # fmt: skip
    if model:
        argv += ["--model", model]
    logger.info("running %s", " ".join(argv))
    # Run beside the recording, so that an ``aemon`` folder in the caller's working directory
    # does not shadow the installed package (``python -m`` puts the working directory first).
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout_s, check=False,
        cwd=recording.parent,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    skipped = sum("no raw samples left for the event" in line for line in done.stderr.splitlines())
    if skipped:
        logger.warning("%s: aemon skipped %d over-long events", recording.name, skipped)
    return skipped


def run_aemon_calibrate(
    recordings: Sequence[str | os.PathLike[str]],
    model_dir: str | os.PathLike[str],
    fa_per_min: float,
    timeout_s: float = 1800.0,
) -> Any:
    """Run ``aemon calibrate RECORDING… --model DIR --fa-per-min R --json``: writes the site
    calibration into ``model_dir`` (give it a copy of the model) and returns its JSON object."""
    paths = [str(Path(r).resolve()) for r in recordings]
    argv = aemon_command(
        "calibrate", *paths, "--model", str(Path(model_dir).resolve()),
        "--fa-per-min", str(fa_per_min), "--json",
    )  # fmt: skip
    logger.info("running %s", " ".join(argv))
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout_s, check=False,
        cwd=Path(paths[0]).parent,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_aemon_adapt(
    bursts: str | os.PathLike[str],
    background: str | os.PathLike[str],
    out: str | os.PathLike[str],
    model: str | None = None,
    timeout_s: float = 1800.0,
) -> tuple[bool, str]:
    """Run ``aemon adapt BURSTS --background BG --out DIR [--model M]``: ``(model written,
    its output)``.

    Exit status 2 is a refusal (the guard's, or of the recordings): no model is written and
    the user keeps the old one; any other failure raises.
    """
    bursts, background = Path(bursts).resolve(), Path(background).resolve()
    argv = aemon_command("adapt", str(bursts), "--background", str(background), "--out",
                         str(Path(out).resolve()), "--no-progress")  # fmt: skip
    if model:
        argv += ["--model", model]
    logger.info("running %s", " ".join(argv))
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout_s, check=False, cwd=bursts.parent
    )
    text = done.stdout + done.stderr
    if done.returncode == 2 and "aemon: error:" in done.stderr:
        return False, text
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return True, text


def run_aemon_score(events_csv: str | os.PathLike[str], truth: str | os.PathLike[str]) -> Any:
    """Run ``aemon score EVENTS TRUTH --json`` and return its JSON object (a cross-check)."""
    events_csv, truth = Path(events_csv).resolve(), Path(truth).resolve()
    argv = aemon_command("score", str(events_csv), str(truth), "--json")
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=600, check=False, cwd=truth.parent
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_pair(
    directory: str | os.PathLike[str],
    stem: str,
    signal: npt.NDArray[np.floating],
    truth: Sequence[TruthBurst],
    fs: float,
    noise_rms_v: float,
) -> tuple[Path, Path]:
    """Write ``STEM.h5`` and ``STEM.truth.csv`` in ``directory``; return both paths."""
    base = Path(directory)
    base.mkdir(parents=True, exist_ok=True)
    h5, truth_csv = base / f"{stem}.h5", base / f"{stem}.truth.csv"
    write_recording(h5, signal, fs, truth, noise_rms_v, description=stem)
    write_truth_csv(truth_csv, truth, fs, noise_rms_v)
    return h5, truth_csv
