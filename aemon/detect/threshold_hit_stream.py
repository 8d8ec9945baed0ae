"""Threshold hits → full hit rows, offline and streaming (``--detector threshold`` / cascade).

:class:`ThresholdHitStream` runs a :class:`~aemon.detect.threshold_hits.HitDetector` on a
stream and keeps the raw
history the :class:`~aemon.events.hit.HitBuilder` needs (the AIC pre-window, the whole hit), so
``push(first_sample, block)`` returns finished :class:`~aemon.events.hit.Hit` rows.

For the cascade (threshold proposes, the neural network confirms and classifies) use the two
halves separately::

    stream = ThresholdHitStream(detector, builder)
    for hit in stream.push_hits(first, block):
        start, stop = hit.window(card.window, pretrigger)
        if stream.has(start, stop):                 # else keep the hit until it has arrived
            kind, score = classify(stream.window(start, stop)[hit.channel])
            if kind is not None:
                events.append(stream.event(hit, kind=kind, score=score, detector="cascade"))
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from aemon.detect.threshold_hits import HitDetector, ThresholdHit
from aemon.dsp.raw_history import RawHistory
from aemon.errors import ConfigError
from aemon.events.hit import Hit, HitBuilder

logger = logging.getLogger(__name__)

THRESHOLD_DETECTOR = "threshold"
"""Value of the ``detector`` column for events of the threshold detector."""
HIT_TYPE = "hit"
"""Value of the ``type`` column for threshold hits."""


def threshold_hits_to_hits(
    hits: Iterable[ThresholdHit],
    signal: npt.ArrayLike,
    signal_first_sample: int,
    builder: HitBuilder,
    *,
    detector: str = THRESHOLD_DETECTOR,
) -> list[Hit]:
    """Build events from hits found in ``signal`` (``(channels, n)`` in stream units).

    The hit's threshold is the feature threshold and its PDT peak the event peak, so the
    features match what the hit detector measured.
    """
    return [
        builder.build(
            hit.detection(HIT_TYPE),
            signal,
            signal_first_sample,
            detector=detector,
            threshold_v=hit.threshold_V,
            peak_sample=hit.peak_sample,
        )
        for hit in hits
    ]


class ThresholdHitStream:
    """Streaming threshold detector that returns events, with the raw history they need.

    Args:
        detector: The hit detector (its state is advanced by this stream).
        builder: Builds the events (onset refinement, features).
        keep_s: Extra history (s) kept beyond what the hits need, e.g. for cascade windows.
    """

    def __init__(self, detector: HitDetector, builder: HitBuilder, *, keep_s: float = 0.0):
        if keep_s < 0:
            raise ConfigError(f"keep_s must be >= 0 s, got {keep_s}")
        self.detector = detector
        self.builder = builder
        cfg, rate = detector.config, detector.sample_rate_hz
        longest_s = cfg.max_duration_us * 1e-6 + cfg.hdt_us * 1e-6 + keep_s
        if cfg.threshold_x_noise is not None:
            longest_s += cfg.noise_frame_s  # the first frame's hits come one frame late
        # A gap starts a new run; the run before it stays for the hits the gap closed.
        self._history = RawHistory(int(longest_s * rate) + builder.aic_pre + 16)
        self._settled = builder.first_sample - builder.aic_pre

    @property
    def settled_sample(self) -> int:
        """No event returned from now on has its refined onset before this absolute index
        (a hit's onset moves at most the AIC pre-window before its start)."""
        start = self.detector.settled_sample
        if start is not None:
            self._settled = max(self._settled, start - self.builder.aic_pre)
        return self._settled

    @property
    def history_range(self) -> tuple[int, int]:
        """Absolute ``[first, stop)`` of the newest contiguous run of raw samples held."""
        return self._history.newest_range

    def has(self, start: int, stop: int) -> bool:
        """True if the samples ``[start, stop)`` are all held (in one contiguous run)."""
        return self._history.run_start(start, stop) is not None

    def window(self, start: int, stop: int) -> npt.NDArray[np.generic]:
        """Raw samples ``[start, stop)`` (stream units, ``(channels, stop - start)``, a copy).

        Raises:
            ConfigError: The range is not (or no longer) held; see :attr:`history_range`.
        """
        held = self._history.span(start, stop) if self.has(start, stop) else None
        if held is None:
            raise ConfigError(
                f"samples {start}..{stop} are not in the history {self.history_range}; wait "
                "for them or raise keep_s"
            )
        return held[1].copy()

    def push_hits(self, first_sample: int, block: npt.ArrayLike) -> list[ThresholdHit]:
        """Remember ``block`` and return the hits that ended (see :meth:`HitDetector.push`)."""
        x = np.asarray(block)
        hits = self.detector.push(first_sample, x)
        if x.shape[1]:
            self._history.append(first_sample, x)
        return hits

    def flush_hits(self) -> list[ThresholdHit]:
        """End of stream: the hits still open (the history stays for their events)."""
        return self.detector.flush()

    def event(
        self,
        hit: ThresholdHit,
        *,
        kind: str = HIT_TYPE,
        score: float = 1.0,
        detector: str = THRESHOLD_DETECTOR,
    ) -> Hit:
        """The event of a hit returned by this stream (call before pushing further blocks)."""
        stop = max(hit.stop_sample, hit.start_sample + 1)
        lo = hit.start_sample - self.builder.aic_pre
        run_start = self._history.run_start(hit.start_sample, stop)
        if run_start is not None:
            lo = max(lo, run_start)
        signal = self.window(lo, stop)
        return self.builder.build(
            hit.detection(kind, score),
            signal,
            lo,
            detector=detector,
            threshold_v=hit.threshold_V,
            peak_sample=hit.peak_sample,
        )

    def push(self, first_sample: int, block: npt.ArrayLike) -> list[Hit]:
        """Scan a block; return the events of the hits that ended."""
        return [self.event(hit) for hit in self.push_hits(first_sample, block)]

    def flush(self) -> list[Hit]:
        """End of stream: the events of the hits still open."""
        return [self.event(hit) for hit in self.flush_hits()]
