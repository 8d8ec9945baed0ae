"""Rate-limited warnings with one budget per reason: a flood of one kind of bad frame cannot
hide another kind from the log."""

from __future__ import annotations

import logging
import math
import time

logger = logging.getLogger(__name__)

LOG_INTERVAL_S = 2.0
"""Minimum time between two warnings of the same reason (s)."""


class RateLimitedLog:
    """Log at most one warning per reason per interval, saying how many were held back.

    Args:
        interval_s: Minimum time between two lines of one reason (s).
        log: The logger to write to.
    """

    def __init__(self, interval_s: float = LOG_INTERVAL_S, log: logging.Logger = logger) -> None:
        self._interval_s = interval_s
        self._log = log
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def __call__(self, kind: str, message: str) -> None:
        """Warn ``message`` unless a warning of ``kind`` was logged less than an interval ago."""
        now = time.monotonic()
        if now - self._last.get(kind, -math.inf) < self._interval_s:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return
        held = self._suppressed.pop(kind, 0)
        if held:
            message += f" ({held} more like this suppressed)"
        self._log.warning("%s", message)
        self._last[kind] = now
