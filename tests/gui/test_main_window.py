"""The window offscreen (pytest-qt) on a simulated recording: re-detection fills the table and
the markers, seek and play move the display, hit-table export, labels round-trip to the
recording and to the labelled CSV that ``aemon train`` reads (and trains on)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyqtgraph")

from aemon.cli import main
from aemon.detect.options import DetectOptions
from aemon.gui.labels import load_labels
from aemon.gui.main_window import MainWindow
from aemon.io.event_csv import read_event_csv
from aemon.io.recording import RecordingReader
from aemon.train.labelled import read_labelled_csv

from .screenshots import save_screenshot


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "sim.h5"
    args = ["sim", "--duration", "1", "--channels", "1", "--seed", "3", "--out", str(path)]
    assert main(args) == 0
    return path


def redetect(qtbot, window: MainWindow, detector: str = "nn") -> None:  # type: ignore[no-untyped-def]
    thread = window.redetect(DetectOptions(detector=detector, provider="cpu"))
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=240_000)
    window.tick()


def test_replay_detect_seek_play_select_and_export(
    qtbot, make_window, tmp_path: Path, recording: Path
) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    window.open_replay(recording)
    assert len(window.table) == 0  # a simulator recording has no /events yet
    redetect(qtbot, window)
    with RecordingReader(recording) as reader:
        truth = reader.truth()
    assert abs(len(window.table) - len(truth)) <= 3  # the shipped model finds the bursts
    window.seek(0.9)
    window.tick()
    spec = window.spec
    assert spec is not None and window.channel_view is not None
    assert spec.newest_s == pytest.approx(0.9, abs=0.011)
    in_view = [e for e in window.table.events() if e.time_s <= spec.newest_s]
    assert 0 < window.channel_view.marker_count(0) == len(in_view)
    window.seek(0.2)
    window.tick()
    assert spec.newest_s == pytest.approx(0.2, abs=0.011)
    window.controls.speed.setCurrentIndex(1)  # 1×
    window.controls.play.setChecked(True)
    qtbot.wait(300)
    assert 0.25 < window.session.model.time_s < 0.9  # type: ignore[union-attr]
    window.controls.play.setChecked(False)
    window.seek(1.0)
    window.tick()
    window.table_view.selectRow(0)  # newest first: the last event
    assert window.detail.current is not None
    newest = window.table.event(len(window.table) - 1)
    assert window.detail.current.sample_index == newest.sample_index
    assert len(window.detail.wave.getData()[0]) > 100
    raw, denoised = window.detail.wave.getData()[1], window.detail.denoised.getData()[1]
    assert denoised is not None and len(denoised) == len(raw)  # the U-Net overlay
    assert np.std(denoised) < np.std(raw)
    out = tmp_path / "hits.csv"
    assert window.export_hit_table(out) == len(window.table)
    assert [e.sample_index for e in read_event_csv(out)] == [
        e.sample_index for e in window.table.events()
    ]
    window.seek(0.6)
    window.tick()
    window.table_view.select_index(len(window.table) // 2)
    save_screenshot(window, tmp_path, "replay.png")


def test_labels_round_trip_and_train(  # type: ignore[no-untyped-def]
    qtbot, make_window, tmp_path: Path, recording: Path, capsys
) -> None:
    pytest.importorskip("torch")
    copy = tmp_path / "rec.h5"
    copy.write_bytes(recording.read_bytes())
    with RecordingReader(copy) as reader:
        raw_before = reader.channel_sha256()
    window = make_window()
    window.open_replay(copy)
    redetect(qtbot, window)
    n = len(window.table)
    window.table_view.select_index(0)
    window.label_selected("rejected")
    window.table_view.select_index(1)
    window.label_selected("confirmed")
    window.table_view.select_index(2)
    window.label_selected("retyped", "high")
    window.add_label(0, 0.5, 0.5003, "low")  # a burst the detector "missed"
    window.save_labels()
    window.close()
    with RecordingReader(copy) as reader:
        assert reader.channel_sha256() == raw_before  # /raw untouched
    labels = load_labels(copy, 1_562_500.0)
    assert sorted(label.action for label in labels) == ["added", "confirmed", "rejected", "retyped"]
    # a new window shows the stored labels
    again = make_window()
    again.open_replay(copy)
    again._load_events(window.table.events())  # the same events, without re-running the model
    assert sorted(x for x in (again.table.label(i) for i in range(len(again.table))) if x) == [
        "added", "confirmed", "rejected", "→ high",
    ]  # fmt: skip
    monitors_csv = copy.with_suffix(".csv")  # the monitor's own event CSV: not the labels
    monitors_csv.write_text("time_s,utc\n")
    csv_path = again.export_labels()
    assert csv_path == tmp_path / "rec.labels.csv"
    bursts = read_labelled_csv(csv_path, 1_562_500.0, ["low", "high"])
    assert len(bursts) == n - 1 + 1  # one rejected (now noise), one added
    assert any(b.onset == round(0.5 * 1_562_500) for b in bursts)
    config = tmp_path / "tiny.toml"
    from tests.train.test_trainer import TINY

    config.write_text(TINY)
    out = tmp_path / "model"
    capsys.readouterr()
    code = main(["train", str(config), "--data", str(copy), "--out", str(out), "--threads", "1",
                 "--no-progress", "--epochs", "1", "--steps", "2"])  # fmt: skip
    assert code == 0 and (out / "model.onnx").is_file()
    assert f"labels of rec.h5 from {csv_path}" in capsys.readouterr().err
