"""The live window offscreen: daq-sim → ``aemon monitor`` child → event and display feeds →
table, markers, status; recording start/stop writes a valid file; screenshots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyqtgraph")
from aemon.io.recording import RecordingReader

from .screenshots import save_screenshot


def daq_sim(endpoint: str, channels: int) -> subprocess.Popen[bytes]:
    """A simulated DAQ that sends until it is killed: no signal deadline hides in the test.

    (With a fixed ``--duration``, the steps before the recording had to fit into it; on a
    busy machine they did not, the recording then never grew, and the test timed out.) The
    receiver timeout covers the monitor restarts of start/stop recording however slow."""
    return subprocess.Popen(
        [sys.executable, "-m", "aemon.cli", "daq-sim", "--endpoint", endpoint,
         "--channels", str(channels), "--seed", "5", "--receiver-timeout", "600"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _shows_waveform(detail) -> bool:  # type: ignore[no-untyped-def]
    x, _ = detail.wave.getData()
    return x is not None and len(x) > 0


def test_live_events_markers_status_and_recording(  # type: ignore[no-untyped-def]
    qtbot, make_window, tmp_path: Path, free_endpoint: str
) -> None:
    daq = daq_sim(free_endpoint, 2)
    window = make_window()
    try:
        window.open_live(free_endpoint, monitor_args=["--detector", "threshold"])
        qtbot.waitUntil(
            lambda: window.channel_view is not None
            and len(window.table) >= 8
            and window.frames > 25
            and sum(window.channel_view.marker_count(c) for c in range(2)) > 0,
            timeout=60_000,
        )  # fmt: skip
        assert window.frames > 10
        assert "MS/s/ch" in window.status_labels["rate"].text()
        assert window.status_labels["gaps"].text().startswith("gaps 0")
        window.table_view.selectRow(6)  # a few events back: its signal is in the history
        assert window.detail.current is not None
        # "similar events" of a live event: windows cut from the raw history, encoded in the
        # worker thread; the list fills in when they are (the event itself left out)
        anchor = window.table_view.selected_index()
        qtbot.waitUntil(lambda: len(window.similar_view.indices) >= 3, timeout=30_000)
        assert window.similar_view.anchor == anchor
        assert anchor not in window.similar_view.indices
        assert window.embeddings.error is None
        # the newest event: selected before its whole window has arrived, its detail shows
        # the waveform as soon as the signal is there
        count = len(window.table)
        qtbot.waitUntil(lambda: len(window.table) > count, timeout=10_000)
        window.table_view.selectRow(0)
        qtbot.waitUntil(lambda: _shows_waveform(window.detail), timeout=10_000)
        window.table_view.selectRow(6)
        save_screenshot(window, tmp_path, "live.png")
        window.tabs.setCurrentIndex(1)
        qtbot.waitUntil(lambda: len(window.trend_view._curves) >= 4, timeout=10_000)
        save_screenshot(window, tmp_path, "trends.png")
        window.tabs.setCurrentIndex(0)
        # recording: start, let it run, stop; the file is complete and has no gaps
        out = tmp_path / "rec.h5"
        window.start_recording(out)
        # the size of NAME.partial.h5 while the monitor writes it (it grows while recording,
        # not only once the recording is closed and renamed)
        qtbot.waitUntil(lambda: window.session.recording_size() > 2_000_000, timeout=60_000)  # type: ignore[union-attr]
        # the status bar shows the growing size at its next refresh
        qtbot.waitUntil(lambda: not window.status_labels["file"].text().endswith(" 0.0 MB"))
        assert window.status_labels["file"].text().startswith("rec.h5")
        qtbot.waitUntil(lambda: window.info is not None, timeout=30_000)
        window.start_recording(None)
        with RecordingReader(out) as reader:
            info = reader.info
        assert info.closed_cleanly and info.channels == 2
        assert info.duration_s > 0.5 and info.gaps == 0
        assert info.events > 0
        # the display can be paused while the monitor goes on
        window.controls.pause.setChecked(True)
        frames = window.frames
        qtbot.wait(500)
        assert window.frames == frames
    finally:
        window.close()  # stops the monitor child
        daq.kill()
        daq.wait()
