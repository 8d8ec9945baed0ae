"""``aemon daq-sim`` paired with ``aemon record``: honest figures, no hang when the receiver
stops, nothing reported as sent that no receiver could take."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from aemon.cli import main


def _daq_sim(endpoint: str, tmp_path: Path, *options: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "aemon.cli", "daq-sim", "--endpoint", endpoint,
         "--rate", "200000", "--summary", str(tmp_path / "sent.json"), *options],
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def test_a_normal_duration_pairing_is_real_time_without_warnings(
    tmp_path: Path, free_endpoint: str
) -> None:
    daq = _daq_sim(free_endpoint, tmp_path, "--duration", "1")
    try:
        out = str(tmp_path / "r.h5")
        assert (
            main(["record", free_endpoint, "-o", out, "--duration", "1", "-q", "--wait", "60"]) == 0
        )
        _, err = daq.communicate(timeout=30)
    finally:
        daq.kill()
    assert daq.returncode == 0, err.decode()
    text = err.decode()
    assert "WARNING" not in text and "warning" not in text, text
    sent = json.loads((tmp_path / "sent.json").read_text())
    assert sent["samples_per_channel"] == 200_000
    assert 0.9 <= sent["x_real_time"] <= 1.1  # 1 s of signal in about 1 s, not "0.50×"


def test_daq_sim_ends_when_its_receiver_stops(tmp_path: Path, free_endpoint: str) -> None:
    daq = _daq_sim(free_endpoint, tmp_path, "--receiver-timeout", "1")
    try:
        out = str(tmp_path / "r.h5")
        assert (
            main(["record", free_endpoint, "-o", out, "--duration", "0.3", "-q", "--wait", "60"])
            == 0
        )
        stopped = time.monotonic()
        _, err = daq.communicate(timeout=15)
        assert time.monotonic() - stopped < 6.0  # the receiver timeout, not forever
    finally:
        daq.kill()
    assert daq.returncode == 0, err.decode()
    assert "the receiver took nothing for 1 s" in err.decode()


def test_connect_without_a_receiver_sends_nothing(tmp_path: Path, free_endpoint: str) -> None:
    daq = _daq_sim(free_endpoint, tmp_path, "--connect", "--duration", "0.2", "--no-pace")
    assert daq.stderr is not None
    first = daq.stderr.readline()
    assert b"waiting for a receiver" in first
    time.sleep(1.0)
    daq.send_signal(2)  # Ctrl-C: nobody ever listened
    _, rest = daq.communicate(timeout=10)
    err = first + rest
    assert daq.returncode == 130, err.decode()
    sent = json.loads((tmp_path / "sent.json").read_text())
    assert sent["frames"] == 0 and sent["samples_per_channel"] == 0
    assert "sent 0 frames" in err.decode()
