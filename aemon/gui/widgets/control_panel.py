"""The control panel: source, recording, detector, display, replay and labelling controls.

It only holds widgets; :class:`aemon.gui.main_window.MainWindow` connects them.
"""

from __future__ import annotations

import logging

from PySide6 import QtCore, QtWidgets

from aemon.detect.options import DETECTORS, DetectOptions
from aemon.gui.status_text import calibration_text

logger = logging.getLogger(__name__)

SPEEDS = (0.5, 1.0, 2.0, 5.0, 10.0, 50.0)
"""Replay speeds offered (× real time)."""


def _group(title: str) -> tuple[QtWidgets.QGroupBox, QtWidgets.QFormLayout]:
    box = QtWidgets.QGroupBox(title)
    form = QtWidgets.QFormLayout(box)
    form.setContentsMargins(6, 4, 6, 4)
    form.setVerticalSpacing(3)
    return box, form


class ControlPanel(QtWidgets.QWidget):
    """Every control of the window, grouped; replay and label groups are hidden in live mode."""

    def __init__(self) -> None:
        super().__init__()
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)

        box, form = _group("Source")
        self.source = QtWidgets.QLineEdit()
        self.source.setPlaceholderText("tcp://host:port, sound:DEVICE or a file")
        self.connect_button = QtWidgets.QPushButton("Connect")
        self.open_button = QtWidgets.QPushButton("Open recording…")
        form.addRow(self.source)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.connect_button)
        row.addWidget(self.open_button)
        form.addRow(row)
        layout.addWidget(box)

        box, form = _group("Recording")
        self.record_file = QtWidgets.QLineEdit()
        self.record_file.setPlaceholderText("file name .h5")
        self.record_button = QtWidgets.QPushButton("Start recording")
        self.record_button.setCheckable(True)
        form.addRow("File", self.record_file)
        form.addRow(self.record_button)
        self.recording_box = box
        layout.addWidget(box)

        box, form = _group("Detector")
        self.detector = QtWidgets.QComboBox()
        self.detector.addItems(list(DETECTORS))
        self.model = QtWidgets.QLineEdit()
        self.model.setPlaceholderText("shipped model for the rate")
        self.threshold = QtWidgets.QDoubleSpinBox()
        self.threshold.setRange(0.0, 120.0)
        self.threshold.setDecimals(3)
        self.threshold.setSpecialValueText("default")
        self.threshold.setToolTip("nn: probability 0..1; threshold/cascade: dBAE (0 = default)")
        self.calibrated = QtWidgets.QLabel("–")
        self.calibrated.setWordWrap(True)
        self._rate_hz: float | None = None
        self.model.editingFinished.connect(lambda: self.show_calibration(self._rate_hz))
        self.apply_detector = QtWidgets.QPushButton("Apply")
        form.addRow("Kind", self.detector)
        form.addRow("Model", self.model)
        form.addRow("Threshold", self.threshold)
        form.addRow("Calibrated", self.calibrated)
        form.addRow(self.apply_detector)
        layout.addWidget(box)

        box, form = _group("Display")
        self.pause = QtWidgets.QCheckBox("Pause display (acquisition continues)")
        self.level_low = QtWidgets.QDoubleSpinBox()
        self.level_high = QtWidgets.QDoubleSpinBox()
        for spin, value in ((self.level_low, 10.0), (self.level_high, 70.0)):
            spin.setRange(-20.0, 107.0)
            spin.setSuffix(" dB")
            spin.setValue(value)
        self.channels_row = QtWidgets.QHBoxLayout()
        self.channel_boxes: list[QtWidgets.QCheckBox] = []
        form.addRow(self.pause)
        form.addRow("Colour low", self.level_low)
        form.addRow("Colour high", self.level_high)
        form.addRow("Channels", self.channels_row)
        layout.addWidget(box)

        box, form = _group("Replay")
        self.play = QtWidgets.QPushButton("Play")
        self.play.setCheckable(True)
        self.speed = QtWidgets.QComboBox()
        self.speed.addItems([f"{s:g}×" for s in SPEEDS])
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.step_back = QtWidgets.QPushButton("◀ step")
        self.step_forward = QtWidgets.QPushButton("step ▶")
        self.timeline = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.timeline.setRange(0, 1000)
        self.position = QtWidgets.QLabel("0.000 s")
        self.export_hits = QtWidgets.QPushButton("Export hit table CSV…")
        row = QtWidgets.QHBoxLayout()
        for w in (self.play, self.speed, self.step_back, self.step_forward):
            row.addWidget(w)
        form.addRow(row)
        form.addRow(self.timeline)
        form.addRow("Position", self.position)
        form.addRow(self.export_hits)
        self.replay_box = box
        layout.addWidget(box)

        box, form = _group("Labels")
        self.confirm = QtWidgets.QPushButton("Confirm")
        self.reject = QtWidgets.QPushButton("Reject")
        self.retype = QtWidgets.QPushButton("Re-type as")
        self.label_type = QtWidgets.QComboBox()
        self.label_type.setEditable(True)
        self.add_mode = QtWidgets.QCheckBox("Add events by dragging on the spectrogram")
        self.save_labels = QtWidgets.QPushButton("Save labels")
        self.export_labels = QtWidgets.QPushButton("Export labelled CSV…")
        row = QtWidgets.QHBoxLayout()
        for w in (self.confirm, self.reject):
            row.addWidget(w)
        form.addRow(row)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.retype)
        row.addWidget(self.label_type)
        form.addRow(row)
        form.addRow(self.add_mode)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.save_labels)
        row.addWidget(self.export_labels)
        form.addRow(row)
        self.labels_box = box
        layout.addWidget(box)
        layout.addStretch(1)

    def set_channels(self, channels: int) -> None:
        """One visibility check box per channel."""
        for cb in self.channel_boxes:
            self.channels_row.removeWidget(cb)
            cb.deleteLater()
        self.channel_boxes = []
        for c in range(channels):
            cb = QtWidgets.QCheckBox(f"{c}")
            cb.setChecked(True)
            self.channels_row.addWidget(cb)
            self.channel_boxes.append(cb)

    def set_mode(self, replay: bool) -> None:
        """Show the controls of live (recording) or replay (replay, labels) mode."""
        self.replay_box.setVisible(replay)
        self.labels_box.setVisible(replay)
        self.recording_box.setVisible(not replay)

    def show_calibration(self, rate_hz: float | None) -> None:
        """Show the site calibration of the model in use at this source rate (Hz)."""
        self._rate_hz = rate_hz
        self.calibrated.setText(calibration_text(self.model.text().strip() or None, rate_hz))

    def detector_args(self) -> list[str]:
        """The detector controls as ``aemon monitor`` arguments."""
        args = ["--detector", self.detector.currentText()]
        if self.model.text().strip():
            args += ["--model", self.model.text().strip()]
        if self.threshold.value() > 0:
            args += ["--threshold", f"{self.threshold.value():g}"]
        return args

    def detect_options(self) -> DetectOptions:
        """The detector controls as options for a re-detection."""
        threshold = self.threshold.value() or None  # the probability for nn, else dBAE
        model = self.model.text().strip() or None
        detector = self.detector.currentText()
        if detector == "nn":
            return DetectOptions(model=model, detector=detector, probability=threshold)
        return DetectOptions(model=model, detector=detector, threshold_db=threshold)
