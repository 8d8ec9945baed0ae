"""Replay of a recording with a thousand events (Qt offscreen): the events are marked on the
spectrogram wherever the display is (checked on a screenshot), selecting an event in the table
moves the spectrogram to it, and a click on the timeline's groove steps a page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyqtgraph")

from aemon.cli import main
from aemon.io.event_csv import read_event_csv

from .screenshots import save_screenshot


@pytest.fixture(scope="module")
def busy_recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """8 s, 2 channels, ~900 bursts, and the threshold detector's ~1000 events of it."""
    folder = tmp_path_factory.mktemp("busy")
    path, events = folder / "busy.h5", folder / "busy.events.csv"
    args = ["sim", "--duration", "8", "--channels", "2", "--burst-rate", "60", "--seed", "4"]
    assert main([*args, "--out", str(path)]) == 0
    assert main(["detect", str(path), "--detector", "threshold", "-o", str(events),
                 "--no-progress"]) == 0  # fmt: skip
    return path, events


def _image(widget) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The widget as drawn on screen: ``(height, width, 4)`` uint8."""
    image = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGBA8888)
    height, width = image.height(), image.width()
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return data.reshape(height, image.bytesPerLine() // 4, 4)[:, :width].copy()


def test_replay_marks_its_events_on_the_spectrogram(  # type: ignore[no-untyped-def]
    qtbot, make_window, tmp_path: Path, busy_recording: tuple[Path, Path]
) -> None:
    path, events_csv = busy_recording
    events = read_event_csv(events_csv)
    assert len(events) > 600  # more than the markers drawn at once: early ones must show too
    window = make_window()
    window.open_replay(path, events_csv)
    window.seek(2.0)
    window.tick()
    qtbot.wait(100)  # lay out the new spectrograms before the screenshot
    view = window.channel_view
    save_screenshot(window, tmp_path, "replay-markers.png")
    save_screenshot(window.table_view, tmp_path, "hit-table.png")
    for channel in (0, 1):
        shown = [e for e in events if e.channel == channel and 0.0 <= e.time_s <= 2.0]
        assert view.marker_count(channel) == len(shown) > 10
    with_markers = _image(view)
    for marker in view.markers:
        marker.hide()
    without = _image(view)
    changed = np.any(with_markers != without, axis=2)
    assert changed.sum() > 30 * view.marker_count(0)  # each marker is drawn: > 30 pixels
    rows = np.flatnonzero(changed.any(axis=1))
    plot = view.spec_plots[0].vb.sceneBoundingRect()
    assert rows.min() >= plot.top() - 8  # drawn at the top of the spectrograms
    assert rows.min() < plot.top() + 0.2 * plot.height()


def test_selecting_an_event_moves_the_spectrogram_to_it(  # type: ignore[no-untyped-def]
    qtbot, make_window, busy_recording: tuple[Path, Path]
) -> None:
    path, events_csv = busy_recording
    window = make_window()
    window.open_replay(path, events_csv)
    window.seek(1.0)
    window.tick()
    spec = window.spec
    times = [window.table.event(i).time_s for i in range(len(window.table))]
    late = max((i for i, t in enumerate(times) if t < 6.5), key=times.__getitem__)
    event = window.table.event(late)
    assert not spec.span_s[0] <= event.time_s <= spec.span_s[1]  # not in view yet
    window.table_view.select_index(late)
    left, right = spec.span_s
    assert left + 1.0 < event.time_s < right - 1.0  # now well inside the view
    ring = window.channel_view.rings[event.channel]
    assert ring.data["x"].tolist() == pytest.approx([event.time_s - right])
    # an event already in view does not move it
    near = next(i for i, t in enumerate(times) if left + 1.0 < t < right - 1.0 and i != late)
    window.table_view.select_index(near)
    assert spec.span_s == (left, right)


def test_a_click_on_the_timeline_groove_steps_a_page(  # type: ignore[no-untyped-def]
    qtbot, make_window, busy_recording: tuple[Path, Path]
) -> None:
    from PySide6 import QtCore

    window = make_window()
    window.open_replay(busy_recording[0], busy_recording[1])
    timeline = window.controls.timeline
    qtbot.waitUntil(timeline.isVisible)
    assert timeline.pageStep() == 100  # 4 s of the 8 s recording, capped at 10 %
    qtbot.mouseClick(
        timeline, QtCore.Qt.MouseButton.LeftButton,
        pos=QtCore.QPoint(timeline.width() - 4, timeline.height() // 2),
    )  # fmt: skip
    window.tick()
    model = window.session.model
    assert model.time_s == pytest.approx(0.8, abs=0.02)  # one page: 10 % of 8 s
    assert window.spec.newest_s == pytest.approx(0.8, abs=0.02)
    qtbot.mouseClick(timeline, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(4, 4))
    window.tick()
    assert model.time_s == pytest.approx(0.0, abs=0.02)


def test_labels_show_beside_the_time_tint_the_row_and_mark_the_spectrogram(  # type: ignore[no-untyped-def]
    qtbot, make_window, tmp_path: Path, busy_recording: tuple[Path, Path], capsys
) -> None:
    from PySide6 import QtCore

    from aemon.gui.colours import LABEL_COLOURS
    from aemon.gui.hit_table import TABLE_COLUMNS

    copy = tmp_path / "day.h5"
    copy.write_bytes(busy_recording[0].read_bytes())
    monitors_csv = tmp_path / "day.csv"  # what `monitor --csv day.csv` wrote: kept
    monitors_csv.write_bytes(busy_recording[1].read_bytes())
    window = make_window()
    window.open_replay(copy, busy_recording[1])
    window.seek(2.0)
    window.tick()
    view, model = window.channel_view, window.table_model
    in_view = [i for i in range(len(window.table)) if 0.5 < window.table.event(i).time_s < 1.9]
    for index, action in zip(in_view, ("confirmed", "rejected", "retyped"), strict=False):
        window.table_view.select_index(index)
        window.label_selected(action, "high" if action == "retyped" else None)
    rows = [window.table.row_of(i) for i in in_view[:3]]
    assert TABLE_COLUMNS.index("label") == TABLE_COLUMNS.index("time_s") + 1
    assert [window.table.cells(r)[1] for r in rows] == ["confirmed", "rejected", "→ high"]
    for row, action in zip(rows, ("confirmed", "rejected", "retyped"), strict=True):
        tint = model.data(model.index(row, 4), QtCore.Qt.ItemDataRole.BackgroundRole)
        assert tint is not None and tint.getRgb()[:3] == LABEL_COLOURS[action]
    unlabelled = window.table.row_of(in_view[3])
    assert model.data(model.index(unlabelled, 4), QtCore.Qt.ItemDataRole.BackgroundRole) is None
    window.tick()
    for index, action in zip(in_view, ("confirmed", "rejected", "retyped"), strict=False):
        event = window.table.event(index)
        spots = view.markers[event.channel].points()
        spot = next(s for s in spots if s.data().sample_index == event.sample_index)
        assert spot.pen().color().getRgb()[:3] == LABEL_COLOURS[action]
        assert spot.symbol() == ("x" if action == "rejected" else "t")
    qtbot.wait(100)
    save_screenshot(window, tmp_path, "replay-labelled.png")
    window.save_labels()
    exported = window.export_labels()
    assert exported == tmp_path / "day.labels.csv"
    assert monitors_csv.read_bytes() == busy_recording[1].read_bytes()  # untouched
    window.close()
    capsys.readouterr()
    assert main(["info", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "labels" in out and "3  (1 confirmed, 1 rejected, 1 retyped; aemon gui)" in out
    assert main(["info", "--json", str(copy)]) == 0
    assert '"labels": {"confirmed": 1, "rejected": 1, "retyped": 1}' in capsys.readouterr().out


def test_train_takes_the_labels_csv_before_the_monitors_csv_and_says_so(tmp_path: Path) -> None:
    from aemon.train.labelled import csv_for, labels_used

    rec = tmp_path / "day.h5"
    rec.write_bytes(b"")
    assert csv_for(rec) is None
    assert labels_used(str(rec)) == [f"--data {rec}: labels of day.h5 from {rec}:/truth"]
    (tmp_path / "day.csv").write_text("time_s\n")
    assert csv_for(rec) == tmp_path / "day.csv"
    (tmp_path / "day.labels.csv").write_text("time_s\n")
    assert csv_for(rec) == tmp_path / "day.labels.csv"
    assert labels_used(str(rec)) == [
        f"--data {rec}: labels of day.h5 from {tmp_path / 'day.labels.csv'}"
    ]
