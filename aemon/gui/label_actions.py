"""The labelling half of the window (a mixin of :class:`aemon.gui.main_window.MainWindow`):
confirm, reject, re-type the selected event, add one by dragging, save and export."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6 import QtWidgets

from aemon.events.hit import Hit
from aemon.gui.labels import LabelSet, export_labelled_csv, load_labels, save_labels
from aemon.gui.sessions import ReplaySession
from aemon.train.labelled import LABELS_CSV_SUFFIX

if TYPE_CHECKING:
    from aemon.gui.sessions import StreamInfo

logger = logging.getLogger(__name__)

MANUAL_DETECTOR = "manual"
"""Detector name of events a reviewer added."""


class LabelActions:
    """Label state and actions; a mixin of ``MainWindow`` (its methods take the window as
    ``self``, typed ``Any`` because mypy cannot express "a subclass that also is a
    QMainWindow")."""

    labels: LabelSet | None = None
    recording_path: Path | None = None

    def _connect_label_actions(self: Any) -> None:
        c = self.controls
        c.confirm.clicked.connect(lambda: self.label_selected("confirmed"))
        c.reject.clicked.connect(lambda: self.label_selected("rejected"))
        c.retype.clicked.connect(lambda: self.label_selected("retyped", c.label_type.currentText()))
        c.add_mode.toggled.connect(
            lambda on: self.channel_view.set_drag_enabled(on) if self.channel_view else None
        )
        c.save_labels.clicked.connect(self.save_labels)
        c.export_labels.clicked.connect(self._choose_label_export)

    def _open_labels(self: Any, path: Path, info: StreamInfo) -> None:
        self.recording_path = path
        self.labels = load_labels(path, info.sample_rate_hz)
        types = sorted({e.type for e in self.table.events()} | {"low", "high"})
        self.controls.label_type.clear()
        self.controls.label_type.addItems(types)
        self.apply_labels()

    def apply_labels(self: Any) -> None:
        """Show the stored labels in the table (after loading or re-detecting events)."""
        if self.labels is None:
            return
        events = self.table.events()
        index_of = {(int(e.channel), int(e.sample_index)): i for i, e in enumerate(events)}
        for label in self.labels:
            index = index_of.get((label.channel, label.start_sample))
            if index is None and label.action == "added":
                index = self._add_manual_event(
                    label.channel, label.start_sample, label.end_sample, label.type
                )
            if index is not None:
                self.table.set_label(index, _label_text(label.action, label.type))
        self._labels_changed()

    def _labels_changed(self: Any) -> None:
        """Redraw the label column and row colours, and the markers' outlines."""
        self.table_model.labels_changed()
        if self.channel_view is not None and self.labels is not None:
            marks = {(x.channel, x.start_sample): x.action for x in self.labels}
            self.channel_view.set_marks(marks)

    def label_selected(self: Any, action: str, new_type: str | None = None) -> None:
        """Confirm, reject or re-type the event selected in the table."""
        index = self.table_view.selected_index()
        if index is None or self.labels is None:
            self.statusBar().showMessage("select an event in the table first", 5000)
            return
        label = self.labels.review(self.table.event(index), action, new_type)
        self.table.set_label(index, _label_text(label.action, label.type))
        self._labels_changed()

    def add_label(self: Any, channel: int, start_s: float, stop_s: float, kind: str) -> None:
        """Add an event the detector missed on ``channel`` over ``start_s..stop_s`` (s)."""
        if self.labels is None or self.info is None:
            return
        rate, origin = self.info.sample_rate_hz, self.info.origin_sample
        start, stop = origin + round(start_s * rate), origin + round(stop_s * rate)
        label = self.labels.add(channel, start, stop, kind)
        index = self._add_manual_event(channel, start, stop, kind)
        self.table.set_label(index, label.action)
        self._labels_changed()

    def _add_manual_event(self: Any, channel: int, start: int, stop: int, kind: str) -> int:
        assert self.info is not None
        rate = self.info.sample_rate_hz
        values: dict[str, object] = dict.fromkeys(Hit._fields, math.nan)
        values.update(Hit._field_defaults)  # event_id -1, location_status ""
        values.update(
            time_s=(start - self.info.origin_sample) / rate, utc="", sample_index=start,
            channel=channel, type=kind, score=1.0, detector=MANUAL_DETECTOR,
            onset_s=(start - self.info.origin_sample) / rate,
            duration_us=(stop - start) / rate * 1e6, counts=0,
        )  # fmt: skip
        event = Hit(**values)  # type: ignore[arg-type]
        self.table_model.append([event])
        self.trends.add([event])
        if self.channel_view is not None:
            self.channel_view.add_events([event])
        return len(self.table) - 1

    def _dragged(self: Any, channel: int, start_s: float, stop_s: float) -> None:
        self.add_label(channel, start_s, stop_s, self.controls.label_type.currentText() or "low")

    def save_labels(self: Any) -> None:
        """Store the labels in the recording's ``/labels`` table."""
        if self.labels is None or self.recording_path is None:
            return
        session = self.session
        if isinstance(session, ReplaySession):
            with session.model.released():
                save_labels(self.recording_path, self.labels)
        else:
            save_labels(self.recording_path, self.labels)
        self.statusBar().showMessage(f"saved {len(self.labels)} labels in {self.recording_path}")

    def export_labels(self: Any, path: Path | None = None) -> Path:
        """Write the labelled CSV (default ``REC.labels.csv``, which ``aemon train --data
        REC.h5`` takes before ``REC.csv``; the monitor's own ``REC.csv`` is left alone)."""
        assert self.labels is not None and self.recording_path is not None and self.info
        target = path or self.recording_path.with_suffix(LABELS_CSV_SUFFIX)
        events = [e for e in self.table.events() if e.detector != MANUAL_DETECTOR]
        rows = export_labelled_csv(target, events, self.labels, self.info.origin_sample)
        self.statusBar().showMessage(f"wrote {rows} labelled rows to {target}")
        return target

    def _choose_label_export(self: Any) -> None:
        if self.recording_path is None:
            return
        default = str(self.recording_path.with_suffix(LABELS_CSV_SUFFIX))
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export labels", default, "CSV (*.csv)"
        )
        if path:
            self.export_labels(Path(path))


def _label_text(action: str, kind: str) -> str:
    """How a label reads in the table's label column."""
    return f"→ {kind}" if action == "retyped" else action
