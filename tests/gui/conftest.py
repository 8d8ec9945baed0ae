"""Qt test fixtures: main windows that are closed (stopping any monitor child) and deleted
at the end of the test, while Qt still runs."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def make_window(qapp: Any, tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """A factory of shown main windows with their own settings file."""
    from PySide6 import QtCore

    from aemon.gui.main_window import MainWindow

    windows: list[Any] = []

    def make() -> Any:
        settings = QtCore.QSettings(str(tmp_path / "gui.ini"), QtCore.QSettings.Format.IniFormat)
        window = MainWindow(settings)
        window.resize(1500, 950)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        window.deleteLater()
    windows.clear()
    qapp.processEvents()
    gc.collect()
