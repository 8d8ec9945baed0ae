"""One runner: ``aemon detect``, ``aemon replay`` into a table and ``aemon monitor`` fed by an
``aemon daq-sim --file`` process over ZeroMQ give the same hits and the same locations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aemon.cli import main
from aemon.commands.demo import end_child
from aemon.events.hit import Hit
from aemon.io.event_csv import array_to_events, read_event_csv
from aemon.io.event_tables import iter_table_rows, open_tables, table_dataset

from .detect_models import energy_model

GEOMETRIES = {
    "bar": (2, ["--sensor-spacing", "0.2", "--grip-rate", "20"], "hold_s = 0.1"),
    "plate": (4, ["--plate", "0.5"], "hold_s = 0.0"),
}
"""Channels, ``aemon sim`` layout and hold of each recording. Without a hold an event is
final as soon as the detector has settled past its window: a grouping clock that ran ahead of
the detector would split events."""


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "energy"
    # A long window: offline batching holds hits back ~2 M samples, longer than a file block
    energy_model(path, window=65536, bin_samples=16, margin_bins=45)
    return path


def _key(e: Hit) -> tuple[object, ...]:
    return (e.sample_index, e.channel, e.type, e.event_id, e.location_status)


def _rows(path: Path) -> list[str]:
    """The CSV's lines without the UTC column (the monitor stamps its own clock)."""
    lines = path.read_text().splitlines()
    utc = lines[0].split(",").index("utc")
    return [",".join(v for i, v in enumerate(line.split(",")) if i != utc) for line in lines]


def _table(path: Path, name: str) -> list[Hit]:
    with open_tables(path) as f:
        rows = list(iter_table_rows(table_dataset(f, name)))
    return array_to_events(np.concatenate(rows), None)


def _monitor(recording: Path, endpoint: str, out: Path, args: list[str]) -> None:
    daq = subprocess.Popen(
        [sys.executable, "-m", "aemon.cli", "daq-sim", "--endpoint", endpoint,
         "--file", str(recording), "--no-pace", "--frame-samples", "20000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        monitor = ["monitor", endpoint, "--csv", str(out), "--events-endpoint", "none", "-q"]
        assert main([*monitor, "--wait", "60", *args]) == 0
    finally:
        end_child(daq, grace_s=30)


@pytest.mark.parametrize("geometry", sorted(GEOMETRIES))
def test_detect_replay_and_monitor_give_the_same_hits_and_locations(
    tmp_path: Path, free_endpoint: str, model: Path, geometry: str
) -> None:
    recording = tmp_path / f"{geometry}.h5"
    sim = ["sim", "--duration", "0.6", "--burst-rate", "60", "--seed", "4", "--snr-min", "25"]
    channels, layout, hold = GEOMETRIES[geometry]
    assert main([*sim, "--channels", str(channels), *layout, "--out", str(recording)]) == 0
    layout_file = recording.with_name(f"{geometry}.location.toml")
    layout_file.write_text(layout_file.read_text().replace("hold_s = 0.1", hold))
    location = ["--location", str(layout_file)]
    args = ["--model", str(model), "--threshold", "0.5", *location]
    detected, live = tmp_path / "detect.csv", tmp_path / "monitor.csv"
    assert main(["detect", str(recording), "-o", str(detected), "--no-progress", *args]) == 0
    assert main(["replay", str(recording), "--table", "again", *args]) == 0
    _monitor(recording, free_endpoint, live, args)

    hits, again = read_event_csv(detected), _table(recording, "again")
    assert {e.channel for e in hits} == set(range(channels))
    assert len({e.event_id for e in hits}) > 10
    assert sum(e.location_status == "inside" for e in hits) > 5
    # monitor and detect write the same CSV: every field of every hit is the same
    assert _rows(live) == _rows(detected)
    # the replay table stores float32: the same hits, locations to the CSV's 10 µm
    assert [_key(e) for e in again] == [_key(e) for e in hits]
    for a, b in zip(again, hits, strict=True):
        assert a.score == pytest.approx(b.score, abs=1e-4)
        for value, expected in ((a.x_m, b.x_m), (a.y_m, b.y_m)):
            assert value == pytest.approx(expected, abs=6e-6, nan_ok=True)
