"""``aemon gui`` as a command (real processes, Qt offscreen): a bad SOURCE|FILE and a missing
display are the usual one-line error and exit 2 before any window opens; Ctrl-C, SIGTERM and
SIGHUP close the window as its close button does (its ``aemon monitor`` child stops cleanly)
and the program exits 0 without a traceback (docs/cli.md, "Signals")."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pyqtgraph")
import psutil
import zmq

from aemon.cli import main
from aemon.io.event_publisher import STATUS_TOPIC


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1", HOME=str(tmp_path))
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # the window's QSettings go here
    env.update(extra)
    return env


def _gui(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with (tmp_path / "gui.log").open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "aemon.cli", "-v", "gui", *args],
            cwd=tmp_path, env=env or _env(tmp_path), stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip


def _log(tmp_path: Path) -> str:
    return (tmp_path / "gui.log").read_text(errors="replace")


def _wait_for(condition, what: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert process.poll() is None, f"gui ended (status {process.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout_s:.0f} s"
        time.sleep(0.2)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing.h5", "missing.h5: no such file; check the path"),
        ("day.csv", "day.csv is an event CSV, not a recording; show its events over"),
        ("missing.wav", "missing.wav: no such file"),
        ("notes.h5", "notes.h5: not an HDF5 file"),
    ],
)
def test_a_bad_target_is_one_line_and_exit_2_before_any_window(
    tmp_path: Path, target: str, message: str
) -> None:
    (tmp_path / "day.csv").write_text("time_s,channel,type\n0.1,0,low\n")
    (tmp_path / "notes.h5").write_text("not a recording\n")
    done = subprocess.run(
        [sys.executable, "-m", "aemon.cli", "gui", target], cwd=tmp_path, env=_env(tmp_path),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("aemon: error: ")
    assert message in lines[0]


def test_no_display_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = _env(tmp_path)
    del env["QT_QPA_PLATFORM"]  # Qt's default platform: X11 or Wayland, and neither is set
    done = subprocess.run(
        [sys.executable, "-m", "aemon.cli", "gui", "tcp://127.0.0.1:9"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("aemon: error: no display (DISPLAY and WAYLAND_DISPLAY")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "xcb" not in done.stderr


@pytest.fixture(scope="module")
def short_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "day.h5"
    assert main(["sim", "--duration", "0.2", "--seed", "1", "--out", str(path)]) == 0
    return path


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP])
def test_ctrl_c_and_sighup_close_the_replay_window(
    tmp_path: Path, short_recording: Path, signum: signal.Signals
) -> None:
    gui = _gui(tmp_path, str(short_recording))
    try:
        _wait_for(lambda: "window open" in _log(tmp_path), "window", gui, 120)
        gui.send_signal(signum)
        assert gui.wait(30) == 0, _log(tmp_path)
    finally:
        if gui.poll() is None:
            gui.kill()
            gui.wait()
    log = _log(tmp_path)
    assert "Traceback" not in log and "KeyboardInterrupt" not in log
    assert f"aemon: gui stopped by {signum.name}" in log


def _status_arrives(endpoint: str, timeout_s: float) -> bool:
    """True once the monitor at ``endpoint`` publishes a status (its live loop runs)."""
    with zmq.Context() as context, context.socket(zmq.SUB) as sub:
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, STATUS_TOPIC)
        sub.connect(endpoint)
        if sub.poll(int(timeout_s * 1000)):
            _, payload = sub.recv_multipart()
            return isinstance(json.loads(payload), dict)
    return False


def test_sigterm_closes_the_live_window_and_stops_its_monitor_cleanly(
    tmp_path: Path, free_endpoint: str
) -> None:
    daq = subprocess.Popen(
        [sys.executable, "-m", "aemon.cli", "daq-sim", "--endpoint", free_endpoint,
         "--duration", "300", "--seed", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    gui = _gui(tmp_path, free_endpoint, "--detector", "threshold")
    try:
        _wait_for(lambda: "window open" in _log(tmp_path), "window", gui, 120)
        started = re.search(r"starting .* --events-endpoint (\S+)", _log(tmp_path))
        assert started is not None, _log(tmp_path)
        _wait_for(lambda: _status_arrives(started.group(1), 1.0), "monitor status", gui, 120)
        monitors = psutil.Process(gui.pid).children()
        assert [m.cmdline()[3] for m in monitors] == ["monitor"]
        gui.send_signal(signal.SIGTERM)
        assert gui.wait(60) == 0, _log(tmp_path)
        assert not monitors[0].is_running()
    finally:
        for process in (gui, daq):
            if process.poll() is None:
                process.kill()
                process.wait()
    log = _log(tmp_path)
    assert "Traceback" not in log and "KeyboardInterrupt" not in log
    assert "monitor stopped (exit status 0)" in log
    assert "aemon: gui stopped by SIGTERM" in log
