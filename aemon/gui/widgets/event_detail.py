"""The selected event, zoomed: its waveform (onset and end marked) and its spectrum; a hint
before any event is selected.

When the shipped U-Net denoiser loads (:mod:`aemon.denoise`, ONNX Runtime), the denoised
waveform is drawn over the raw one (orange), so a burst buried in machine noise is readable;
``show_denoised`` turns the overlay off and on.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from aemon.events.hit import Hit

if TYPE_CHECKING:
    from aemon.denoise.denoiser import Denoiser

logger = logging.getLogger(__name__)


HINT = (
    "Select an event in the hit table to see its waveform (onset and end marked, denoised "
    "overlay) and its spectrum here"
)
"""What the pane says before an event is selected."""


class EventDetail(QtWidgets.QStackedWidget):
    """Waveform (V against µs from the onset) and amplitude spectrum (dB re 1 µV against kHz);
    before an event is selected, a hint (:data:`HINT`) instead of empty axes."""

    def __init__(self) -> None:
        super().__init__()
        self.hint = QtWidgets.QLabel(HINT)
        self.hint.setWordWrap(True)
        self.hint.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.hint.setStyleSheet("color: #b4b4c8; background: #101018; padding: 20px")
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground((16, 16, 24))
        self.addWidget(self.hint)
        self.addWidget(self.plots)
        self.title = self.plots.addLabel("", row=0, col=0, size="9pt")
        self.wave_plot = self.plots.addPlot(row=1, col=0)
        self.wave_plot.setLabel("bottom", "time from onset (µs)")
        self.wave_plot.setLabel("left", "V")
        self.wave_plot.getAxis("bottom").enableAutoSIPrefix(False)
        legend = self.wave_plot.addLegend(offset=(-4, 4), labelTextSize="8pt", colCount=2,
                                          brush=(16, 16, 24, 170))  # fmt: skip
        self.wave = self.wave_plot.plot(pen=pg.mkPen((120, 220, 255), width=1), name="raw")
        self.denoised = self.wave_plot.plot(
            pen=pg.mkPen((255, 150, 40, 220), width=1), name="denoised"
        )
        self.show_denoised = True
        self._denoiser: Denoiser | None = None
        self._denoiser_failed = False
        onset_pen, end_pen = pg.mkPen((80, 255, 80), width=2), pg.mkPen((255, 80, 80), width=2)
        self.onset_line = pg.InfiniteLine(angle=90, pen=onset_pen)
        self.end_line = pg.InfiniteLine(angle=90, pen=end_pen)
        self.wave_plot.addItem(self.onset_line)
        self.wave_plot.addItem(self.end_line)
        legend.addItem(pg.PlotDataItem(pen=onset_pen), "onset")
        legend.addItem(pg.PlotDataItem(pen=end_pen), "end")
        self.spec_plot = self.plots.addPlot(row=2, col=0)
        self.spec_plot.setLabel("bottom", "frequency (kHz)")
        self.spec_plot.setLabel("left", "dB re 1 µV")
        self.spectrum = self.spec_plot.plot(pen=pg.mkPen((255, 170, 60), width=1.5))
        self.current: Hit | None = None

    def clear(self) -> None:
        """Back to the hint (a new session: no event selected)."""
        self.current = None
        self.setCurrentWidget(self.hint)

    def show_event(
        self,
        event: Hit,
        volts: npt.NDArray[np.float32] | None,
        first_sample: int,
        sample_rate_hz: float,
    ) -> None:
        """Show ``event`` with ``volts`` (one channel, from absolute ``first_sample``), or
        only its numbers when the signal is not at hand."""
        self.current = event
        self.setCurrentWidget(self.plots)
        self.title.setText(
            f"channel {event.channel} {event.type} [{event.detector}] {event.time_s:.6f} s<br>"
            f"{event.amplitude_dBAE:.1f} dBAE, {event.duration_us:.0f} µs, "
            f"{event.peak_freq_kHz:.0f} kHz, score {event.score:.2f}"
        )
        if volts is None or volts.size == 0:
            self.wave.setData([], [])
            self.denoised.setData([], [])
            self.spectrum.setData([], [])
            self.title.setText(self.title.text + " (signal not in the display buffer)")
            return
        t_us = (np.arange(volts.size) + first_sample - event.sample_index) / sample_rate_hz * 1e6
        self.wave.setData(t_us, volts)
        clean = self._denoise(volts) if self.show_denoised else None
        if clean is None:
            self.denoised.setData([], [])
        else:
            self.denoised.setData(t_us, clean)
            self.title.setText(self.title.text + " <span style='color:#ff9628'>denoised</span>")
        duration = event.duration_us if np.isfinite(event.duration_us) else 0.0
        self.onset_line.setValue(0.0)
        self.end_line.setValue(duration)
        start = int(np.searchsorted(t_us, 0.0))
        stop = max(int(np.searchsorted(t_us, duration)), start + 64)
        span = volts[start:stop]
        nfft = max(256, 1 << int(np.ceil(np.log2(max(len(span), 1)))))
        magnitude = np.abs(np.fft.rfft(span, nfft)) * 2 / max(len(span), 1)
        freqs = np.fft.rfftfreq(nfft, 1 / sample_rate_hz) / 1e3
        self.spectrum.setData(freqs, 20 * np.log10(magnitude * 1e6 + 1e-3))

    def _denoise(self, volts: npt.NDArray[np.float32]) -> npt.NDArray[np.float64] | None:
        """The denoised waveform, or None when no denoiser can be loaded (logged once)."""
        if self._denoiser is None and not self._denoiser_failed:
            try:
                from aemon.denoise.denoiser import Denoiser

                self._denoiser = Denoiser(threads=1)
            except Exception as exc:  # a missing model or runtime only loses the overlay
                logger.warning("no denoised overlay: %s", exc)
                self._denoiser_failed = True
        if self._denoiser is None:
            return None
        return self._denoiser.denoise_block(volts)
