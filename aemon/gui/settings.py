"""Settings that persist between sessions (QSettings): geometry, colour levels, source,
recording file name, detector choice, the similar-events count and clustering k, and the
hit table's hidden columns.
``window`` is the :class:`aemon.gui.main_window.MainWindow` (not imported: that would be a
cycle)."""

from __future__ import annotations

from typing import Any


def restore_settings(window: Any) -> None:
    """Restore geometry, levels, source, recording name and detector choice."""
    s, c = window.settings, window.controls
    geometry = s.value("geometry")
    if geometry is not None:
        window.restoreGeometry(geometry)
    c.level_low.setValue(float(s.value("level_low", c.level_low.value())))
    c.level_high.setValue(float(s.value("level_high", c.level_high.value())))
    c.source.setText(str(s.value("source", "")))
    c.record_file.setText(str(s.value("record_file", "")))
    c.model.setText(str(s.value("model", "")))
    c.detector.setCurrentText(str(s.value("detector", "nn")))
    c.threshold.setValue(float(s.value("threshold", 0.0)))
    window.similar_view.count.setValue(int(s.value("similar_count", 20)))
    window.cluster_bar.k.setValue(int(s.value("cluster_k", 2)))
    window.cluster_bar.auto.setChecked(str(s.value("cluster_auto", "false")).lower() == "true")
    hidden = s.value("hidden_columns")
    if hidden is not None:
        window.table_view.set_hidden_columns([n for n in str(hidden).split(",") if n])


def save_settings(window: Any) -> None:
    """Persist geometry, levels, source, recording name and detector choice."""
    s, c = window.settings, window.controls
    s.setValue("geometry", window.saveGeometry())
    s.setValue("level_low", c.level_low.value())
    s.setValue("level_high", c.level_high.value())
    s.setValue("source", c.source.text())
    s.setValue("record_file", c.record_file.text())
    s.setValue("model", c.model.text())
    s.setValue("detector", c.detector.currentText())
    s.setValue("threshold", c.threshold.value())
    s.setValue("similar_count", window.similar_view.count.value())
    s.setValue("cluster_k", window.cluster_bar.k.value())
    s.setValue("cluster_auto", "true" if window.cluster_bar.auto.isChecked() else "false")
    s.setValue("hidden_columns", ",".join(window.table_view.hidden_columns()))
    s.sync()
