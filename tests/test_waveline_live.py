"""WaveLine end to end in real processes: ``aemon daq-sim --protocol linwave`` → ``aemon
monitor``/``record linwave://``: detection scored against the truth, the emulator killed and
restarted mid-run, a wrong address; and ``record spotwave://`` over a pseudo-terminal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aemon.io.recording import RecordingReader
from aemon.io.truth import score_event_list
from aemon.types import RESTART
from tests.drivers.linwave_helpers import free_port_triple

pytest.importorskip("waveline")


def _aemon(*args: str) -> list[str]:
    return [sys.executable, "-m", "aemon.cli", *args]


def _emulator(port: int, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        _aemon("daq-sim", "--protocol", "linwave", "--endpoint", f"tcp://127.0.0.1:{port}",
               "--channels", "2", *extra),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait()
    if process.stderr is not None:
        process.stderr.close()


def _await_listening(process: subprocess.Popen[bytes]) -> None:
    assert process.stderr is not None
    line = process.stderr.readline().decode()
    assert "linWave emulator on" in line, line


@pytest.mark.slow
def test_monitor_detects_the_emulated_bursts_on_both_channels(tmp_path: Path) -> None:
    port = free_port_triple()
    truth, out, csv = tmp_path / "t.csv", tmp_path / "r.h5", tmp_path / "e.csv"
    emulator = _emulator(port, "--truth", str(truth), "--seed", "3")
    try:
        _await_listening(emulator)
        done = subprocess.run(
            _aemon("monitor", f"linwave://127.0.0.1:{port}", "--duration", "4", "--out", str(out),
                   "--csv", str(csv), "--events-endpoint", "none", "-q"),
            capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        emulator.wait(timeout=30)  # the emulator ends when its client has gone
    finally:
        _stop(emulator)
    with RecordingReader(out) as reader:
        assert reader.format.sample_rate_hz == 2e6 and reader.format.channels == 2
        assert reader.info.samples == 8_000_000
        assert reader.gaps() == []
        assert reader.format.volts_per_count == pytest.approx(1.5625e-6)
    score = score_event_list(csv, truth)
    assert score.true_bursts > 50
    assert score.f1 >= 0.95, score.line()


def _await_file(path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def test_emulator_killed_and_restarted_is_one_gap_and_recording_goes_on(tmp_path: Path) -> None:
    port = free_port_triple()
    out = tmp_path / "r.h5"
    emulator = _emulator(port)
    _await_listening(emulator)
    record = subprocess.Popen(
        _aemon("record", f"linwave://127.0.0.1:{port}", "-o", str(out), "-q"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _await_file(tmp_path / "r.partial.h5", 60)  # connected: the recording is open
        time.sleep(2.0)  # and samples flow
        emulator.send_signal(signal.SIGKILL)
        _stop(emulator)
        time.sleep(1.0)
        emulator = _emulator(port)
        _await_listening(emulator)
        time.sleep(3.0)  # reconnects within a second or two, then records on
        record.send_signal(signal.SIGINT)
        _, err = record.communicate(timeout=60)
        assert record.returncode == 0, err.decode()
    finally:
        for process in (record, emulator):
            _stop(process)
    with RecordingReader(out) as reader:
        gaps = reader.gaps()
        assert len(gaps) == 1 and gaps[0].reason == RESTART
        assert 0.8 <= gaps[0].samples / 2e6 < 20.0  # down time on the host clock
        segments = reader.segments()
        assert len(segments) == 2
        raw_start, first = segments[1]
        assert first == gaps[0].stop_sample  # the second run starts after the down time
        assert reader.info.samples - raw_start >= 1_000_000  # and went on for > 0.5 s
        incidents = [row[4] for row in reader.incidents()]
        assert any("connection to linWave 127.0.0.1" in text for text in incidents)


def test_wrong_address_is_one_error_line(tmp_path: Path) -> None:
    port = free_port_triple()
    t0 = time.monotonic()
    done = subprocess.run(
        _aemon("record", f"linwave://127.0.0.1:{port}", "--wait", "1", "-o",
               str(tmp_path / "r.h5"), "-q"),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"aemon: error: no linWave answered at 127.0.0.1:{port} within 1 s")
    assert time.monotonic() - t0 >= 1.0
    assert not (tmp_path / "r.h5").exists()


def test_record_from_the_spotwave_emulator_on_a_pseudo_terminal(tmp_path: Path) -> None:
    out = tmp_path / "r.h5"
    emulator = subprocess.Popen(
        _aemon("daq-sim", "--protocol", "spotwave"), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert emulator.stderr is not None
        line = emulator.stderr.readline().decode()
        port = line.split("connect with spotwave://")[1].strip()
        done = subprocess.run(
            _aemon("record", f"spotwave://{port}", "--duration", "1.5", "-o", str(out), "-q"),
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    finally:
        _stop(emulator)
    with RecordingReader(out) as reader:
        assert (reader.format.sample_rate_hz, reader.format.channels) == (2e6, 1)
        assert reader.info.samples == 3_000_000
        assert reader.format.volts_per_count == pytest.approx(2.86865e-6)
        # a busy machine may starve the client past the device's 0.1 s buffer: then whole
        # records are lost, and the gaps say so exactly
        assert all(g.reason == "overflow" and g.samples % 50_000 == 0 for g in reader.gaps())
