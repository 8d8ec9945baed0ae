"""Live monitor faults end to end (daq-sim process → ZeroMQ → monitor): a full disk with
--on-disk-full continue-detecting, and a failing detector thread."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aemon.cli import main
from aemon.detect.options import DetectOptions
from aemon.drivers.zmq_source import ZmqSource
from aemon.errors import AemonError
from aemon.io import schema
from aemon.io.event_csv import read_event_csv
from aemon.io.recording import RecordingReader, RecordingWriter
from aemon.monitor import LiveMonitor


def _daq_sim(endpoint: str, seconds: float, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "aemon.cli", "daq-sim", "--endpoint", endpoint,
         "--duration", str(seconds), "--seed", "5", "--channels", "1", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def test_disk_full_with_continue_detecting_keeps_detecting_and_reports_the_loss(
    small_tmpfs: Path, tmp_path: Path, free_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out, csv = small_tmpfs / "live.h5", tmp_path / "live.csv"
    daq = _daq_sim(free_endpoint, 8.0)
    try:
        status = main([
            "monitor", free_endpoint, "--duration", "8", "--out", str(out), "--csv", str(csv),
            "--events-endpoint", "none", "--detector", "threshold", "--threshold", "45", "-q",
            "--on-disk-full", "continue-detecting", "--wait", "60",
        ])  # fmt: skip
    finally:
        daq.kill()
        daq.wait()
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert any(line.startswith("aemon: error: ") and "disk full" in line for line in err)
    if not out.exists():  # a recording cut short keeps its .partial name
        out = small_tmpfs / "live.partial.h5"
    with RecordingReader(out) as reader:
        info = reader.info
        assert info.state == schema.STATE_ABORTED and info.samples > 0
        stopped_at = reader.incidents()[0][0]
    events = read_event_csv(csv if csv.exists() else tmp_path / "live.partial.csv")
    assert events and max(e.sample_index for e in events) > stopped_at + 1_562_500


def test_a_failing_detector_thread_stops_the_run_in_order(
    tmp_path: Path, free_endpoint: str
) -> None:
    daq = _daq_sim(free_endpoint, 30.0)

    def broken_callback(events: object) -> None:
        raise RuntimeError("GUI callback bug")

    try:
        with ZmqSource(free_endpoint, first_frame_timeout_s=60) as source:
            writer = RecordingWriter(tmp_path / "r.h5", source.format, source.channel_info)
            with writer:
                monitor = LiveMonitor(
                    source, DetectOptions(detector="threshold", threshold_db=30.0), writer=writer,
                    on_events=broken_callback,
                )  # fmt: skip
                monitor.start()
                started = time.monotonic()
                with pytest.raises(AemonError, match=r"detector stopped .*GUI callback bug"):
                    monitor.wait(timeout=25)
                assert time.monotonic() - started < 25
                with pytest.raises(AemonError, match="detector stopped"):
                    monitor.stop()
    finally:
        daq.kill()
        daq.wait()
    with RecordingReader(tmp_path / "r.h5") as reader:
        assert reader.info.closed_cleanly  # the writer itself finished cleanly
        assert [i[3] for i in reader.incidents()] == ["detector_error"]
