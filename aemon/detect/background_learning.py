"""Learn the decision threshold from the first seconds of a live run (``--learn-background``).

The technician starts the monitor with the machine running and no crack activity yet; for
the first ``seconds`` of signal the neural stream's events are withheld, and its probability
map and the site features of its candidates are kept. Then, as ``aemon calibrate`` does, the
stream's classifier (the day-one or site classifier) is calibrated for the false-alarm target
on that background (:mod:`aemon.detect.classifier_calibration`: a higher decision, or an SNR
gate); where the stream has no classifier, where it kept too few candidates, or where it needs
a gate and the network alone needs a lower one,
:func:`~aemon.detect.calibration.calibrate_threshold` sets the network's threshold (and SNR
gate) alone. Detection continues with the result.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from aemon.detect.calibration import SiteCalibration, calibrate_threshold
from aemon.detect.classifier_calibration import calibrate_classifier, weaker_gate
from aemon.detect.hit_streams import NeuralHitStream
from aemon.detect.probability_map import ProbabilityChunk
from aemon.detect.site_classifier import network_probability, with_decision
from aemon.detect.site_features import FEATURE_NAMES
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
        if not self._chunks:
            logger.warning("no map to learn the background from; keeping the card's threshold")
            return
        seconds = sum(c.probabilities.shape[-1] * c.bin_samples for c in self._chunks) / self.rate
        features = np.array(self._features, dtype=np.float64).reshape(
            len(self._features), len(FEATURE_NAMES)
        )
        snr_db = np.array(self._event_snr_db, dtype=np.float64)
        measured = snr_db.size == features.shape[0]  # every candidate (no gate while learning)
        classifier = self.stream.site_classifier
        mine = None
        if classifier is not None and measured:
            mine = calibrate_classifier(
                classifier, features, snr_db, seconds, fa_per_min=self.fa_per_min,
                card=self.stream.detector.card, sources=("live",),
            )  # fmt: skip
        if mine is None or mine.min_snr_db > 0:
            if classifier is not None and measured:  # the SNRs of what the network keeps alone
                snr_db = snr_db[
                    network_probability(features) >= self.stream.detector.card.threshold
                ]
            network = self._network_calibration(list(snr_db))
            if weaker_gate(mine, network) is network:
                if classifier is not None:
                    self.stream.drop_classifier()
                self._apply(network)
                return
        assert classifier is not None and mine is not None
        assert mine.classifier_decision is not None
        self.stream.site_classifier = with_decision(classifier, mine.classifier_decision)
        self._apply(mine)

    def _network_calibration(self, event_snr_db: list[float]) -> SiteCalibration:
        probabilities = np.concatenate([c.probabilities for c in self._chunks], axis=-1)
        self._chunks.clear()
        calibration = calibrate_threshold(
            probabilities,
            self.stream.detector.bin_samples,
            self.rate,
            self.stream.detector.card,
            fa_per_min=self.fa_per_min,
            sources=("live",),
            event_snr_db=event_snr_db,
        )
        for segmenter in self.stream.segmenters:
            segmenter.on = segmenter.off = calibration.threshold
        return calibration

    def _apply(self, calibration: SiteCalibration) -> None:
        self.stream.min_snr_db = calibration.min_snr_db
        self.calibration = calibration
        decision = calibration.classifier_decision
        logger.warning(
            "learnt the background (%.1f s, %d events withheld): %s, SNR gate %.1f dB for %g "
            "false alarms/min",
            calibration.background_s, self.withheld,
            f"threshold {calibration.threshold:.4f} (network alone)" if decision is None
            else f"classifier decision {decision:.4f}",
            calibration.min_snr_db, self.fa_per_min,
        )  # fmt: skip
