"""AE trend plots: hit rate, cumulative hits, amplitude and energy against time, one curve per
channel and type, each in its own colour, or per cluster and type in the "colour by cluster"
mode (colour = cluster, symbol = type). One legend beside the plots names every curve, so it
covers no point."""

from __future__ import annotations

import logging

import pyqtgraph as pg

from aemon.gui.colours import SERIES_COLOURS, cluster_colour
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
        self._colours: dict[TrendKey, tuple[int, int, int]] = {}
        self._drawn = -1
        for i, kind in enumerate(TREND_KINDS):
            plot = self.addPlot(row=i // 2, col=i % 2, title=kind)
            plot.setLabel("left", _UNITS[kind])
            plot.setLabel("bottom", "time", units="s")
            plot.showGrid(x=True, y=True, alpha=0.2)
            if kind == "energy":
                plot.setLogMode(y=True)
            self.plots[kind] = plot
        side = self.addLayout(row=0, col=2, rowspan=2)  # the legend at the top, its own column
        self.legend = pg.LegendItem(labelTextSize="8pt", frame=False)
        side.addItem(self.legend, row=0, col=0)
        side.addLabel("", row=1, col=0)
        side.layout.setRowStretchFactor(1, 1)
        for column, stretch in ((0, 1), (1, 1), (2, 0)):  # the plots take the width
            self.ci.layout.setColumnStretchFactor(column, stretch)
        self._legend_keys: list[TrendKey] = []

    def set_colour_mode(self, colour_by: str, trends: TrendAccumulator) -> None:
        """Draw ``trends`` (grouped by channel or by cluster label, as ``colour_by`` says)
        from now on."""
        if colour_by not in COLOUR_MODES:
            raise ValueError(f"colour_by must be one of {COLOUR_MODES}, got {colour_by!r}")
        for (kind, _), curve in self._curves.items():
            self.plots[kind].removeItem(curve)
        self._curves.clear()
        self.legend.clear()
        self._legend_keys.clear()
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
        if self._legend_keys != keys:
            self._update_legend(keys)

    def colour(self, key: TrendKey) -> tuple[int, int, int]:
        """The colour of curve ``key``: its cluster's, or one per channel × type."""
        if self.colour_by == "cluster":
            return cluster_colour(key[0])
        if key not in self._colours:
            self._colours[key] = SERIES_COLOURS[len(self._colours) % len(SERIES_COLOURS)]
        return self._colours[key]

    def _name(self, key: TrendKey) -> str:
        group, event_type = key
        if self.colour_by == "cluster":
            return f"cluster {group} {event_type}" if group >= 0 else f"unclustered {event_type}"
        return f"channel {group} {event_type}"

    def _update_legend(self, keys: list[TrendKey]) -> None:
        """One entry per curve (line and symbol), beside the plots."""
        self.legend.clear()
        for key in keys:
            colour = self.colour(key)
            sample = pg.PlotDataItem(
                pen=pg.mkPen(colour, width=1.5), symbol=self._symbol(key[1]), symbolSize=6,
                symbolBrush=colour, symbolPen=None,
            )  # fmt: skip
            self.legend.addItem(sample, self._name(key))
        self._legend_keys = list(keys)
        text = max((label.item.boundingRect().width() for _, label in self.legend.items), default=0)
        self.ci.layout.setColumnMinimumWidth(2, text + 50)  # sample, spacing and the names

    def _symbol(self, event_type: str) -> str:
        if event_type not in self._types:
            self._types.append(event_type)
        return _SYMBOLS[self._types.index(event_type) % len(_SYMBOLS)]

    def _new_curve(self, kind: str, key: TrendKey, plot: pg.PlotItem) -> pg.PlotDataItem:
        colour, name = self.colour(key), self._name(key)
        if kind in ("hit rate", "cumulative hits"):
            curve = plot.plot(name=name, pen=pg.mkPen(colour, width=1.5))
        else:
            curve = plot.plot(
                name=name, pen=None, symbol=self._symbol(key[1]), symbolSize=5,
                symbolBrush=colour, symbolPen=None,
            )  # fmt: skip
        self._curves[(kind, key)] = curve
        return curve
