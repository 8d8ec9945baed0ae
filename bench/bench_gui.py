"""Display frame rate while the monitor runs: ``aemon daq-sim`` → ``aemon monitor`` (child of
the window) → event and display feeds → the window (offscreen Qt, same drawing work).

Counts frames the window drew per second and the GUI process's CPU time per frame (the
figure that does not depend on what else the machine runs), and reads the monitor's own
status (× real time, gaps) from its event feed, so the cost of the display on acquisition
shows too. With
``--record`` the monitor also records to HDF5 and the recorder's gap table is printed.

Usage::

    QT_QPA_PLATFORM=offscreen python bench/bench_gui.py [--seconds 30] [--channels 4]
        [--detector nn|threshold] [--record] [--file REC.h5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtWidgets

from aemon.gui.feeds import free_endpoint
from aemon.gui.main_window import MainWindow
from aemon.io.recording import RecordingReader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--rate", type=float, default=1_562_500.0)
    parser.add_argument("--detector", default="threshold")
    parser.add_argument("--record", action="store_true")
    parser.add_argument(
        "--file", help="replay this recording through daq-sim instead of simulating (the "
        "simulator itself needs about a core at 4 ch × 1.5625 MHz)",
    )  # fmt: skip
    args = parser.parse_args()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    endpoint = free_endpoint()
    daq = subprocess.Popen(
        [sys.executable, "-m", "aemon.cli", "daq-sim", "--endpoint", endpoint,
         "--channels", str(args.channels), "--rate", str(args.rate),
         "--duration", str(args.seconds + 60), *(["--file", args.file] if args.file else [])],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    tmp = tempfile.TemporaryDirectory(prefix="aemon-bench-gui-")
    settings = QtCore.QSettings(str(Path(tmp.name) / "gui.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.resize(1600, 1000)
    window.show()
    monitor_args = ["--detector", args.detector]
    out = Path(tmp.name) / "bench.h5" if args.record else None
    window.open_live(endpoint, monitor_args=monitor_args)
    if out is not None:
        window.start_recording(out)
    last_status: dict[str, str] = {}
    try:
        t0 = time.monotonic()
        while window.channel_view is None or window.frames < 5:  # monitor start-up
            app.processEvents()
            time.sleep(0.005)
            if time.monotonic() - t0 > 60:
                raise SystemExit("the monitor did not start within 60 s")
        frames0, t1 = window.frames, time.monotonic()
        cpu0 = time.process_time()
        QtCore.QTimer.singleShot(int(args.seconds * 1000), app.quit)
        app.exec()  # the real event loop: the window's timer draws as it would for a user
        elapsed = time.monotonic() - t1
        fps = (window.frames - frames0) / elapsed
        cpu = (time.process_time() - cpu0) / elapsed
        last_status = {k: v.text() for k, v in window.status_labels.items()}
    finally:
        window.close()
        daq.terminate()
        daq.wait()
    print(
        f"{args.channels} ch × {args.rate / 1e6:g} MHz, detector {args.detector}, {elapsed:.0f} s"
    )
    per_frame_ms = 1e3 * cpu / max(fps, 1e-9)
    print(f"display: {fps:.1f} frames/s, GUI process CPU {100 * cpu:.0f} % of one core")
    print(
        f"GUI CPU per frame: {per_frame_ms:.1f} ms "
        f"(→ {1e3 / per_frame_ms:.0f} frames/s on a free core)"
    )
    print(f"machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("monitor: " + "  ".join(last_status.get(k, "") for k in ("rate", "rt", "lag", "gaps")))
    if out is not None:
        with RecordingReader(out) as reader:
            info = reader.info
        print(f"recording: {info.duration_s:.1f} s, gaps {info.gaps} ({info.samples_lost} lost)")
    tmp.cleanup()


if __name__ == "__main__":
    main()
