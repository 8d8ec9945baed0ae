"""Start the Qt application (:func:`run_app`, for ``aemon gui`` and ``aemon demo``)."""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

logger = logging.getLogger(__name__)

RECORDING_SUFFIXES = (".h5", ".hdf5")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals that close the window as its close button does (docs/cli.md: they mean stop)."""

NO_DISPLAY = "no display (DISPLAY and WAYLAND_DISPLAY are unset)"


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


def display_problem() -> str | None:
    """Why ``aemon gui`` cannot open its window here, or None.

    Without a display Qt's default platform aborts the whole process (exit 134, with a
    misleading hint about ``xcb-cursor0``), so this is checked before Qt starts. An explicit
    ``QT_QPA_PLATFORM`` (``offscreen``, ``vnc``, …) is taken as the user's choice.
    """
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if sys.platform.startswith("linux"):
        x11, wayland = os.environ.get("DISPLAY"), os.environ.get("WAYLAND_DISPLAY")
        missing = (
            (platform == "" and not (x11 or wayland))
            or (platform == "xcb" and not x11)
            or (platform.startswith("wayland") and not wayland)
        )
        if missing:
            return (
                f"{NO_DISPLAY}; run it on a desktop, over `ssh -X`, or under "
                "`xvfb-run aemon gui ...` (`aemon demo --headless` needs no window)"
            )
    return platform_problem()


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
    stop = SignalStop(window)
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
    logger.info("window open")
    try:
        app.exec()
    finally:
        stop.close()
    # Delete the window while Qt still runs, not in the interpreter's final collection.
    window.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    del window
    gc.collect()
    if stop.signal is not None:
        print(f"aemon: gui stopped by {signal.Signals(stop.signal).name}", file=sys.stderr)
    return 0


class SignalStop:
    """Ctrl-C, SIGTERM and SIGHUP close the window as its close button does: settings saved,
    the ``aemon monitor`` child asked to stop (it closes its recording), the program exits 0.

    Qt's event loop runs in C++, where Python signal handlers cannot run; the signal's wake-up
    byte (:func:`signal.set_wakeup_fd`) on a socket pair wakes a :class:`QSocketNotifier`,
    and the Python handler runs in its slot. A signal while the window is closing is logged
    and otherwise ignored (the monitor child gets at most its stop timeout to end).

    Args:
        window: The window to close.
    """

    def __init__(self, window: Any) -> None:
        from PySide6 import QtCore

        self.window = window
        self.signal: int | None = None
        self._read, self._write = socket.socketpair()
        for sock in (self._read, self._write):
            sock.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
        self._notifier = QtCore.QSocketNotifier(
            self._read.fileno(), QtCore.QSocketNotifier.Type.Read
        )
        self._notifier.activated.connect(self._drain)

    def _drain(self) -> None:
        """Empty the wake-up socket (the Python handler has run by the time this slot does)."""
        try:
            while self._read.recv(64):
                pass
        except BlockingIOError:
            pass

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        from PySide6 import QtCore

        if self.signal is not None:
            logger.warning("%s: already closing the window", signal.Signals(signum).name)
            return
        self.signal = signum
        logger.info("%s: closing the window", signal.Signals(signum).name)
        QtCore.QTimer.singleShot(0, self.window.close)

    def close(self) -> None:
        """Restore the previous handlers and wake-up descriptor."""
        self._notifier.setEnabled(False)
        for sig, handler in self._previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._read.close()
        self._write.close()
