"""Live monitor faults end to end (daq-sim process → ZeroMQ → monitor): a full disk under
--out (with --on-disk-full continue-detecting) and under --csv, and a failing detector
thread."""

from __future__ import annotations

import json
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


def _monitor(endpoint: str, daq_seconds: float, *options: str) -> int:
    """``aemon monitor`` (threshold detector, no PUB) on a daq-sim process; its exit status."""
    daq = _daq_sim(endpoint, daq_seconds)
    try:
        return main([
            "monitor", endpoint, "--events-endpoint", "none", "--detector", "threshold", "-q",
            "--wait", "60", *options,
        ])  # fmt: skip
    finally:
        daq.kill()
        daq.wait()


def test_disk_full_with_continue_detecting_keeps_detecting_and_reports_the_loss(
    small_tmpfs: Path, tmp_path: Path, free_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out, csv = small_tmpfs / "live.h5", tmp_path / "live.csv"
    summary = tmp_path / "live.json"
    status = _monitor(
        free_endpoint, 8.0, "--duration", "8", "--out", str(out), "--csv", str(csv),
        "--threshold", "45", "--on-disk-full", "continue-detecting", "--summary", str(summary),
    )  # fmt: skip
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert any(line.startswith("aemon: error: ") and "disk full" in line for line in err)
    assert any(line.startswith("monitor: ") and "events in 8.0 s" in line for line in err)
    written = json.loads(summary.read_text())  # the --summary JSON, also after a disk-full end
    assert written["ended"] == "error" and "disk full" in written["error"]
    assert written["samples"] == 8 * 1_562_500 and written["events"] > 0
    if not out.exists():  # a recording cut short keeps its .partial name
        out = small_tmpfs / "live.partial.h5"
    with RecordingReader(out) as reader:
        info = reader.info
        assert info.state == schema.STATE_ABORTED and info.samples > 0
        stopped_at = reader.incidents()[0][0]
    events = read_event_csv(csv if csv.exists() else tmp_path / "live.partial.csv")
    assert events and max(e.sample_index for e in events) > stopped_at + 1_562_500


def test_a_disk_full_stop_still_writes_the_summary(
    small_tmpfs: Path, tmp_path: Path, free_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "stopped.json"
    status = _monitor(
        free_endpoint, 30.0, "--out", str(small_tmpfs / "stopped.h5"), "--threshold", "45",
        "--summary", str(summary),
    )  # fmt: skip
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("aemon: error: ") and "disk full" in err[-1]
    assert any(line.startswith("monitor: ") and "ended: error" in line for line in err)
    written = json.loads(summary.read_text())
    assert written["ended"] == "error" and "disk full" in written["error"]
    assert 0 < written["samples"] < 30 * 1_562_500


def test_a_full_disk_under_csv_is_an_incident_and_the_recording_goes_on(
    tiny_tmpfs: Path, tmp_path: Path, free_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out, csv, summary = tmp_path / "run.h5", tiny_tmpfs / "ev.csv", tmp_path / "run.json"
    status = _monitor(
        free_endpoint, 6.0, "--duration", "6", "--out", str(out), "--csv", str(csv),
        "--summary", str(summary), "--threshold", "30",
    )  # fmt: skip
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    partial_csv = tiny_tmpfs / "ev.partial.csv"
    assert err[-1].startswith("aemon: error: cannot write the event CSV ")
    assert str(partial_csv) in err[-1] and f"every event is in {out}" in err[-1]
    assert any(line.startswith("monitor: ") for line in err)  # the end-of-run summary
    assert not csv.exists() and partial_csv.exists()  # cut short: it keeps its .partial name
    kept = read_event_csv(partial_csv)  # no half-written row at the end
    with RecordingReader(out) as reader:  # the recording went on, complete, under its name
        info = reader.info
        assert info.closed_cleanly and info.samples == 6 * 1_562_500
        incidents = [i for i in reader.incidents() if i[3] == "csv_error"]
        events = reader.events()
    assert len(incidents) == 1 and str(partial_csv) in incidents[0][4]
    assert 0 < len(kept) < len(events)
    assert [e.sample_index for e in kept] == list(events["sample_index"][: len(kept)])
    written = json.loads(summary.read_text())
    assert written["ended"] == "the source ended" and "event CSV" in written["error"]


def _csv_keys(path: Path) -> list[tuple[int, int]]:
    """``(sample_index, channel)`` of every complete row of an event CSV cut at any byte."""
    lines = path.read_bytes().split(b"\r\n")[:-1]  # the last piece has no line end yet
    header = lines[0].decode().split(",")
    index, channel = header.index("sample_index"), header.index("channel")
    rows = [line.decode().split(",") for line in lines[1:]]
    return [(int(row[index]), int(row[channel])) for row in rows]


def test_after_kill_9_the_csv_holds_no_event_the_recording_lacks(
    tmp_path: Path, free_endpoint: str
) -> None:
    out, csv = tmp_path / "run.h5", tmp_path / "run.csv"
    partial_h5, partial_csv = tmp_path / "run.partial.h5", tmp_path / "run.partial.csv"
    daq = _daq_sim(free_endpoint, 60.0)
    monitor = subprocess.Popen(
        [sys.executable, "-m", "aemon.cli", "monitor", free_endpoint, "--out", str(out),
         "--csv", str(csv), "--events-endpoint", "none", "--detector", "threshold",
         "--threshold", "30", "-q", "--wait", "60"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not (partial_csv.exists() and partial_csv.stat().st_size > 100_000):
            assert time.monotonic() < deadline and monitor.poll() is None
            time.sleep(0.1)
        time.sleep(0.45)  # about 200 events after the last check: most not flushed yet
        monitor.kill()  # SIGKILL: no chance to close anything
        monitor.wait()
    finally:
        daq.kill()
        daq.wait()
    in_csv = _csv_keys(partial_csv)
    assert main(["repair", str(partial_h5)]) == 0
    with RecordingReader(partial_h5) as reader:
        events = reader.events()
    in_h5 = set(zip(events["sample_index"].tolist(), events["channel"].tolist(), strict=True))
    assert len(in_csv) > 300
    assert [key for key in in_csv if key not in in_h5] == []


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
