"""The selected event and the waveform-similarity views of the window (a mixin of
:class:`aemon.gui.main_window.MainWindow`): event detail, "similar events", and the trend
plots' "colour by cluster" mode with its "Cluster now" and "Load clusters…".

Latent vectors are computed off the GUI thread (:class:`aemon.gui.event_embeddings
.EventEmbeddings`), clustering too (:class:`aemon.gui.event_clusters.ClusterJob`); the display
timer picks up their results (:meth:`EventViews._tick_event_views`).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtWidgets

from aemon.errors import AemonError
from aemon.events.hit import Hit
from aemon.gui.event_clusters import (
    ClusterJob,
    default_cluster_table,
    labels_of,
    read_cluster_labels,
)
from aemon.gui.event_embeddings import EventEmbeddings, EventKey
from aemon.gui.sessions import LiveSession, ReplaySession
from aemon.gui.trends import TrendAccumulator
from aemon.gui.widgets.cluster_bar import ClusterBar
from aemon.gui.widgets.similar_view import SimilarEventsView

logger = logging.getLogger(__name__)

_REFRESH_FRAMES = 25
"""An incomplete "similar events" list is recomputed at most every this many frames."""

_DETAIL_RETRY_FRAMES = 100
"""Frames (about 4 s) for which a live event's detail waits for its signal to arrive."""


class EventViews:
    """Event detail, similar events and cluster colours; a mixin of ``MainWindow`` (its
    methods take the window as ``self``, typed ``Any`` as in
    :class:`aemon.gui.label_actions.LabelActions`)."""

    def _build_event_views(self: Any) -> tuple[QtWidgets.QWidget, QtWidgets.QWidget]:
        """Create the similar-events list and the trends tab (bar + plots); returns both."""
        self.embeddings = EventEmbeddings()
        self.cluster_labels: dict[EventKey, int] = {}
        self.cluster_trends = TrendAccumulator()
        self.cluster_job: ClusterJob | None = None
        self._from_similar = False
        self._detail_pending: tuple[int, int] | None = None  # (event index, frames left)
        self._similar_version = -1  # embeddings version of an incomplete list, else -1
        self._keys: list[EventKey] = []
        self.similar_view = SimilarEventsView()
        self.similar_view.show_message("Similar events: select an event in the table")
        self.similar_view.chosen.connect(self.show_similar_event)
        self.similar_view.count_changed.connect(
            lambda _: self._update_similar(self.similar_view.anchor)
        )
        self.cluster_bar = ClusterBar()
        self.cluster_bar.colour_by.currentTextChanged.connect(self.set_colour_by)
        self.cluster_bar.cluster_now.clicked.connect(self.cluster_now)
        self.cluster_bar.load.clicked.connect(self._choose_cluster_table)
        tab = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(tab)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.cluster_bar)
        layout.addWidget(self.trend_view, 1)
        return self.similar_view, tab

    def _event_keys(self: Any) -> list[EventKey]:
        """``(channel, sample_index)`` of each hit-table event, in stored order (cached: the
        table only grows between :meth:`_events_loaded` calls, which drop the cache)."""
        keys: list[EventKey] = self._keys
        if len(keys) > len(self.table):
            keys.clear()
        if len(keys) < len(self.table):
            rows = self.table.rows[len(keys) :]
            keys.extend(zip(rows["channel"].tolist(), rows["sample_index"].tolist(), strict=True))
        return keys

    # -- events in --------------------------------------------------------------------------

    def _reset_event_views(self: Any) -> None:
        """A new session or stream: forget vectors and clusters."""
        self._keys = []
        self.embeddings.clear()
        self._drop_clusters()
        self.cluster_trends.clear()
        self.detail.clear()
        self.similar_view.show_message("Similar events: select an event in the table")

    def _events_loaded(self: Any) -> None:
        """The hit table was replaced (replay opened or re-detected): embed all its events
        (worker thread) and take the clusters of the events table, else of
        ``FILE.clusters.csv`` if there is one."""
        self._keys = []
        self.embeddings.clear()
        self._drop_clusters()
        if isinstance(self.session, ReplaySession):
            model = self.session.model
            self.embeddings.add_recorded(self._event_keys(), model.windows)
            table = default_cluster_table(model.path)
            if model.cluster_labels:
                self.cluster_labels = model.cluster_labels  # replayed with a clustered table
                self.cluster_bar.status.setText("clusters of the events table")
            elif table is not None:
                self.load_clusters(table)
                return
        self._rebuild_cluster_trends()

    def _drop_clusters(self: Any) -> None:
        """Forget the cluster labels and a clustering still running (it was of other events;
        its thread ends by itself)."""
        self.cluster_labels = {}
        self.cluster_job = None
        self.cluster_bar.cluster_now.setEnabled(True)
        self.cluster_bar.status.setText("")

    def _events_arrived(self: Any, events: list[Hit]) -> None:
        """Live events: queue their windows (cut from the raw history) and trend them."""
        keys = [(int(e.channel), int(e.sample_index)) for e in events]
        if isinstance(self.session, LiveSession) and self.history is not None and self.info:
            self.embeddings.add_live(keys, self.history, self.info.volts_per_count)
        self.cluster_trends.add(events, labels_of(keys, self.cluster_labels).tolist())

    def _tick_event_views(self: Any) -> None:
        """Every frame: cut newly complete live windows, take a finished clustering, show a
        live event's waveform once it has arrived, and complete a similar-events list that
        waited for vectors."""
        # (no info between a monitor restart and its new stream: nothing new arrives then)
        if self.history is not None and self.info and isinstance(self.session, LiveSession):
            self.embeddings.collect(self.history, self.info.volts_per_count)
        if self._detail_pending is not None:
            index, frames_left = self._detail_pending
            self._detail_pending = None
            if self.table_view.selected_index() == index and frames_left > 0:
                self._show_detail(index, frames_left - 1)
        job = self.cluster_job
        if job is not None and job.done():
            self.cluster_job = None
            self.cluster_bar.cluster_now.setEnabled(True)
            if job.error is not None or job.labels is None:
                self.cluster_bar.status.setText(f"clustering failed: {job.error}")
            else:
                self.cluster_labels = job.labels
                self.cluster_bar.status.setText(
                    f"k = {job.k} over {len(job.labels)} events (latent, k-means)"
                )
                self._rebuild_cluster_trends()
        if (
            self._similar_version >= 0
            and self.embeddings.version != self._similar_version
            and self.frames % _REFRESH_FRAMES == 0
        ):
            self._update_similar(self.similar_view.anchor)

    # -- similar events -----------------------------------------------------------------------

    def _show_selected(self: Any) -> None:
        index = self.table_view.selected_index()
        if index is None or self.info is None:
            return
        self.show_on_spectrogram(self.table.event(index))
        self._show_detail(index, _DETAIL_RETRY_FRAMES)
        if self._from_similar:  # a neighbour was clicked: keep the list it came from
            self._from_similar = False
            self.similar_view.highlight(index)
        else:
            self._update_similar(index)

    def _show_detail(self: Any, index: int, retries: int) -> None:
        """Show stored event ``index`` in the event detail. A live event selected before its
        whole window has arrived is shown again, with its waveform, on a later frame (up to
        ``retries`` frames)."""
        event = self.table.event(index)
        rate = self.info.sample_rate_hz
        duration = event.duration_us if math.isfinite(event.duration_us) else 0.0
        start = event.sample_index - round(200e-6 * rate)
        stop = event.sample_index + round((duration + 300) * 1e-6 * rate)
        volts = None
        if isinstance(self.session, ReplaySession):
            first, block = self.session.model.read(start, stop - start)
            start = first
            if block.shape[1]:
                volts = (block[event.channel] * self.info.volts_per_count[event.channel]).astype(
                    np.float32
                )
        elif self.history is not None:
            got = self.history.volts(start, stop, self.info.volts_per_count)
            volts = None if got is None else got[event.channel]
            if got is None and stop > self.history.end:  # the end has not arrived yet
                self._detail_pending = (index, retries)
        self.detail.show_event(event, volts, start, rate)

    def _update_similar(self: Any, index: int | None) -> None:
        """List the neighbours of stored event ``index`` (or say why not yet)."""
        view = self.similar_view
        if index is None or index >= len(self.table):
            return
        embeddings = self.embeddings
        if embeddings.error is not None:
            view.show_message(f"Similar events unavailable: {embeddings.error}", index)
            self._similar_version = -1
            return
        version, pending = embeddings.version, embeddings.pending
        found = embeddings.neighbours(self._event_keys(), index, view.count.value())
        self._similar_version = version if pending or not found else -1
        if not found:
            view.show_message(
                f"Similar to event {index}: computing waveform embeddings… ({pending} events to go)"
                if pending or embeddings.busy()
                else f"Similar to event {index}: no waveform for this event",
                index,
            )
            return
        rows = [(n.event, n.distance, self.table.event(n.event)) for n in found]
        view.show_neighbours(index, rows, pending)
        view.highlight(self.table_view.selected_index())

    def show_similar_event(self: Any, index: int) -> None:
        """Show stored event ``index`` (a clicked neighbour) and keep the neighbour list."""
        self._from_similar = True
        self.table_view.select_index(index)
        self._from_similar = False

    # -- clusters ---------------------------------------------------------------------------

    def set_colour_by(self: Any, mode: str) -> None:
        """Colour the trend plots by ``"channel"`` or ``"cluster"``."""
        if self.cluster_bar.colour_by.currentText() != mode:
            self.cluster_bar.colour_by.setCurrentText(mode)  # calls back here
            return
        trends = self.cluster_trends if mode == "cluster" else self.trends
        self.trend_view.set_colour_mode(mode, trends)

    def cluster_now(self: Any) -> ClusterJob:
        """Cluster the events seen so far (their latent vectors) in a worker thread; the
        trend colours follow when it finishes."""
        self.cluster_bar.cluster_now.setEnabled(False)
        self.cluster_bar.status.setText("clustering…")
        self.cluster_job = ClusterJob(
            self.embeddings, list(self._event_keys()), self.cluster_bar.chosen_k()
        )
        return self.cluster_job

    def load_clusters(self: Any, path: str | Path) -> int:
        """Take the cluster labels of a clustered events table (``aemon cluster``); returns
        how many of the shown events got one."""
        self.cluster_labels = read_cluster_labels(path)
        self._rebuild_cluster_trends()
        found = sum(1 for k in self._event_keys() if k in self.cluster_labels)
        self.cluster_bar.status.setText(f"{found} events clustered by {Path(path).name}")
        return found

    def _choose_cluster_table(self: Any) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Load clusters", "", "aemon cluster tables (*.csv *.h5)"
        )
        if path:
            try:
                self.load_clusters(path)
            except AemonError as exc:
                QtWidgets.QMessageBox.critical(self, "aemon", str(exc))

    def _rebuild_cluster_trends(self: Any) -> None:
        groups = labels_of(self._event_keys(), self.cluster_labels)
        self.cluster_trends.clear()
        self.cluster_trends.add_rows(self.table.rows, groups.tolist())
        if self.trend_view.colour_by == "cluster":
            self.trend_view.refresh()
