"""AE trend plots: hit rate, cumulative hits, amplitude and energy against time, one curve per
channel and type, or per cluster and type in the "colour by cluster" mode."""

from __future__ import annotations

import logging

import pyqtgraph as pg

from aemon.gui.colours import CHANNEL_COLOURS, cluster_colour
from aemon.gui.trends import TREND_KINDS, TrendAccumulator, TrendKey

logger = logging.getLogger(__name__)

_UNITS = {
    "hit rate": "hits/s",
    "cumulative hits": "hits",
    "amplitude": "dBAE",
    "energy": "eu",
}
_SYMBOLS = ["o", "s", "t", "d", "+", "x"]
COLOUR_MODES = ("channel", "cluster")
"""What the trend curves are coloured by."""


class TrendView(pg.GraphicsLayoutWidget):
    """Four trend plots drawn from a :class:`TrendAccumulator` (redrawn only on change).

    Args:
        trends: The curves, grouped by channel (the accumulator's group is the channel).
    """

    def __init__(self, trends: TrendAccumulator) -> None:
        super().__init__()
        self.setBackground((16, 16, 24))
        self.trends = trends
        self.colour_by = "channel"
        self.plots: dict[str, pg.PlotItem] = {}
        self._curves: dict[tuple[str, TrendKey], pg.PlotDataItem] = {}
        self._types: list[str] = []
        self._drawn = -1
        for i, kind in enumerate(TREND_KINDS):
            plot = self.addPlot(row=i // 2, col=i % 2, title=kind)
            plot.setLabel("left", _UNITS[kind])
            plot.setLabel("bottom", "time", units="s")
            plot.addLegend(offset=(5, 5), labelTextSize="8pt")
            plot.showGrid(x=True, y=True, alpha=0.2)
            if kind == "energy":
                plot.setLogMode(y=True)
            self.plots[kind] = plot

    def set_colour_mode(self, colour_by: str, trends: TrendAccumulator) -> None:
        """Draw ``trends`` (grouped by channel or by cluster label, as ``colour_by`` says)
        from now on."""
        if colour_by not in COLOUR_MODES:
            raise ValueError(f"colour_by must be one of {COLOUR_MODES}, got {colour_by!r}")
        for (kind, _), curve in self._curves.items():
            self.plots[kind].removeItem(curve)
        self._curves.clear()
        self.colour_by, self.trends, self._drawn = colour_by, trends, -1
        self.refresh()

    def curve_item(self, kind: str, key: TrendKey) -> pg.PlotDataItem | None:
        """The drawn curve of one trend and ``(group, type)``, or None."""
        return self._curves.get((kind, key))

    def refresh(self) -> None:
        """Redraw the curves if events came since the last call."""
        if self.trends.version == self._drawn:
            return
        self._drawn = self.trends.version
        keys = self.trends.keys()
        for kind, plot in self.plots.items():
            for key in keys:
                curve = self._curves.get((kind, key))
                if curve is None:
                    curve = self._new_curve(kind, key, plot)
                x, y = self.trends.curve(kind, key)
                if kind == "energy":
                    keep = y > 0
                    x, y = x[keep], y[keep]
                curve.setData(x, y)
        rate_title = f"hit rate ({self.trends.rate_bin_s():g} s bins)"
        if self.plots["hit rate"].titleLabel.text != rate_title:
            self.plots["hit rate"].setTitle(rate_title)
        for (kind, key), curve in list(self._curves.items()):
            if key not in keys:
                self.plots[kind].removeItem(curve)
                del self._curves[(kind, key)]

    def _new_curve(self, kind: str, key: TrendKey, plot: pg.PlotItem) -> pg.PlotDataItem:
        group, event_type = key
        if event_type not in self._types:
            self._types.append(event_type)
        if self.colour_by == "cluster":
            colour = cluster_colour(group)
            name = f"cluster {group} {event_type}" if group >= 0 else f"unclustered {event_type}"
        else:
            colour = CHANNEL_COLOURS[group % len(CHANNEL_COLOURS)]
            name = f"channel {group} {event_type}"
        if kind in ("hit rate", "cumulative hits"):
            curve = plot.plot(name=name, pen=pg.mkPen(colour, width=1.5))
        else:
            symbol = _SYMBOLS[self._types.index(event_type) % len(_SYMBOLS)]
            curve = plot.plot(
                name=name, pen=None, symbol=symbol, symbolSize=5, symbolBrush=colour,
                symbolPen=None,
            )  # fmt: skip
        self._curves[(kind, key)] = curve
        return curve
