"""Learn the decision threshold from the first seconds of a live run (``--learn-background``).

The technician starts the monitor with the machine running and no crack activity yet; for
the first ``seconds`` of signal the neural stream's events are withheld and its probability
map is kept. Then :func:`~aemon.detect.calibration.calibrate_threshold` sets the threshold that
meets the false-alarm target on that background, and detection continues with it.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from aemon.detect.calibration import SiteCalibration, calibrate_threshold
from aemon.detect.hit_streams import NeuralHitStream
from aemon.detect.probability_map import ProbabilityChunk
from aemon.events.hit import Hit
from aemon.types import Gap

logger = logging.getLogger(__name__)

__all__ = ["BackgroundLearning"]


class BackgroundLearning:
    """A neural hit stream that learns its threshold from its first ``seconds`` of signal.

    Args:
        stream: The live neural hit stream (its threshold is replaced once learnt).
        seconds: Background to learn from (s of signal).
        fa_per_min: False-alarm target (events/min).
        first_sample: Absolute index of the stream's first sample.
    """

    def __init__(
        self, stream: NeuralHitStream, seconds: float, fa_per_min: float, first_sample: int
    ) -> None:
        self.stream = stream
        self.fa_per_min = fa_per_min
        rate = stream.detector.format.sample_rate_hz
        self.rate = rate
        self.until = first_sample + int(seconds * rate)
        self.withheld = 0
        self.calibration: SiteCalibration | None = None
        self._chunks: list[ProbabilityChunk] = []
        self._event_snr_db: list[float] = []
        stream.map_listener = self._chunks.append
        stream.snr_listener = self._event_snr_db.append

    @property
    def learning(self) -> bool:
        """True while the background is still being learnt."""
        return self.calibration is None

    def push(self, first_sample: int, block: npt.NDArray[np.generic]) -> list[Hit]:
        """As the stream's ``push``; returns no events while learning."""
        if not self.learning:
            return self.stream.push(first_sample, block)
        cut = min(max(self.until - first_sample, 0), block.shape[1])
        self.withheld += len(self.stream.push(first_sample, block[:, :cut]))
        if first_sample + cut < self.until:
            return []
        self._finish()
        return self.stream.push(first_sample + cut, block[:, cut:]) if cut < block.shape[1] else []

    def gap(self, gap: Gap) -> None:
        """As the stream's ``gap``."""
        self.stream.gap(gap)

    @property
    def settled_sample(self) -> int:
        """As the stream's ``settled_sample``."""
        return self.stream.settled_sample

    def flush(self) -> list[Hit]:
        """End of stream (a run shorter than the learning time keeps the card's threshold)."""
        events = self.stream.flush()
        if self.learning:
            self.withheld += len(events)
            self._finish()
            return []
        return events

    def _finish(self) -> None:
        self.stream.map_listener = None
        self.stream.snr_listener = None
        card = self.stream.detector.card
        if not self._chunks:
            logger.warning("no map to learn the background from; keeping the card's threshold")
            return
        probabilities = np.concatenate([c.probabilities for c in self._chunks], axis=-1)
        self._chunks.clear()
        calibration = calibrate_threshold(
            probabilities,
            self.stream.detector.bin_samples,
            self.rate,
            card,
            fa_per_min=self.fa_per_min,
            sources=("live",),
            event_snr_db=self._event_snr_db,
        )
        for segmenter in self.stream.segmenters:
            segmenter.on = segmenter.off = calibration.threshold
        self.stream.min_snr_db = calibration.min_snr_db
        self.calibration = calibration
        logger.warning(
            "learnt the background (%.1f s, %d events withheld): threshold %.4f, SNR gate "
            "%.1f dB for %g false alarms/min",
            calibration.background_s,
            self.withheld,
            calibration.threshold,
            calibration.min_snr_db,
            self.fa_per_min,
        )
