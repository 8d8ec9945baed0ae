"""``aemon demo`` in a real X11 window (Xvfb) for 60 s: it must end cleanly, and its log must
hold nothing but the simulator's own lines (no errors, no Qt warnings). On a loaded machine the
simulator may warn that it runs behind real time: that is its line, not the window's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

DEMO_S = 60.0

pytestmark = pytest.mark.skipif(
    shutil.which("xvfb-run") is None, reason="needs Xvfb (apt-get install xvfb xauth)"
)


def test_demo_runs_60_s_under_xvfb_with_a_clean_log(tmp_path: Path) -> None:
    pytest.importorskip("PySide6")
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    env["HOME"] = str(tmp_path)  # the window's QSettings go here, not into the user's home
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "runtime")
    (tmp_path / "runtime").mkdir(mode=0o700)
    command = [
        "xvfb-run", "-a", "-s", "-screen 0 1600x1000x24",
        sys.executable, "-m", "aemon.cli", "demo", "--duration", str(DEMO_S),
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=DEMO_S + 120, check=False
    )
    wall_s = time.monotonic() - started
    log = (done.stdout + done.stderr).splitlines()
    assert done.returncode == 0, "\n".join(log[-30:])
    assert wall_s >= DEMO_S, f"the window closed after {wall_s:.0f} s"
    foreign = [line for line in log if line.strip() and "daq-sim" not in line]
    assert foreign == [], "\n".join(foreign[:30])
