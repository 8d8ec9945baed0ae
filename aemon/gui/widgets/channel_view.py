"""Per channel: a scrolling spectrogram with event markers, and the waveform strip below it;
a legend of the marker colours above, and a colour bar in dB re 1 µV beside them.

Markers are triangles at the top of the spectrogram, coloured by event type (and detector).
A reviewed event's triangle is outlined in its label's colour (a rejected one becomes a
cross), and the event selected in the hit table is ringed.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from aemon.events.hit import Hit
from aemon.gui.colours import LABEL_COLOURS, inferno_like, marker_colour
from aemon.gui.spectrogram_model import SpectrogramColumns, level_lut

logger = logging.getLogger(__name__)

DragCallback = Callable[[int, float, float], None]
"""Called with ``(channel, start_s, stop_s)`` when the user drags a time span."""

MAX_MARKERS = 400
"""Markers drawn per channel at most (the newest in view)."""
MAX_EVENTS = 200_000
"""Events remembered per channel for markers; beyond it the oldest half is forgotten."""


class DragViewBox(pg.ViewBox):
    """A view box that reports left-button drags as a time span (for adding events) when
    :attr:`drag_enabled`; otherwise it behaves as usual."""

    def __init__(self, channel: int, on_drag: DragCallback, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.channel = channel
        self.drag_enabled = False
        self._on_drag = on_drag
        self._region = pg.LinearRegionItem(movable=False, brush=(80, 255, 80, 60))
        self._region.setZValue(20)
        self._region.hide()
        self.addItem(self._region, ignoreBounds=True)

    def mouseDragEvent(self, ev: object, axis: object = None) -> None:  # noqa: N802 (Qt name)
        if not self.drag_enabled or ev.button() != QtCore.Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()  # type: ignore[attr-defined]
        start = self.mapSceneToView(ev.buttonDownScenePos()).x()  # type: ignore[attr-defined]
        now = self.mapSceneToView(ev.scenePos()).x()  # type: ignore[attr-defined]
        self._region.setRegion(sorted((start, now)))
        self._region.show()
        if ev.isFinish():  # type: ignore[attr-defined]
            self._region.hide()
            lo, hi = sorted((start, now))
            if hi > lo:
                self._on_drag(self.channel, lo, hi)  # relative times (s)


class ChannelView(pg.GraphicsLayoutWidget):
    """Spectrograms (kHz against s) and waveform strips (V against s) of every channel.

    The time axis is fixed, in seconds relative to the newest column (``-span … 0``), and the
    newest column's stream time is in the axis label: scrolling then redraws the images and
    curves but never regenerates axis ticks, which costs more than the data at 25 frames/s.

    Args:
        spectrogram: The column source it draws.
        on_drag: Called with ``(channel, start_s, stop_s)`` when the user drags a span while
            adding events.
    """

    def __init__(
        self, spectrogram: SpectrogramColumns, on_drag: DragCallback | None = None
    ) -> None:
        super().__init__()
        self.setBackground((16, 16, 24))
        self.spec = spectrogram
        self._colours = inferno_like()
        self._lut = level_lut(self._colours, 0.0, 80.0)
        self.images: list[pg.ImageItem] = []
        self.markers: list[pg.ScatterPlotItem] = []
        self.waves: list[pg.PlotDataItem] = []
        self.spec_plots: list[pg.PlotItem] = []
        self.wave_plots: list[pg.PlotItem] = []
        self.boxes: list[DragViewBox] = []
        fmax_khz = spectrogram.freqs_hz[-1] / 1e3
        self._fmax = fmax_khz
        self._events: list[list[Hit]] = [[] for _ in range(spectrogram.channels)]
        self._event_times: list[list[float]] = [[] for _ in range(spectrogram.channels)]
        self._marks: Mapping[tuple[int, int], str] = {}
        self._marks_version = 0
        self._selected: Hit | None = None
        self._legend_types: set[tuple[str, str]] = set()
        self._on_drag = on_drag
        self._brushes: dict[tuple[int, int, int], QtGui.QBrush] = {}
        self._pens: dict[str, QtGui.QPen] = {}
        self._drawn_markers: list[tuple[float, ...]] = [(0.0,)] * spectrogram.channels
        self.rings: list[pg.ScatterPlotItem] = []
        self._wave_range = [0.0] * spectrogram.channels
        self._label_time = -1.0
        span = spectrogram.columns * spectrogram.column_s
        self._rect = QtCore.QRectF(-span, 0.0, span, fmax_khz)
        self._times = np.repeat(spectrogram.column_times_s() - spectrogram.span_s[1], 2)
        self.legend = pg.LegendItem(colCount=8, labelTextSize="8pt", frame=False)
        self.addItem(self.legend, row=0, col=0)
        self._add_label_legend()
        row = 1
        for c in range(spectrogram.channels):
            box = DragViewBox(c, self._dragged)
            plot = self.addPlot(row=row, col=0, viewBox=box)
            plot.setLabel("left", f"channel {c}  f", units="kHz")
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.setYRange(0, fmax_khz, padding=0)
            plot.setXRange(-span, 0.0, padding=0)
            plot.setMouseEnabled(x=False, y=True)
            plot.hideAxis("bottom")
            plot.hideButtons()
            image = pg.ImageItem(axisOrder="col-major")
            plot.addItem(image)
            scatter = pg.ScatterPlotItem(size=11, symbol="t", pen=pg.mkPen("w", width=0.8))
            scatter.setZValue(10)
            plot.addItem(scatter)
            ring = pg.ScatterPlotItem(size=19, symbol="o", pen=pg.mkPen((255, 255, 0), width=2),
                                      brush=None)  # fmt: skip
            ring.setZValue(11)
            plot.addItem(ring)
            self.rings.append(ring)
            wave_plot = self.addPlot(row=row + 1, col=0)
            wave_plot.setLabel("left", "V")
            wave_plot.setMaximumHeight(90)
            wave_plot.setXLink(plot)
            wave_plot.enableAutoRange(x=False, y=False)
            wave_plot.setMouseEnabled(x=False, y=False)
            wave_plot.hideButtons()
            wave = wave_plot.plot(pen=pg.mkPen((120, 220, 255), width=1))
            if c == spectrogram.channels - 1:
                wave_plot.setLabel("bottom", "time relative to the newest column (s)")
                self._time_axis = wave_plot.getAxis("bottom")
            else:
                wave_plot.hideAxis("bottom")
            if c:
                plot.setXLink(self.spec_plots[0])
            self.images.append(image)
            self.markers.append(scatter)
            self.waves.append(wave)
            self.spec_plots.append(plot)
            self.wave_plots.append(wave_plot)
            self.boxes.append(box)
            row += 2
        self.colour_bar = pg.ColorBarItem(
            values=(0.0, 80.0), colorMap=pg.ColorMap(None, self._colours), interactive=False,
            label="dB re 1 µV", width=14,
        )  # fmt: skip
        self.addItem(self.colour_bar, row=1, col=1, rowspan=row - 1)

    # -- settings -----------------------------------------------------------------------------

    def set_levels(self, low_db: float, high_db: float) -> None:
        """Colour levels (dB re 1 µV at the sensor); recolours the history via the LUT."""
        self._lut = level_lut(self._colours, low_db, high_db)
        self.colour_bar.setLevels((low_db, high_db))

    def set_channel_visible(self, channel: int, visible: bool) -> None:
        """Show or hide one channel's spectrogram and waveform."""
        self.spec_plots[channel].setVisible(visible)
        self.wave_plots[channel].setVisible(visible)

    def set_drag_enabled(self, enabled: bool) -> None:
        """Left-button drags add events (True) or pan (False)."""
        for box in self.boxes:
            box.drag_enabled = enabled

    # -- data ---------------------------------------------------------------------------------

    def add_events(self, events: Sequence[Hit]) -> None:
        """Remember events for markers (drawn on the next :meth:`refresh`), in time order per
        channel: a replay's whole table at once, or live events as they come."""
        for e in sorted(events, key=lambda e: e.time_s):
            if not 0 <= e.channel < len(self._events):
                continue
            times, kept = self._event_times[e.channel], self._events[e.channel]
            if not times or e.time_s >= times[-1]:
                times.append(e.time_s)
                kept.append(e)
            else:  # a live event that came late
                i = bisect.bisect_right(times, e.time_s)
                times.insert(i, e.time_s)
                kept.insert(i, e)
            self._add_to_legend(e)
        for c, kept in enumerate(self._events):
            if len(kept) > MAX_EVENTS:
                self._events[c] = kept[-MAX_EVENTS // 2 :]
                self._event_times[c] = self._event_times[c][-MAX_EVENTS // 2 :]

    def clear_events(self) -> None:
        """Forget every marker."""
        self._events = [[] for _ in self._events]
        self._event_times = [[] for _ in self._events]
        self._drawn_markers = [(0.0,)] * len(self._events)

    def set_marks(self, marks: Mapping[tuple[int, int], str]) -> None:
        """Outline the markers of reviewed events: ``{(channel, sample_index): action}``
        (actions as in :data:`aemon.gui.colours.LABEL_COLOURS`)."""
        self._marks = marks
        self._marks_version += 1

    def select(self, event: Hit | None) -> None:
        """Ring the marker of ``event`` (None: no ring)."""
        self._selected = event
        self._marks_version += 1

    def _add_to_legend(self, event: Hit) -> None:
        key = (event.type, event.detector)
        if key in self._legend_types:
            return
        self._legend_types.add(key)
        sample = pg.ScatterPlotItem(symbol="t", size=9, pen=pg.mkPen("w", width=0.8),
                                    brush=self._brush(marker_colour(*key)))  # fmt: skip
        self.legend.addItem(sample, f"{event.type} [{event.detector}]")

    def _add_label_legend(self) -> None:
        for action, colour in LABEL_COLOURS.items():
            symbol = "x" if action == "rejected" else "t"
            sample = pg.ScatterPlotItem(symbol=symbol, size=9, pen=pg.mkPen(colour, width=2),
                                        brush=None)  # fmt: skip
            self.legend.addItem(sample, action)

    def refresh(self) -> None:
        """Redraw images, waveforms and markers from the column source (GUI thread)."""
        spec = self.spec
        newest = spec.newest_s
        for c, image in enumerate(self.images):
            if not self.spec_plots[c].isVisible():
                continue
            image.setImage(spec.image(c), autoLevels=False, levels=(0, 255), lut=self._lut)
            image.setRect(self._rect)  # scales by the image size: only valid after setImage
            envelope = spec.envelope(c)
            self.waves[c].setData(self._times, envelope.reshape(-1))
            self._scale_wave(c, float(np.abs(envelope).max(initial=0.0)))
            self._draw_markers(c, newest)
        if round(newest, 1) != self._label_time:  # a label change re-lays out: ≤ 10×/s
            self._label_time = round(newest, 1)
            self._time_axis.setLabel(f"time relative to {newest:.1f} s (s)")

    def _scale_wave(self, channel: int, peak: float) -> None:
        """Y range ±(a power of 2 above the peak), changed only when it must (axis redraws
        are expensive)."""
        current = self._wave_range[channel]
        if peak <= 0:
            return
        if current == 0 or peak > current or peak < current / 8:
            self._wave_range[channel] = limit = 2.0 ** np.ceil(np.log2(peak * 1.1))
            self.wave_plots[channel].setYRange(-limit, limit, padding=0)

    def _draw_markers(self, channel: int, newest: float) -> None:
        t0 = newest - self.spec.columns * self.spec.column_s
        times = self._event_times[channel]
        stop = bisect.bisect_right(times, newest)
        start = max(bisect.bisect_left(times, t0), stop - MAX_MARKERS)
        key = (newest, start, stop, len(times), self._marks_version)
        if key == self._drawn_markers[channel]:
            return
        self._drawn_markers[channel] = key
        y = self._fmax * 0.93
        chosen = self._selected
        if chosen is not None and chosen.channel == channel and t0 <= chosen.time_s <= newest:
            self.rings[channel].setData([chosen.time_s - newest], [y])
        else:
            self.rings[channel].setData([], [])
        visible = self._events[channel][start:stop]
        if not visible:
            self.markers[channel].setData([], [])
            return
        actions = [self._marks.get((channel, int(e.sample_index)), "") for e in visible]
        self.markers[channel].setData(
            np.array(times[start:stop]) - newest, np.full(len(visible), y), data=visible,
            brush=[self._brush(marker_colour(e.type, e.detector)) for e in visible],
            pen=[self._pen(a) for a in actions],
            symbol=["x" if a == "rejected" else "t" for a in actions],
        )  # fmt: skip

    def _pen(self, action: str) -> QtGui.QPen:
        pen = self._pens.get(action)
        if pen is None:
            colour = LABEL_COLOURS.get(action)
            pen = pg.mkPen("w", width=0.8) if colour is None else pg.mkPen(colour, width=2.5)
            self._pens[action] = pen
        return pen

    def _brush(self, colour: tuple[int, int, int]) -> QtGui.QBrush:
        brush = self._brushes.get(colour)
        if brush is None:
            brush = self._brushes[colour] = pg.mkBrush(*colour)
        return brush

    def _dragged(self, channel: int, start: float, stop: float) -> None:
        """A drag over relative times → stream times (s) for the owner."""
        if self._on_drag is not None:
            newest = self.spec.newest_s
            self._on_drag(channel, newest + start, newest + stop)

    def marker_count(self, channel: int) -> int:
        """Markers drawn on a channel now."""
        return len(self.markers[channel].data)
