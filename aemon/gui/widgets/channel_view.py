"""Per channel: a scrolling spectrogram with event markers, and the waveform strip below it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from aemon.events.hit import Hit
from aemon.gui.colours import inferno_like, marker_colour
from aemon.gui.spectrogram_model import SpectrogramColumns, level_lut

logger = logging.getLogger(__name__)

DragCallback = Callable[[int, float, float], None]
"""Called with ``(channel, start_s, stop_s)`` when the user drags a time span."""


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
        self._on_drag = on_drag
        self._brushes: dict[tuple[int, int, int], QtGui.QBrush] = {}
        self._drawn_markers: list[tuple[float, int, int]] = [(0.0, 0, 0)] * spectrogram.channels
        self._wave_range = [0.0] * spectrogram.channels
        self._label_time = -1.0
        span = spectrogram.columns * spectrogram.column_s
        self._rect = QtCore.QRectF(-span, 0.0, span, fmax_khz)
        self._times = np.repeat(spectrogram.column_times_s() - spectrogram.span_s[1], 2)
        row = 0
        for c in range(spectrogram.channels):
            box = DragViewBox(c, self._dragged)
            plot = self.addPlot(row=row, col=0, viewBox=box)
            plot.setLabel("left", f"ch{c + 1}  f", units="kHz")
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

    # -- settings -----------------------------------------------------------------------------

    def set_levels(self, low_db: float, high_db: float) -> None:
        """Colour levels (dB re 1 µV at the sensor); recolours the history via the LUT."""
        self._lut = level_lut(self._colours, low_db, high_db)

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
        """Remember events for markers (drawn on the next :meth:`refresh`)."""
        for e in events:
            if 0 <= e.channel < len(self._events):
                self._events[e.channel].append(e)
        for c, lst in enumerate(self._events):
            if len(lst) > 20_000:
                self._events[c] = lst[-10_000:]

    def clear_events(self) -> None:
        """Forget every marker."""
        self._events = [[] for _ in self._events]

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
        events = self._events[channel]
        visible = [e for e in events[-400:] if t0 <= e.time_s <= newest]
        key = (newest, len(visible), len(events))
        if key == self._drawn_markers[channel]:
            return
        self._drawn_markers[channel] = key
        if not visible:
            self.markers[channel].setData([], [])
            return
        xs = np.array([e.time_s for e in visible]) - newest
        ys = np.full(len(visible), self._fmax * 0.93)
        brushes = [self._brush(marker_colour(e.type, e.detector)) for e in visible]
        self.markers[channel].setData(xs, ys, brush=brushes, data=visible)

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
