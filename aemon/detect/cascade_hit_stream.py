"""The cascade hit stream (``--detector cascade``): threshold hits confirmed by the network.

The threshold detector proposes hits
(:class:`~aemon.detect.threshold_hit_stream.ThresholdHitStream`), the network looks only at one
window around each hit, and the hit is kept when a class reaches the probability in the bins
the hit covers (typed by that class). Inference then costs per hit, not per second, so even
the large thesis models keep up on a CPU at ordinary hit rates.

It takes ``push(first_sample, block)``, ``gap(gap)`` and ``flush()`` and returns
:class:`~aemon.events.hit.Hit` rows, oldest first.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from aemon.detect.backend import Detector
from aemon.detect.probability_map import rate_mismatch_error
from aemon.detect.threshold_hit_stream import ThresholdHitStream
from aemon.detect.threshold_hits import HitDetector, ThresholdHit
from aemon.dsp.preprocess import Preprocessor, card_highpass_hz, decimation_factor
from aemon.errors import ConfigError
from aemon.events.hit import Hit, HitBuilder
from aemon.types import Gap, StreamFormat

logger = logging.getLogger(__name__)

__all__ = ["CascadeHitStream"]


class CascadeHitStream:
    """Threshold hits confirmed and classified by the network (one window per hit).

    Args:
        hits: The threshold detector.
        builder: Builds the events (onset refinement, features).
        detector: The model session.
        fmt: Format of the stream.
        probability: Probability a class must reach inside the hit; None for the card's.
        highpass_hz: High-pass corner (Hz); None for the model's
            (:func:`~aemon.dsp.preprocess.card_highpass_hz`).

    Raises:
        ConfigError: A source rate the model cannot take, or a model of several channels.
    """

    def __init__(
        self,
        hits: HitDetector,
        builder: HitBuilder,
        detector: Detector,
        fmt: StreamFormat,
        *,
        probability: float | None = None,
        highpass_hz: float | None = None,
    ) -> None:
        card = detector.card
        factor = decimation_factor(fmt.sample_rate_hz, card.sample_rate_hz)
        if factor is None:
            raise rate_mismatch_error(card, fmt.sample_rate_hz)
        if card.channels != 1:
            raise ConfigError(f"the cascade needs a one-channel model; {card.name} takes more")
        self.detector, self.card, self.factor = detector, card, factor
        self.probability = card.threshold if probability is None else probability
        self.window = card.window * factor  # source samples
        # the hit starts this many whole bins into its window: after the margin, with context
        self.pre_bins = card.margin_bins + max(1, card.hop // card.bin_samples // 8)
        self.pre = self.pre_bins * card.bin_samples * factor
        self.hits = ThresholdHitStream(hits, builder, keep_s=2 * self.window / fmt.sample_rate_hz)
        self._pre = Preprocessor(
            1,
            fmt.sample_rate_hz,
            factor,
            fmt.volts_per_count,
            card.normalization_params(),
            first_segment=card.window,
            segment=card.window,
            highpass_hz=card_highpass_hz(card.normalization)
            if highpass_hz is None
            else highpass_hz,
        )
        self._pending: list[ThresholdHit] = []
        self.rejected = 0

    def push(self, first_sample: int, block: npt.NDArray[np.generic]) -> list[Hit]:
        """Scan a block; return the confirmed events of the hits whose window is complete."""
        self._pending += self.hits.push_hits(first_sample, block)
        return self._resolve(final=False)

    def gap(self, gap: Gap) -> None:
        """Missing samples: hits end at the gap (the detector sees the jump)."""

    @property
    def settled_sample(self) -> int:
        """No event returned from now on has its refined onset before this absolute index:
        the hit stream's, or the earliest hit still waiting for its window."""
        settled = self.hits.settled_sample
        if self._pending:
            aic_pre = self.hits.builder.aic_pre
            settled = min(settled, min(h.start_sample for h in self._pending) - aic_pre)
        return settled

    def flush(self) -> list[Hit]:
        """End of stream: classify the remaining hits (windows padded with zeros)."""
        self._pending += self.hits.flush_hits()
        return self._resolve(final=True)

    def _resolve(self, final: bool) -> list[Hit]:
        ready: list[ThresholdHit] = []
        waiting: list[ThresholdHit] = []
        newest = self.hits.history_range[1]
        for hit in self._pending:
            start = hit.start_sample - self.pre
            (ready if final or start + self.window <= newest else waiting).append(hit)
        self._pending = waiting
        if not ready:
            return []
        windows = np.stack([self._window(hit) for hit in ready])
        probs = self.detector.infer(windows)
        events = []
        b = self.card.bin_samples * self.factor
        for hit, p in zip(ready, probs, strict=True):
            lo = self.pre_bins
            hi = -(-(self.pre + max(hit.stop_sample - hit.start_sample, 1)) // b)
            hi = min(max(hi, lo + 1), p.shape[1] - self.card.margin_bins)
            best = p[:, lo:hi].max(axis=1)
            kind = int(np.argmax(best))
            if best[kind] < self.probability:
                self.rejected += 1
                continue
            events.append(
                self.hits.event(
                    hit, kind=self.card.classes[kind], score=float(best[kind]), detector="cascade"
                )
            )
        return events

    def _window(self, hit: ThresholdHit) -> npt.NDArray[np.float32]:
        """The normalised model window around a hit (its own noise floor, as in training)."""
        start = hit.start_sample - self.pre
        raw = np.zeros((1, self.window), np.float32)
        held_first, held_stop = self.hits.history_range
        lo, hi = max(start, held_first), min(start + self.window, held_stop)
        if hi > lo:
            raw[0, lo - start : hi - start] = self.hits.window(lo, hi)[hit.channel]
        self._pre.reset()
        out = np.concatenate([self._pre.process(raw), self._pre.finish()], axis=1)
        return out[0, : self.card.window]
