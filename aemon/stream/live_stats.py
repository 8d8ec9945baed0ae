"""Numbers of a live run that a status line can show without alarming: event latency
percentiles of the steady state (after the start-up warm-up), the warm-up itself, and the
× real time over a recent window instead of a running average.

The warm-up is the time from the start until detection keeps up with the source (its lag at
most :data:`CAUGHT_UP_S`) after its first :data:`WARMUP_SIGNAL_S` of signal: loading the model
and the first inferences can leave seconds of backlog that is worked off at once; events found
meanwhile have seconds of latency that say nothing about the steady state. A detector that
never catches up (an overloaded machine) ends its warm-up after :data:`MAX_WARMUP_S`.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable

import numpy as np

logger = logging.getLogger(__name__)

CAUGHT_UP_S = 0.5
"""The warm-up ends when detection first lags the source by at most this much (s)..."""
WARMUP_SIGNAL_S = 2.0
"""... once it has done this much signal (s): the first inferences come after the first
blocks, whose small lag would otherwise end the warm-up before it began."""
MAX_WARMUP_S = 30.0
"""The warm-up ends after this much wall time (s) even if detection never caught up."""
RECENT_S = 10.0
"""Window of the recent × real time (s of wall time)."""
KEPT_LATENCIES = 1000
"""Latencies kept for the percentiles (the newest)."""


class LiveStats:
    """Latencies split at the end of the warm-up, and the recent × real time.

    Args:
        sample_rate_hz: Samples per second per channel (Hz).
        clock: Wall clock (s), monotonic.
    """

    def __init__(self, sample_rate_hz: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.sample_rate_hz = float(sample_rate_hz)
        self._clock = clock
        self._steady: deque[float] = deque(maxlen=KEPT_LATENCIES)
        self._warmup: deque[float] = deque(maxlen=KEPT_LATENCIES)
        self._started: float | None = None
        self.warmup_s = math.nan
        """Wall time (s) from :meth:`start` until detection first caught up; NaN before."""
        self._received: deque[tuple[float, int]] = deque()  # (monotonic s, samples)

    def start(self) -> None:
        """The run starts now (the warm-up clock starts)."""
        self._started = self._clock()

    def progress(self, done_samples: int, lag_samples: int) -> None:
        """Detection has ``done_samples`` behind it and lags the source by ``lag_samples``;
        see the module's description for when that ends the warm-up."""
        if self._started is None or not math.isnan(self.warmup_s):
            return
        elapsed = self._clock() - self._started
        done = done_samples >= WARMUP_SIGNAL_S * self.sample_rate_hz
        if (done and lag_samples <= CAUGHT_UP_S * self.sample_rate_hz) or elapsed >= MAX_WARMUP_S:
            self.warmup_s = elapsed
            logger.info("warm-up over after %.1f s", elapsed)

    def add_latencies(self, latencies_ms: Iterable[float]) -> None:
        """Event latencies (ms), counted as warm-up until it ends."""
        (self._warmup if math.isnan(self.warmup_s) else self._steady).extend(latencies_ms)

    def latency_ms(self) -> tuple[float, float]:
        """Median and 99th percentile (ms) of the steady-state latencies; NaN if none."""
        if not self._steady:
            return math.nan, math.nan
        p50, p99 = np.percentile(np.asarray(self._steady, dtype=float), [50, 99])
        return float(p50), float(p99)

    def warmup_latency_max_ms(self) -> float:
        """Largest latency (ms) of an event found during the warm-up; NaN if none."""
        return max(self._warmup, default=math.nan)

    def recent_realtime_factor(self, samples: int) -> float:
        """× real time over the last :data:`RECENT_S` of calls, given the samples per
        channel received so far; NaN until a second has passed."""
        now = self._clock()
        self._received.append((now, samples))
        while len(self._received) > 2 and now - self._received[1][0] >= RECENT_S:
            self._received.popleft()
        then, before = self._received[0]
        if now - then < 1.0:
            return math.nan
        return (samples - before) / (now - then) / self.sample_rate_hz
