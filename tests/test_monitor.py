"""Live monitor end to end: daq-sim process → ZeroMQ → detector → HDF5, CSV and PUB JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import zmq

from aemon.cli import main
from aemon.commands.demo import end_child
from aemon.io.event_csv import CSV_COLUMNS, read_event_csv
from aemon.io.recording import RecordingReader
from aemon.io.truth import score_event_list

from .detect_models import energy_model


def _daq_sim(endpoint: str, seconds: float, truth: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "aemon.cli", "daq-sim", "--endpoint", endpoint,
         "--duration", str(seconds), "--seed", "11", "--truth", str(truth), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def _collect_events(endpoint: str, out: list[dict], ready: threading.Event, stop: threading.Event):
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"event")
    sub.setsockopt(zmq.RCVTIMEO, 100)
    sub.connect(endpoint)
    ready.set()
    try:
        while not stop.is_set():
            try:
                topic, payload = sub.recv_multipart()
            except zmq.Again:
                continue
            assert topic == b"event"
            out.append(json.loads(payload))
    finally:
        sub.close(linger=0)
        ctx.term()


@pytest.mark.parametrize("detector", ["threshold", "nn"])
def test_monitor_records_publishes_and_finds_the_bursts(
    tmp_path: Path, free_endpoint: str, detector: str
) -> None:
    truth, out, csv = tmp_path / "truth.csv", tmp_path / "live.h5", tmp_path / "live.csv"
    host, port = free_endpoint.rsplit(":", 1)
    pub_endpoint = f"{host}:{int(port) + 1}"
    model_args: list[str] = []
    if detector == "nn":
        energy_model(tmp_path / "energy")
        model_args = ["--model", str(tmp_path / "energy")]
    received: list[dict] = []
    ready, stop = threading.Event(), threading.Event()
    collector = threading.Thread(
        target=_collect_events, args=(pub_endpoint, received, ready, stop), daemon=True
    )
    daq = _daq_sim(free_endpoint, 2.0, truth)
    try:
        collector.start()
        ready.wait(5)
        status = main([
            "monitor", free_endpoint, "--duration", "2", "--out", str(out), "--csv", str(csv),
            "--events-endpoint", pub_endpoint, "--detector", detector, "-q", "--wait", "60",
            "--summary", str(tmp_path / "summary.json"),
            "--threshold", "0.5" if detector == "nn" else "45", *model_args,
        ])  # fmt: skip
    finally:
        end_child(daq, grace_s=30)  # never leave it running, even when the test fails
        stop.set()
        collector.join(timeout=5)
    assert status == 0
    events = read_event_csv(csv)
    assert events, "no events detected"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert 0 <= summary["warmup_s"] < 60  # detection caught up with the DAQ at some point
    assert summary["recent_realtime_factor"] > 0
    with RecordingReader(out) as reader:
        info = reader.info
        assert info.samples == (2 * 1_562_500) and info.gaps == 0 and info.closed_cleanly
        assert info.events == len(events)
        stored = reader.events()
        assert [int(x) for x in stored["sample_index"]] == [e.sample_index for e in events]
    # every published event carries the CSV columns plus the bus fields
    assert len(received) == len(events)
    for message in received:
        assert message["schema"] == "aemon.event/1"
        assert set(CSV_COLUMNS) <= set(message)
        assert message["end_sample"] >= message["sample_index"]
        assert 0 <= message["latency_ms"] < 30_000  # timing itself is measured in bench/
    assert {m["sample_index"] for m in received} == {e.sample_index for e in events}
    score = score_event_list(csv, truth)
    # loud simulated bursts are found; hard negatives keep precision below 1 for threshold
    assert score.recall > 0.6
    assert score.median_onset_error_us < 20


def _children() -> list[int]:
    """Live (not zombie) child processes of this test process."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def test_demo_headless_runs_and_scores(capsys: pytest.CaptureFixture[str]) -> None:
    before = _children()
    status = main(["demo", "--headless", "--duration", "1.5", "--detector", "threshold"])
    assert status == 0
    err = capsys.readouterr().err
    assert "vs ground truth" in err and "F1" in err
    assert "monitor: " in err and " events in " in err  # the final summary
    assert set(_children()) <= set(before)


def test_demo_that_fails_ends_its_daq_sim(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The monitor fails after the simulator started: the simulator must not be orphaned."""
    before = _children()
    status = main(["demo", "--headless", "--duration", "20", "--model", str(tmp_path / "none")])
    assert status == 2
    assert "no detector model" in capsys.readouterr().err
    assert set(_children()) <= set(before)
