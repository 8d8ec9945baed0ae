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


# Debian packages that Qt's X11 (xcb) platform plugin loads, by the library it cannot find.
_XCB_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}


def platform_problem() -> str | None:
    """Why Qt's X11 platform plugin cannot start here, or None.

    Without some of the xcb libraries, Qt aborts the whole process when the application starts
    (no exception to catch). So on X11 the plugin and the cursor library are loaded first, and a
    missing library becomes a message that names the Debian packages to install.
    """
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or platform not in ("", "xcb"):
        return None
    if not os.environ.get("DISPLAY"):
        return None
    if not platform and os.environ.get("WAYLAND_DISPLAY"):
        return None  # Qt prefers Wayland there
    import ctypes
    import ctypes.util

    import PySide6

    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    missing: list[str] = []
    if ctypes.util.find_library("xcb-cursor") is None:
        missing.append("libxcb-cursor.so.0")
    if plugin.is_file():
        try:
            ctypes.CDLL(str(plugin))
        except OSError as exc:
            missing += [lib for lib in _XCB_PACKAGES if lib in str(exc)] or [str(exc)]
    if not missing:
        return None
    packages = sorted({_XCB_PACKAGES.get(lib, lib) for lib in missing})
    return (
        f"Qt cannot open the X11 display ({', '.join(missing)} missing); "
        f"install it with: apt-get install {' '.join(packages)}"
    )


def run_app(
    target: str | None,
    *,
    events_endpoint: str | None = None,
    display_endpoint: str | None = None,
    monitor_args: Sequence[str] = (),
    quit_after_s: float | None = None,
    events_csv: str | None = None,
) -> int:
    """Open the window on a recording (replay), a SOURCE (live, through an ``aemon monitor``
    child process) or a running monitor's endpoints; run until it is closed.

    Args:
        target: A ``.h5`` recording, a SOURCE, or None (attach, or choose in the window).
        events_endpoint: Attach to a running monitor's event PUB.
        display_endpoint: And to its display PUB.
        monitor_args: Detector arguments for the child monitor.
        quit_after_s: Close the window after this many seconds (for unattended runs).
        events_csv: Replay: show this event CSV's events instead of the recording's.
    """
    import pyqtgraph as pg
    from PySide6 import QtCore, QtWidgets

    from aemon.gui.main_window import MainWindow

    pg.setConfigOptions(antialias=False, imageAxisOrder="col-major")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["aemon"])
    window = MainWindow()
    if target and Path(target).suffix.lower() in RECORDING_SUFFIXES and Path(target).is_file():
        window.open_replay(target, events_csv)
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
