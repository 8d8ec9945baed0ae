"""Start the Qt application (:func:`run_app`, for ``aemon gui`` and ``aemon demo``)."""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

RECORDING_SUFFIXES = (".h5", ".hdf5")


def has_display() -> bool:
    """True when a window can be seen: X11 or Wayland, or an explicit on-screen Qt platform
    (``offscreen`` and ``minimal`` draw nowhere, so they do not count)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform in ("offscreen", "minimal"):
        return False
    if platform:
        return True
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_app(
    target: str | None,
    *,
    events_endpoint: str | None = None,
    display_endpoint: str | None = None,
    monitor_args: Sequence[str] = (),
    quit_after_s: float | None = None,
) -> int:
    """Open the window on a recording (replay), a SOURCE (live, through an ``aemon monitor``
    child process) or a running monitor's endpoints; run until it is closed.

    Args:
        target: A ``.h5`` recording, a SOURCE, or None (attach, or choose in the window).
        events_endpoint: Attach to a running monitor's event PUB.
        display_endpoint: And to its display PUB.
        monitor_args: Detector arguments for the child monitor.
        quit_after_s: Close the window after this many seconds (for unattended runs).
    """
    import pyqtgraph as pg
    from PySide6 import QtCore, QtWidgets

    from aemon.gui.main_window import MainWindow

    pg.setConfigOptions(antialias=False, imageAxisOrder="col-major")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["aemon"])
    window = MainWindow()
    if target and Path(target).suffix.lower() in RECORDING_SUFFIXES and Path(target).is_file():
        window.open_replay(target)
    elif target:
        window.open_live(target, monitor_args=list(monitor_args))
    elif events_endpoint:
        window.open_live(None, events_endpoint=events_endpoint, display_endpoint=display_endpoint)
    window.resize(1500, 950)
    window.show()
    if quit_after_s is not None:
        QtCore.QTimer.singleShot(int(quit_after_s * 1000), window.close)
    app.exec()
    # Delete the window while Qt still runs, not in the interpreter's final collection.
    window.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    del window
    gc.collect()
    return 0
