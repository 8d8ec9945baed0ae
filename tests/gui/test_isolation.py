"""The display can never cost a sample: a window attached to a recording monitor is stopped
(SIGSTOP) for 10 s and then killed; the recorder's gap table stays empty."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pyqtgraph")

from aemon.gui.feeds import free_endpoint
from aemon.io.recording import RecordingReader


def _aemon(*args: str, **kwargs) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "aemon.cli", *args],
        stdout=subprocess.DEVNULL, env=env, **kwargs,
    )  # fmt: skip


@pytest.mark.slow
def test_stopped_then_killed_window_costs_no_sample(tmp_path: Path) -> None:
    daq_ep, events_ep, display_ep = free_endpoint(), free_endpoint(), free_endpoint()
    out = tmp_path / "rec.h5"
    seconds = 16.0
    daq = _aemon("daq-sim", "--endpoint", daq_ep, "--channels", "2", "--duration", "40")
    monitor = _aemon(
        "monitor", daq_ep, "--out", str(out), "--duration", str(seconds), "--quiet",
        "--detector", "threshold", "--events-endpoint", events_ep,
        "--display-endpoint", display_ep,
    )  # fmt: skip
    gui_log = (tmp_path / "gui.log").open("wb")
    gui = _aemon("gui", "--attach", events_ep, "--display", display_ep, stderr=gui_log)
    try:
        deadline = time.monotonic() + 60
        while not out.exists() or out.stat().st_size < 1_000_000:  # recording has started
            assert time.monotonic() < deadline and monitor.poll() is None
            time.sleep(0.2)
        time.sleep(1.0)
        assert gui.poll() is None  # the window is up and drawing
        gui.send_signal(signal.SIGSTOP)
        time.sleep(10.0)
        gui.kill()
        gui.wait(10)
        assert monitor.wait(60) == 0
    finally:
        for process in (gui, monitor, daq):
            if process.poll() is None:
                process.kill()
                process.wait()
        gui_log.close()
    with RecordingReader(out) as reader:
        info = reader.info
    assert info.closed_cleanly
    assert info.gaps == 0 and info.samples_lost == 0
    assert info.duration_s >= seconds - 0.1
