"""Give freed heap memory back to the operating system during long live runs.

A live monitor allocates large temporary arrays (16–33 MB per inference batch in the
preprocessing and window stacking) on several threads. glibc's allocator keeps what such
threads free in its arenas instead of returning it, so the resident size (RSS) of a
`monitor` crept up by about 100 MB/h although nothing in the program grew: Python objects,
containers and tracemalloc's traced memory stayed flat (bench/soak.py, issue 24 item 8).
``malloc_trim(0)`` hands the free pages of every arena back; :class:`HeapTrimmer` calls it
every :data:`TRIM_INTERVAL_S` from the wait loop of ``record`` and ``monitor``. Elsewhere
than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

TRIM_INTERVAL_S = 10.0
"""Seconds between two trims (each takes a few milliseconds)."""


def _glibc_trim() -> Callable[[int], int] | None:
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(
            ctypes.util.find_library("c") or "libc.so.6"
        ).malloc_trim
    except (OSError, AttributeError):  # pragma: no cover - glibc always has it
        return None
    return trim


class HeapTrimmer:
    """Call :meth:`maybe_trim` often; it trims at most every ``interval_s`` seconds (s)."""

    def __init__(self, interval_s: float = TRIM_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._trim = _glibc_trim()
        self._last = time.monotonic()
        self.trims = 0

    def maybe_trim(self) -> None:
        """Return free heap pages to the OS if the interval has passed (glibc only)."""
        now = time.monotonic()
        if self._trim is None or now - self._last < self.interval_s:
            return
        self._last = now
        self._trim(0)
        self.trims += 1
