"""Learn the decision threshold from the first seconds of a live run (``--learn-background``).

The technician starts the monitor with the machine running and no crack activity yet; for
the first ``seconds`` of signal the neural stream's events are withheld, and its probability
map and the site features of its candidates are kept. Then, as ``aemon calibrate`` does, the
stream's classifier (the day-one or site classifier) asks for the burst probability that meets
the false-alarm target on that background
(:func:`~aemon.detect.calibration.classifier_decision_for_rate`; never lower than its own);
where that would exceed :data:`~aemon.detect.calibration.GATE_ABOVE`, or the stream has no
classifier, :func:`~aemon.detect.calibration.calibrate_threshold` sets the network's threshold
(and SNR gate) alone. Detection continues with the result.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from aemon.detect.calibration import (
    GATE_ABOVE,
    SiteCalibration,
    calibrate_threshold,
    classifier_decision_for_rate,
)
from aemon.detect.hit_streams import NeuralHitStream
from aemon.detect.probability_map import ProbabilityChunk
from aemon.detect.site_classifier import with_decision
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
        self._features: list[npt.NDArray[np.float64]] = []
        stream.map_listener = self._chunks.append
        stream.snr_listener = self._event_snr_db.append
        if stream.site_classifier is not None:
            stream.feature_listener = lambda _event, features, _onset: self._features.append(
                features
            )

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
        self.stream.feature_listener = None
        card = self.stream.detector.card
        if not self._chunks:
            logger.warning("no map to learn the background from; keeping the card's threshold")
            return
        seconds = sum(c.probabilities.shape[-1] * c.bin_samples for c in self._chunks) / self.rate
        if self.stream.site_classifier is not None and self._classifier_decision(seconds):
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

    def _classifier_decision(self, seconds: float) -> bool:
        """Raise the stream's classifier's decision to meet the target on ``seconds`` (s) of
        background; False (and the classifier dropped) where it cannot below
        :data:`GATE_ABOVE`."""
        classifier = self.stream.site_classifier
        assert classifier is not None
        features = np.array(self._features, dtype=np.float64)
        self._features.clear()
        if features.size:
            probability, kept = classifier.probability(features), classifier.keeps(features)
        else:
            probability, kept = np.zeros(0), np.zeros(0, bool)
        decision, method, measured = classifier_decision_for_rate(
            probability, kept, seconds, self.fa_per_min, classifier.threshold
        )
        if decision > GATE_ABOVE:
            logger.warning(
                "the classifier cannot meet %g false alarms/min on this background below a "
                "decision of %g; detecting with the network alone",
                self.fa_per_min, GATE_ABOVE,
            )  # fmt: skip
            self.stream.drop_classifier()
            return False
        self.stream.site_classifier = with_decision(classifier, decision)
        card = self.stream.detector.card
        self.calibration = SiteCalibration(
            threshold=card.threshold,
            target_fa_per_min=self.fa_per_min,
            measured_fa_per_min=round(measured, 3),
            background_s=round(seconds, 3),
            method=f"classifier {method}",
            sources=("live",),
            model=card.name,
            classifier_decision=decision,
        )
        logger.warning(
            "learnt the background (%.1f s, %d events withheld): classifier decision %.4f "
            "for %g false alarms/min",
            seconds, self.withheld, decision, self.fa_per_min,
        )  # fmt: skip
        return True
