"""Colour keys of the window (Qt offscreen): trend curves in one colour per channel × type with
one legend beside the plots, the detail pane's hint before a selection and its overlay legend,
and the spectrogram's colour bar in dB re 1 µV."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pyqtgraph")

import pyqtgraph as pg

from aemon.gui.trends import TREND_KINDS, TrendAccumulator

from .screenshots import save_screenshot
from .test_hit_table import event


def test_each_channel_and_type_has_its_own_trend_colour_and_the_legend_covers_no_plot(  # type: ignore[no-untyped-def]
    qtbot, tmp_path: Path
) -> None:
    from aemon.gui.widgets.trend_view import TrendView

    trends = TrendAccumulator(bin_s=1.0)
    trends.add([event(i, 40 + i, "low" if i % 4 else "high") for i in range(40)])
    view = TrendView(trends)
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    view.refresh()
    qtbot.wait(50)
    keys = trends.keys()
    assert keys == [(0, "high"), (0, "low"), (1, "low")]
    for kind in TREND_KINDS:
        curves = [view.curve_item(kind, key) for key in keys]
        if kind in ("hit rate", "cumulative hits"):
            colours = {c.opts["pen"].color().getRgb() for c in curves}
        else:
            colours = {pg.mkBrush(c.opts["symbolBrush"]).color().getRgb() for c in curves}
        assert len(colours) == len(keys), kind  # channel 0's high and low differ too
    names = [label.text for _, label in view.legend.items]
    assert names == ["channel 0 high", "channel 0 low", "channel 1 low"]
    legend = view.legend.sceneBoundingRect()
    for plot in view.plots.values():
        assert not legend.intersects(plot.vb.sceneBoundingRect())
    assert legend.height() < 30 * len(keys) + 10  # its rows together at the top, not spread
    save_screenshot(view, tmp_path, "trend-legend.png")


def test_detail_hint_before_a_selection_and_overlay_legend(make_window) -> None:  # type: ignore[no-untyped-def]
    from aemon.gui.widgets.event_detail import HINT

    window = make_window()
    detail = window.detail
    assert detail.currentWidget() is detail.hint and detail.hint.text() == HINT
    names = [label.text for _, label in detail.wave_plot.legend.items]
    assert names == ["raw", "denoised", "onset", "end"]


def test_spectrogram_colour_bar_follows_the_levels_in_db(qtbot) -> None:  # type: ignore[no-untyped-def]
    from aemon.gui.spectrogram_model import SpectrogramColumns
    from aemon.gui.widgets.channel_view import ChannelView

    view = ChannelView(SpectrogramColumns(2, 1_562_500.0, columns=100))
    qtbot.addWidget(view)
    view.set_levels(12.0, 66.0)
    assert view.colour_bar.levels() == (12.0, 66.0)
    assert view.colour_bar.getAxis("left").labelText == "dB re 1 µV"
    view.add_events([event(1, 50.0, "low"), event(2, 60.0, "high")])
    names = [label.text for _, label in view.legend.items]
    assert names == ["confirmed", "rejected", "retyped", "added", "low [nn]", "high [nn]"]
