"""The window's "similar events" list and the trend plots' cluster colour mode, offscreen
(pytest-qt), on a simulator recording with two burst types replayed with one event per burst."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyqtgraph")

from aemon.cli import main
from aemon.gui.event_embeddings import NOT_CLUSTERED
from aemon.gui.main_window import MainWindow
from aemon.similarity.clustering import purity

from .screenshots import save_screenshot

Recording = tuple[Path, Path, list[str]]


def _open(qtbot, make_window, recording: Recording) -> MainWindow:  # type: ignore[no-untyped-def]
    path, csv_path, types = recording
    window: MainWindow = make_window()
    window.open_replay(path, csv_path)
    assert len(window.table) == len(types)
    qtbot.waitUntil(lambda: window.embeddings.wait(0) and window.embeddings.pending == 0,
                    timeout=60_000)  # fmt: skip
    assert window.embeddings.error is None
    return window


def test_similar_events_list_neighbours_of_the_same_type_and_show_one(
    qtbot, make_window, tmp_path: Path, two_type_recording: Recording
) -> None:  # type: ignore[no-untyped-def]
    types = two_type_recording[2]
    window = _open(qtbot, make_window, two_type_recording)
    view = window.similar_view
    same = 0
    anchors = list(range(0, len(types), 10))
    for index in anchors:
        window.table_view.select_index(index)
        assert view.anchor == index and window.detail.current is not None
        assert window.detail.current.sample_index == window.table.event(index).sample_index
        assert len(view.indices) == 20 and index not in view.indices
        distances = [float(view.table.item(r, 3).text()) for r in range(20)]
        assert distances == sorted(distances)
        same += sum(types[j] == types[index] for j in view.indices)
    assert same >= 0.9 * 20 * len(anchors)
    # Clicking a neighbour shows it in the detail view and keeps the list of its anchor.
    window.table_view.select_index(anchors[1])
    neighbour = view.indices[2]
    view.table.cellClicked.emit(2, 0)
    assert window.table_view.selected_index() == neighbour
    assert window.detail.current.sample_index == window.table.event(neighbour).sample_index
    assert view.anchor == anchors[1] and view.indices[2] == neighbour
    assert str(neighbour) == view.table.item(2, 0).text()
    assert [i.row() for i in view.table.selectionModel().selectedRows()] == [2]
    # Fewer neighbours on request.
    view.count.setValue(5)
    assert len(view.indices) == 5 and view.table.rowCount() == 5
    assert view.anchor == anchors[1] and view.indices[2] == neighbour
    assert [i.row() for i in view.table.selectionModel().selectedRows()] == [2]
    window.seek(window.table.event(neighbour).time_s + 0.1)
    window.tick()
    save_screenshot(window, tmp_path, "similar_events.png")


def test_cluster_colour_mode_colours_two_clusters_apart(
    qtbot, make_window, tmp_path: Path, two_type_recording: Recording
) -> None:  # type: ignore[no-untyped-def]
    path, csv_path, types = two_type_recording
    window = _open(qtbot, make_window, two_type_recording)
    window.tabs.setCurrentIndex(1)
    bar = window.cluster_bar
    bar.k.setValue(2)
    job = window.cluster_now()
    qtbot.waitUntil(job.done, timeout=60_000)
    window.tick()
    assert job.error is None and bar.cluster_now.isEnabled() and "k = 2" in bar.status.text()
    keys = list(window._event_keys())
    labels = [window.cluster_labels.get(k, NOT_CLUSTERED) for k in keys]
    assert set(labels) == {0, 1} and purity(labels, types) >= 0.9
    bar.colour_by.setCurrentText("cluster")
    assert window.trend_view.colour_by == "cluster"
    brushes = {}
    for cluster in (0, 1):
        curve = window.trend_view.curve_item("amplitude", (cluster, "burst"))
        assert curve is not None
        x, _ = curve.getData()
        assert len(x) == labels.count(cluster)  # every event of the cluster is a point
        brushes[cluster] = curve.opts["symbolBrush"]
    assert brushes[0] != brushes[1]
    assert window.trend_view.curve_item("amplitude", (0, "burst")) is not None
    save_screenshot(window, tmp_path, "cluster_colours.png")
    # Back to channels: one channel, one colour.
    bar.colour_by.setCurrentText("channel")
    assert window.trend_view.curve_item("amplitude", (0, "burst")) is not None
    assert window.trend_view.curve_item("amplitude", (1, "burst")) is None

    # The labels `aemon cluster` wrote are taken as they are, next to the recording by default.
    prefix = tmp_path / "c"
    args = ["cluster", str(path), "--events", str(csv_path), "--k", "2", "--no-map"]
    assert main([*args, "--out", str(prefix)]) == 0
    assert window.load_clusters(tmp_path / "c.csv") == len(types)
    written = [window.cluster_labels[k] for k in keys]
    assert purity(written, types) >= 0.9
    bar.colour_by.setCurrentText("cluster")
    counts = {c: len(window.trend_view.curve_item("amplitude", (c, "burst")).getData()[0])
              for c in (0, 1)}  # fmt: skip
    assert counts == {c: written.count(c) for c in (0, 1)}

    # Replayed with the clustered table as its events table, or with it beside the recording.
    window.open_replay(path, tmp_path / "c.csv")
    clustered = dict(zip(keys, written, strict=True))
    assert len(window.table) == len(types) and window.cluster_labels == clustered
    assert "clusters of the events table" in bar.status.text()
    copy = tmp_path / "copy" / "rec.h5"
    copy.parent.mkdir()
    shutil.copy(path, copy)
    shutil.copy(tmp_path / "c.h5", tmp_path / "copy" / "rec.clusters.h5")
    window.open_replay(copy, csv_path)
    assert window.cluster_labels == clustered
    assert "rec.clusters.h5" in bar.status.text()
    assert window.trend_view.colour_by == "cluster"
    window.tick()
    assert window.trend_view.curve_item("amplitude", (1, "burst")) is not None


def test_aemon_gui_replays_a_recording_with_an_events_csv(
    two_type_recording: Recording, capsys: pytest.CaptureFixture[str]
) -> None:
    path, csv_path, _ = two_type_recording
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    args = ["gui", str(path), "--events", str(csv_path), "--quit-after", "1"]
    done = subprocess.run([sys.executable, "-m", "aemon.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    bad = subprocess.run([sys.executable, "-m", "aemon.cli", *args[:1], str(path), "--events",
                          str(path.with_name("missing.csv")), "--quit-after", "1"], env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 2 and "missing.csv" in bad.stderr
    assert main(["gui", "tcp://127.0.0.1:1", "--events", str(csv_path)]) == 2
    assert "--events is for replaying" in capsys.readouterr().err


def test_similar_count_and_cluster_k_persist(make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    assert window.similar_view.count.value() == 20 and not window.cluster_bar.auto.isChecked()
    window.similar_view.count.setValue(7)
    window.cluster_bar.k.setValue(4)
    window.cluster_bar.auto.setChecked(True)
    window.close()
    again = make_window()
    assert again.similar_view.count.value() == 7 and again.cluster_bar.k.value() == 4
    assert again.cluster_bar.auto.isChecked() and not again.cluster_bar.k.isEnabled()
    assert again.cluster_bar.chosen_k() is None
