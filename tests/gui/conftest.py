"""Qt test fixtures: main windows that are closed (stopping any monitor child) and deleted
at the end of the test, while Qt still runs."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def make_window(qapp: Any, tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """A factory of shown main windows with their own settings file."""
    from PySide6 import QtCore

    from aemon.gui.main_window import MainWindow

    windows: list[Any] = []

    def make() -> Any:
        settings = QtCore.QSettings(str(tmp_path / "gui.ini"), QtCore.QSettings.Format.IniFormat)
        window = MainWindow(settings)
        window.resize(1500, 950)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        window.deleteLater()
    windows.clear()
    qapp.processEvents()
    gc.collect()


@pytest.fixture(scope="session")
def two_type_recording(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, list[str]]:
    """A 1 s simulator recording with ~100 bursts of two types (``low``, ``high``), an event
    CSV with one event per true burst (type ``burst``: the true type is not given away), and
    the true type of each event in CSV order."""
    from aemon.cli import main
    from aemon.events.features import hit_features
    from aemon.events.hit import Hit
    from aemon.io.event_csv import write_event_csv
    from aemon.io.recording import RecordingReader

    folder = tmp_path_factory.mktemp("two_types")
    path = folder / "rec.h5"
    args = ["sim", "--duration", "1", "--burst-rate", "100", "--snr-min", "25", "--seed", "5"]
    assert main([*args, "--out", str(path)]) == 0
    events: list[Hit] = []
    types: list[str] = []
    with RecordingReader(path) as reader:
        rate = reader.format.sample_rate_hz
        for row in sorted(reader.truth(), key=lambda r: int(r["onset_sample"])):
            onset, channel = int(row["onset_sample"]), int(row["channel"])
            wave = reader.read(reader.raw_index(onset) or 0, 1024, volts=True)[channel]
            f = hit_features(wave, rate, 100e-6)
            pp = f.partial_powers_pct
            events.append(Hit(
                time_s=onset / rate, utc="", sample_index=onset, channel=channel, type="burst",
                score=1.0, detector="truth", onset_s=onset / rate, duration_us=f.duration_us,
                amplitude_V=f.amplitude_v, amplitude_dBAE=f.amplitude_dbae,
                rise_time_us=f.rise_time_us, counts=f.counts, energy_eu=f.energy_eu,
                rms_V=f.rms_v, signal_strength_nVs=f.signal_strength_nvs,
                peak_freq_kHz=f.peak_freq_khz, centroid_kHz=f.centroid_khz, pp1_pct=pp[0],
                pp2_pct=pp[1], pp3_pct=pp[2], pp4_pct=pp[3],
            ))  # fmt: skip
            types.append(row["burst_type"].decode())
    csv_path = folder / "events.csv"
    write_event_csv(csv_path, events)
    return path, csv_path, types
