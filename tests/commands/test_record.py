"""End-to-end recording: real DAQ publisher process → ZeroMQ → ring → HDF5 via the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from aemon.cli import main
from aemon.drivers.daq_publisher import DaqPublisher
from aemon.drivers.stream_tracker import RESYNC_FRAMES
from aemon.io.recording import RecordingReader

RATE = 1_562_500.0
VPC = 0.1 / 32768


def _aemon(*args: str, capture: bool = False) -> subprocess.Popen[bytes]:
    pipe = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "aemon.cli", *args],
        stdout=pipe,
        stderr=pipe,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_daq_sim_to_record_is_lossless(tmp_path: Path, free_endpoint: str) -> None:
    summary_path = tmp_path / "sent.json"
    out = tmp_path / "run.h5"
    publisher = _aemon(
        "daq-sim", "--endpoint", free_endpoint, "--channels", "2", "--duration", "1.5",
        "--seed", "7", "--summary", str(summary_path),
    )  # fmt: skip
    try:
        status = main([
            "record", free_endpoint, "--duration", "1.5", "--out", str(out), "-q", "--wait", "60"
        ])  # fmt: skip
    finally:
        publisher.wait(timeout=30)
    assert status == 0
    sent = json.loads(summary_path.read_text())
    with RecordingReader(out) as reader:
        info = reader.info
        assert info.samples == round(1.5 * RATE) == sent["samples_per_channel"]
        assert info.channels == 2 and info.sample_rate_hz == RATE
        assert info.gaps == 0 and info.closed_cleanly
        assert reader.format.dtype == "int16"
        assert reader.format.volts_per_count == pytest.approx(sent["volts_per_count"])
        assert reader.channel_sha256() == sent["channel_sha256"]
        assert reader.config["source"] == free_endpoint


def _publish_with_drops(endpoint: str, first: int, frames: int, n: int, drop: set[int]) -> None:
    rng = np.random.default_rng(3)
    with DaqPublisher(endpoint, frame_samples=n) as pub:
        for k in range(frames):
            block = rng.integers(-2000, 2000, size=(1, n), dtype=np.int16)
            if k in drop:
                pub.frames_sent += 1  # the frame is "sent" but lost on the way
                continue
            pub.send(first + k * n, block, volts_per_count=VPC, sample_rate_hz=RATE)
        pub.end()


def test_dropped_frames_become_exact_gaps_in_the_recording(
    tmp_path: Path, free_endpoint: str
) -> None:
    first, n = 10**9, 4096
    sender = threading.Thread(
        target=_publish_with_drops, args=(free_endpoint, first, 12, n, {3, 4, 9}), daemon=True
    )
    sender.start()
    out = tmp_path / "gaps.h5"
    assert main(["record", free_endpoint, "--out", str(out), "-q", "--wait", "5"]) == 0
    sender.join(timeout=10)
    with RecordingReader(out) as reader:
        gaps = [(g.start_sample, g.stop_sample) for g in reader.gaps()]
        assert gaps == [(first + 3 * n, first + 5 * n), (first + 9 * n, first + 10 * n)]
        assert reader.info.first_sample == first
        assert reader.info.samples == 12 * n  # zero-filled, so indices stay exact
        assert reader.info.samples_lost == 3 * n
        assert not reader.read(3 * n, 2 * n).any()
        assert reader.read(5 * n, n).any()


def test_sighup_closes_the_recording_cleanly_within_2_s(tmp_path: Path, free_endpoint: str) -> None:
    """Closing the terminal (SIGHUP) ends a recording like Ctrl-C and SIGTERM do."""
    out = tmp_path / "stopped.h5"
    partial = tmp_path / "stopped.partial.h5"  # the name while it is being written
    publisher = _aemon("daq-sim", "--endpoint", free_endpoint, "--duration", "30")
    recorder = _aemon(
        "record", free_endpoint, "--out", str(out), "-q", "--wait", "60", capture=True
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if partial.exists():
                try:
                    with RecordingReader(partial) as reader:
                        if reader.info.samples > RATE / 4:
                            break
                except Exception:  # the file is still being created
                    continue
        assert not out.exists()
        recorder.send_signal(signal.SIGHUP)
        sent = time.monotonic()
        _, err = recorder.communicate(timeout=20)
        took = time.monotonic() - sent
    finally:
        publisher.kill()
        publisher.wait()
    assert recorder.returncode == 0, err.decode()
    assert took < 2.0
    summary = json.loads(err.decode().strip().splitlines()[-1])
    assert summary["ended"] == "stopped by a signal" and summary["samples"] > RATE / 4
    assert not partial.exists()
    with RecordingReader(out) as reader:
        assert reader.info.closed_cleanly
        assert reader.info.samples == summary["samples"]
        assert reader.info.gaps == 0


def _publish_then_die(endpoint: str, frames: int, n: int) -> None:
    """A DAQ that sends some frames and then goes silent without ending its stream."""
    pub = DaqPublisher(endpoint, frame_samples=n)
    for k in range(frames):
        pub.send(k * n, np.ones((1, n), np.int16), volts_per_count=VPC, sample_rate_hz=RATE)
    time.sleep(2.5)  # silent, socket still open: as if the DAQ hung or its cable was pulled
    pub.close(linger_s=0)


def _publish_with_a_jump(endpoint: str, n: int, before: int, after: int, jump: int) -> None:
    """A DAQ whose index and clock jump ``jump`` samples ahead after ``before`` frames."""
    start_ns = time.time_ns()
    with DaqPublisher(endpoint, frame_samples=n) as pub:
        for k in range(before + after):
            first = k * n + (jump if k >= before else 0)
            time_ns = start_ns + round(first * 1e9 / RATE)
            block = np.full((1, n), k, np.int16)
            pub.send(first, block, volts_per_count=VPC, sample_rate_hz=RATE, daq_time_ns=time_ns)


def test_every_sample_received_but_not_stored_is_a_gap_and_the_summary_counts_stored(
    tmp_path: Path, free_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    n, before, after, jump = 1000, 5, 20, round(3 * 3600 * RATE)  # +3 h on index and clock
    sender = threading.Thread(
        target=_publish_with_a_jump, args=(free_endpoint, n, before, after, jump), daemon=True
    )
    sender.start()
    out = tmp_path / "jump.h5"
    assert main(["record", free_endpoint, "--out", str(out), "-q", "--wait", "5"]) == 0
    sender.join(timeout=10)
    summary = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    with RecordingReader(out) as reader:
        gaps, raw_columns = reader.gaps(), reader.info.samples
    # The restart after the jump (down time capped at 1 h) and the 7 frames the resync
    # rejected before it followed the new run: both are /gaps rows with their reasons.
    assert [g.reason for g in gaps] == ["restart", "resync"]
    assert gaps[1].stop_sample - gaps[1].start_sample == (RESYNC_FRAMES - 1) * n
    kept = before + after - (RESYNC_FRAMES - 1)
    assert summary["samples"] == kept * n and summary["seconds"] == round(kept * n / RATE, 6)
    assert summary["samples_lost"] == sum(g.stop_sample - g.start_sample for g in gaps)
    assert raw_columns == (before + after) * n  # the resync gap zero-filled, the restart not


def test_a_silent_daq_is_reported_and_ends_the_recording(
    tmp_path: Path, free_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sender = threading.Thread(target=_publish_then_die, args=(free_endpoint, 8, 4096), daemon=True)
    sender.start()
    out = tmp_path / "dead.h5"
    status = main([
        "record", free_endpoint, "-o", str(out), "--wait", "5", "--stall-warning", "0.3",
        "--idle-timeout", "1",
    ])  # fmt: skip
    assert status == 0
    err = capsys.readouterr().err
    assert "no data for" in err and "--idle-timeout" in err and "(idle timeout)" in err
    with RecordingReader(out) as reader:
        assert reader.info.closed_cleanly and reader.info.samples == 8 * 4096
        assert any(kind == "idle" for _a, _b, _t, kind, _d in reader.incidents())
    sender.join(timeout=10)


def test_record_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "exists.h5"
    out.write_bytes(b"precious")
    assert main(["record", "tcp://127.0.0.1:1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "already exists" in err and "--overwrite" in err
    assert out.read_bytes() == b"precious"


def test_record_without_daq_says_what_to_start(
    tmp_path: Path, free_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "none.h5"
    assert main(["record", free_endpoint, "--out", str(out), "--wait", "0.5"]) == 2
    waiting, err = capsys.readouterr().err.strip().splitlines()
    assert waiting.startswith("aemon: waiting up to 0.5 s for the first frame")
    assert err.startswith("aemon: error:") and "daq-sim" in err
    assert not out.exists()


def test_record_replays_a_file_source(tmp_path: Path) -> None:
    sim_file, copy = tmp_path / "sim.h5", tmp_path / "copy.h5"
    assert main(["sim", "--duration", "0.5", "--channels", "2", "--out", str(sim_file)]) == 0
    assert main(["record", str(sim_file), "--out", str(copy), "-q"]) == 0
    with RecordingReader(sim_file) as a, RecordingReader(copy) as b:
        assert a.channel_sha256() == b.channel_sha256()
        assert b.info.samples == a.info.samples
