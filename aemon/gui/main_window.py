"""The monitor window: spectrograms with markers, waveform strips, hit table, event detail,
trend plots, controls and status bar, fed by a live or a replay session on a GUI timer."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from aemon.detect.options import DetectOptions
from aemon.dsp.raw_history import RawHistory
from aemon.errors import AemonError
from aemon.events.hit import Hit
from aemon.gui.event_views import EventViews
from aemon.gui.hit_table import HitTable
from aemon.gui.label_actions import LabelActions
from aemon.gui.replay_actions import VISIBLE_S, ReplayActions
from aemon.gui.sessions import LiveSession, ReplaySession, StreamInfo, Tick
from aemon.gui.settings import restore_settings, save_settings
from aemon.gui.spectrogram_model import SpectrogramColumns
from aemon.gui.status_text import STATUS_FIELDS, status_texts
from aemon.gui.trends import TrendAccumulator
from aemon.gui.widgets.channel_view import ChannelView
from aemon.gui.widgets.control_panel import ControlPanel
from aemon.gui.widgets.event_detail import EventDetail
from aemon.gui.widgets.hit_table_view import HitTableModel, HitTableView
from aemon.gui.widgets.trend_view import TrendView
from aemon.io.event_csv import write_event_csv

logger = logging.getLogger(__name__)

FRAME_MS = 40
"""Display timer period (ms): 25 frames/s."""
HISTORY_S = 1.0
"""Live raw signal kept (s) for the event detail and the embeddings' windows."""


class MainWindow(LabelActions, ReplayActions, EventViews, QtWidgets.QMainWindow):
    """The window. Open a session with :meth:`open_live` or :meth:`open_replay`.

    Args:
        settings: Where settings persist (default: the user's ``aemon/gui`` QSettings).
    """

    def __init__(self, settings: QtCore.QSettings | None = None) -> None:
        super().__init__()
        self.setWindowTitle("aemon")
        self.settings = settings or QtCore.QSettings("aemon", "gui")
        self.session: LiveSession | ReplaySession | None = None
        self.info: StreamInfo | None = None
        self.spec: SpectrogramColumns | None = None
        self.channel_view: ChannelView | None = None
        self.history: RawHistory | None = None
        self.table = HitTable()
        self.table_model = HitTableModel(self.table)
        self.trends = TrendAccumulator()
        self._event_times: deque[tuple[float, int]] = deque(maxlen=64)
        self._new_rows: list[Hit] = []
        self._redetect: threading.Thread | None = None
        self._redetected: list[Hit] | BaseException | None = None
        self._last_tick = time.monotonic()
        self.frames = 0
        self._build()
        restore_settings(self)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    # -- layout -------------------------------------------------------------------------------

    def _build(self) -> None:
        self.controls = ControlPanel()
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(340)
        dock = QtWidgets.QDockWidget("Controls", self)
        dock.setObjectName("controls")
        dock.setWidget(scroll)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.display_box = QtWidgets.QWidget()
        self.display_layout = QtWidgets.QVBoxLayout(self.display_box)
        self.display_layout.setContentsMargins(0, 0, 0, 0)
        self.placeholder = QtWidgets.QLabel("No source: connect to a monitor or open a recording")
        self.placeholder.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.display_layout.addWidget(self.placeholder)
        self.table_view = HitTableView(self.table_model)
        self.table_view.selectionModel().selectionChanged.connect(self._show_selected)
        self.detail = EventDetail()
        self.trend_view = TrendView(self.trends)
        similar, trends_tab = self._build_event_views()
        lower = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        for widget in (self.table_view, self.detail, similar):
            lower.addWidget(widget)
        lower.setSizes([540, 420, 360])
        main = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        main.addWidget(self.display_box)
        main.addWidget(lower)
        main.setSizes([560, 300])
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(main, "Display")
        self.tabs.addTab(trends_tab, "Trends")
        self.setCentralWidget(self.tabs)
        self.status_labels = {name: QtWidgets.QLabel("–") for name in STATUS_FIELDS}
        for label in self.status_labels.values():
            self.statusBar().addPermanentWidget(label)
        c = self.controls
        c.connect_button.clicked.connect(lambda: self.open_live(c.source.text().strip()))
        c.open_button.clicked.connect(self._choose_recording)
        c.record_button.toggled.connect(self._toggle_recording)
        c.apply_detector.clicked.connect(self._apply_detector)
        c.pause.toggled.connect(self._pause_toggled)
        c.level_low.valueChanged.connect(self._levels_changed)
        c.level_high.valueChanged.connect(self._levels_changed)
        c.play.toggled.connect(self._play_toggled)
        c.speed.currentIndexChanged.connect(self._speed_changed)
        c.step_back.clicked.connect(lambda: self.step(-0.1))
        c.step_forward.clicked.connect(lambda: self.step(0.1))
        c.timeline.sliderReleased.connect(
            lambda: self.seek(c.timeline.value() / 1000 * self._replay().model.duration_s)
        )
        c.timeline.actionTriggered.connect(self.page_step)
        c.export_hits.clicked.connect(self._choose_hit_export)
        self._connect_label_actions()
        c.set_mode(replay=False)

    # -- sessions -----------------------------------------------------------------------------

    def open_live(
        self,
        source: str | None,
        *,
        events_endpoint: str | None = None,
        display_endpoint: str | None = None,
        monitor_args: list[str] | None = None,
    ) -> None:
        """Start ``aemon monitor SOURCE`` as a child process (or attach to the endpoints)."""
        self._close_session()
        self.info = None
        self.session = LiveSession(
            source or None, events_endpoint=events_endpoint, display_endpoint=display_endpoint,
            monitor_args=self.controls.detector_args() if monitor_args is None else monitor_args,
        )  # fmt: skip
        self.controls.set_mode(replay=False)
        self.controls.source.setText(source or events_endpoint or "")
        args = self.session.monitor_args
        if "--detector" in args[:-1]:
            self.controls.detector.setCurrentText(args[args.index("--detector") + 1])
        self.setWindowTitle(f"aemon – live – {source or events_endpoint}")

    def open_replay(self, path: str | Path, events_csv: str | Path | None = None) -> None:
        """Open a recording for replay and labelling (with the events of ``events_csv``
        instead of its ``/events`` when given)."""
        self._close_session()
        session = ReplaySession(path, events_csv)
        self.session = session
        self.controls.set_mode(replay=True)
        self.controls.source.setText(str(path))
        self._setup_stream(session.info)
        self._set_page_step(session.model.duration_s)
        self._load_events(session.events)
        self._open_labels(Path(path), session.info)
        self.setWindowTitle(f"aemon – replay – {Path(path).name}")

    def _close_session(self) -> None:
        self._reset_event_views()
        if self.session is not None:
            self.session.close()
            self.session = None

    def _setup_stream(self, info: StreamInfo) -> None:
        self.info = info
        columns = round(VISIBLE_S / 0.01)
        self.spec = SpectrogramColumns(
            info.channels, info.sample_rate_hz, info.volts_per_count, columns=columns,
            column_s=0.01, origin_sample=info.origin_sample,
        )  # fmt: skip
        self.history = RawHistory(round(HISTORY_S * info.sample_rate_hz))
        self.table.__init__(info.start_time_utc)  # type: ignore[misc]
        self.table_model.reset([])
        self._new_rows = []
        self.trends.clear()
        self._reset_event_views()
        if self.channel_view is not None:
            self.display_layout.removeWidget(self.channel_view)
            self.channel_view.deleteLater()
        self.placeholder.hide()
        self.channel_view = ChannelView(self.spec, self._dragged)
        self.display_layout.addWidget(self.channel_view)
        self._levels_changed()
        self.controls.set_channels(info.channels)
        self.controls.show_calibration(info.sample_rate_hz)
        for c, box in enumerate(self.controls.channel_boxes):
            box.toggled.connect(lambda on, c=c: self._channel_toggled(c, on))

    def _load_events(self, events: list[Hit]) -> None:
        self.table_model.reset(events)
        self.trends.clear()
        self.trends.add(events)
        if self.channel_view is not None:
            self.channel_view.clear_events()
            self.channel_view.add_events(events)
        self.apply_labels()
        self._events_loaded()

    # -- the display timer --------------------------------------------------------------------

    def tick(self) -> None:
        """Poll the session and redraw (GUI thread, every :data:`FRAME_MS`)."""
        now = time.monotonic()
        wall, self._last_tick = min(now - self._last_tick, 0.25), now
        self._finish_redetection()
        if self.session is None:
            return
        rate = self.info.sample_rate_hz if self.info else 1.0
        speed = self._replay().model.speed if isinstance(self.session, ReplaySession) else 1.0
        tick = self.session.poll(wall, max(int(rate * speed * 0.25), 1))
        if self.info is None and isinstance(self.session, LiveSession) and self.session.info:
            self._setup_stream(self.session.info)
        self._apply(tick)
        self._update_status(tick)

    def _apply(self, tick: Tick) -> None:
        if self.spec is None or self.channel_view is None or self.history is None:
            return
        if tick.reset_at is not None:
            self.spec.reset(at_sample=tick.reset_at)
        paused = self.controls.pause.isChecked() and isinstance(self.session, LiveSession)
        if not paused:
            for first, block in tick.blocks:
                self.spec.push(first, block)
                self.history.append(first, block)
        if tick.events:
            self._new_rows.extend(tick.events)
            self.trends.add(tick.events)
            self._events_arrived(tick.events)
            self.channel_view.add_events(tick.events)
            self._event_times.append((time.monotonic(), len(tick.events)))
        if self._new_rows and self.frames % 5 == 0:  # the table repaints 5×/s at most
            self.table_model.append(self._new_rows)
            self._new_rows = []
        if not paused:
            self.channel_view.refresh()
            self.frames += 1
        self._tick_event_views()
        if self.tabs.currentIndex() == 1 and self.frames % 10 == 0:
            self.trend_view.refresh()
        if isinstance(self.session, ReplaySession):
            m = self.session.model
            self.controls.position.setText(f"{m.time_s:.3f} / {m.duration_s:.3f} s")
            if not self.controls.timeline.isSliderDown():
                self.controls.timeline.setValue(round(1000 * m.time_s / max(m.duration_s, 1e-9)))
            if not m.playing and self.controls.play.isChecked():
                self.controls.play.setChecked(False)

    def _update_status(self, tick: Tick) -> None:
        now = time.monotonic()
        recent = sum(n for t, n in self._event_times if now - t < 5.0)
        texts = status_texts(self.session, tick.status, recent / 5.0, len(self.table))
        for name, text in texts.items():
            self.status_labels[name].setText(text)
        if isinstance(self.session, LiveSession):
            error = self.session.monitor_error()
            if error:
                self.statusBar().showMessage(f"monitor stopped: {error.splitlines()[-1]}")

    # -- controls -----------------------------------------------------------------------------

    def _levels_changed(self) -> None:
        low, high = self.controls.level_low.value(), self.controls.level_high.value()
        if self.channel_view is not None and high > low:
            self.channel_view.set_levels(low, high)

    def _channel_toggled(self, channel: int, on: bool) -> None:
        if self.channel_view is not None:
            self.channel_view.set_channel_visible(channel, on)

    def _toggle_recording(self, on: bool) -> None:
        session = self.session
        button = self.controls.record_button
        if not isinstance(session, LiveSession) or session.source is None:
            button.setChecked(False)
            return
        name = self.controls.record_file.text().strip()
        if on and not name:
            QtWidgets.QMessageBox.warning(self, "aemon", "Enter a file name for the recording")
            button.setChecked(False)
            return
        self.start_recording(Path(name) if on else None)

    def start_recording(self, path: Path | None) -> None:
        """Live: restart the monitor recording to ``path`` (None: stop recording)."""
        assert isinstance(self.session, LiveSession)
        self.session.restart(path)
        self.info = None  # the restarted monitor announces its stream again
        self.controls.record_button.setText("Stop recording" if path else "Start recording")

    def _apply_detector(self) -> None:
        if isinstance(self.session, LiveSession) and self.session.source is not None:
            self.session.restart(self.session.recording, self.controls.detector_args())
            self.info = None
        elif isinstance(self.session, ReplaySession):
            self.redetect(self.controls.detect_options())

    def redetect(self, options: DetectOptions) -> threading.Thread:
        """Replay: re-run detection in a worker thread; the table updates when it finishes."""
        session = self._replay()

        def work() -> None:
            try:
                self._redetected = session.model.redetect(options)
            except BaseException as exc:  # shown in the status bar by the GUI thread
                self._redetected = exc

        self.statusBar().showMessage("re-running detection…")
        self._redetect = threading.Thread(target=work, name="aemon-redetect", daemon=True)
        self._redetect.start()
        return self._redetect

    def _finish_redetection(self) -> None:
        result, self._redetected = self._redetected, None
        if isinstance(result, BaseException):
            self.statusBar().showMessage(f"re-detection failed: {result}")
        elif result is not None:
            self._load_events(result)
            self.statusBar().showMessage(f"re-detection found {len(result)} events", 10_000)

    def export_hit_table(self, path: str | Path) -> int:
        """Write the hit table (all events, time order) as an event CSV; rows written."""
        return write_event_csv(path, self.table.events())

    def _choose_hit_export(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export hit table", "", "CSV (*.csv)")
        if path:
            self.statusBar().showMessage(f"wrote {self.export_hit_table(path)} rows to {path}")

    def _choose_recording(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open recording", "", "aemon recordings (*.h5 *.hdf5)"
        )
        if path:
            try:
                self.open_replay(path)
            except AemonError as exc:
                QtWidgets.QMessageBox.critical(self, "aemon", str(exc))

    def closeEvent(self, event: object) -> None:  # noqa: N802 (Qt name)
        """Save settings and stop the monitor child (it closes its recording)."""
        self.timer.stop()
        save_settings(self)
        self._close_session()
        super().closeEvent(event)  # type: ignore[arg-type]
