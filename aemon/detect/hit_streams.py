"""Neural detections → AE hits, streaming: the neural hit stream (``--detector nn``).

A :class:`~aemon.detect.probability_map.ProbabilityMapStream` makes the stitched probability
map, a :class:`~aemon.events.segmentation.MapSegmenter` per channel turns it into runs
(threshold, merge gap and class from the model card), and the
:class:`~aemon.events.hit.HitBuilder` refines each onset (AIC) and measures the features on the
raw samples, which the stream keeps for as long as a detection can still need them. With a
site classifier whose card asks for them, STA/LTA triggers where the network proposed nothing
(:mod:`aemon.detect.trigger_candidates`) are judged beside the network's candidates. The
cascade stream lives in :mod:`aemon.detect.cascade_hit_stream`.

It takes ``push(first_sample, block)``, ``gap(gap)`` and ``flush()`` and returns
:class:`~aemon.events.hit.Hit` rows, oldest first.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.detect.probability_map import ProbabilityChunk, ProbabilityMapStream
from aemon.detect.site_classifier import SiteClassifier
from aemon.detect.site_features import CONTEXT_S, RECENT_S, site_features
from aemon.detect.trigger_candidates import TriggerCandidates
from aemon.detect.trigger_setting import Triggers
from aemon.dsp.normalization import noise_floor
from aemon.dsp.raw_history import RawHistory
from aemon.events.hit import Detection, Hit, HitBuilder
from aemon.events.segmentation import MapSegmenter
from aemon.types import Gap

FeatureListener = Callable[[Hit, npt.NDArray[np.float64], int], None]
"""Receives every event the stream builds, its site features, and the absolute sample index of
the onset they were measured at (the AIC window's pick, which the built event may have moved
on to a later arrival: :mod:`aemon.events.later_arrival`)."""

logger = logging.getLogger(__name__)

MAX_EVENT_S = 0.1
"""Longest neural event (s) whose raw samples are kept for features; longer ones are cut."""
NOISE_CONTEXT_S = 1e-3
"""Raw signal (s) kept before each event for the builder's noise estimate and AIC window."""


class NeuralHitStream:
    """Raw blocks → events with the neural detector.

    Args:
        detector: The streaming detector (model, stream format, origin).
        builder: Builds the events (onset refinement, features).
        threshold: Probability at which a run opens; None for the model card's.
        off: Probability below which a run closes (hysteresis); None for ``threshold``.
        merge_gap_us: Runs closer than this (µs) merge; None for the model card's.
        min_duration_us: Shorter runs are dropped (µs).
        min_snr_db: Events whose peak is less than this (dB) over the noise before them are
            dropped (:func:`peak_snr_db`); None for the model card's (0 = no gate).
        site_classifier: A second look at every candidate (the site's from ``aemon adapt
            --background``, or a model's day-one classifier): those it rejects are dropped
            before they are built. With it, runs open at its ``candidate_probability``
            unless ``threshold`` is given, and STA/LTA triggers are judged too where its
            ``triggers`` are set (:meth:`use_triggers`).
    """

    def __init__(
        self,
        detector: ProbabilityMapStream,
        builder: HitBuilder,
        *,
        threshold: float | None = None,
        off: float | None = None,
        merge_gap_us: float | None = None,
        min_duration_us: float = 0.0,
        min_snr_db: float | None = None,
        site_classifier: SiteClassifier | None = None,
    ) -> None:
        card, fmt = detector.card, detector.format
        self.site_classifier = site_classifier
        self.site_rejected = 0
        """Events the site classifier dropped so far."""
        self.feature_listener: FeatureListener | None = None
        """Called with every built event, its site features and the onset they were measured
        at (``aemon adapt`` learns from them); setting it makes the stream measure them."""
        if threshold is None and site_classifier is not None:
            threshold = site_classifier.candidate_probability
        self.detector, self.builder, self.name = detector, builder, card.name
        self.min_snr_db = card.min_snr_db if min_snr_db is None else min_snr_db
        self.gated_events = 0
        """Events dropped by the SNR gate so far."""
        self.snr_listener: Callable[[float], None] | None = None
        """Called with the SNR (dB) of every event before the gate (calibration uses it)."""
        groups = fmt.channels if card.channels == 1 else 1
        self.segmenters = [
            MapSegmenter(
                card.classes,
                detector.bin_samples,
                fmt.sample_rate_hz,
                channel=g,
                on=card.threshold if threshold is None else threshold,
                off=off,
                min_duration_us=min_duration_us,
                merge_gap_us=card.merge_gap_us if merge_gap_us is None else merge_gap_us,
                per_class=False,
            )
            for g in range(groups)
        ]
        rate = fmt.sample_rate_hz
        self._max_event = int(MAX_EVENT_S * rate)
        self._context = max(int(NOISE_CONTEXT_S * rate), builder.aic_pre)
        # a refined onset may precede the run by the AIC pre-window: the stretch lies before it
        self._feature_context = self._context + int(CONTEXT_S * rate) + 1
        keep = detector.latency_samples + self._max_event + self._feature_context + card.window
        self._history = RawHistory(keep * detector.factor)
        self.cut_events = 0
        self.map_listener: Callable[[ProbabilityChunk], None] | None = None
        """Called with every stitched probability chunk (evaluation keeps the map this way)."""
        self._settled = builder.first_sample - builder.aic_pre
        self._recent: dict[int, collections.deque[int]] = {}
        self._recent_span = int(RECENT_S * rate)
        self._triggers: TriggerCandidates | None = None
        if site_classifier is not None and site_classifier.triggers is not None:
            self.use_triggers(site_classifier.triggers)

    def drop_classifier(self) -> None:
        """Detect with the network alone from now on (a classifier's STA/LTA triggers go too)."""
        self.site_classifier = None
        self._triggers = None

    def use_triggers(self, triggers: Triggers) -> None:
        """Also propose STA/LTA ``triggers`` where the network proposed nothing
        (:mod:`aemon.detect.trigger_candidates`); call before the first block. Training sets
        it with a feature listener, so the classifier learns the candidates it will judge."""
        fmt = self.detector.format
        groups = len(self.segmenters)
        self._triggers = TriggerCandidates(
            fmt.channels,
            fmt.sample_rate_hz,
            triggers,
            self.segmenters[0].on,
            [c if groups == fmt.channels else 0 for c in range(fmt.channels)],
            self.detector.card.classes[0],
            first_sample=self.builder.first_sample,
        )

    @property
    def settled_sample(self) -> int:
        """No event returned from now on has its refined onset before this absolute index:
        the earliest open or pending run (or the end of the map) less the AIC pre-window, but
        no earlier than the oldest raw sample held (an event is built from those, so a run
        open for longer than the history does not hold the clock back)."""
        starts = [seg.settled_sample for seg in self.segmenters]
        if all(s is not None for s in starts):
            earliest = min(s for s in starts if s is not None)
            pending = self._triggers.earliest_pending if self._triggers is not None else None
            if pending is not None:
                earliest = min(earliest, pending)
            self._settled = max(self._settled, earliest - self.builder.aic_pre)
        oldest = self._history.oldest
        if oldest is not None:
            self._settled = max(self._settled, oldest)
        return self._settled

    def push(self, first_sample: int, block: npt.NDArray[np.generic]) -> list[Hit]:
        """Add a raw ``(channels, n)`` block; return the events that are complete."""
        block = np.asarray(block)
        if self._triggers is not None:
            self._triggers.push(first_sample, block)
        chunks = self.detector.push(first_sample, block)
        self._history.append(first_sample, block)
        return self._events(chunks)

    def gap(self, gap: Gap) -> None:
        """Note missing samples (the detector fills or restarts; runs do not span it, and the
        candidates before it are no longer counted as recent)."""
        self.detector.gap(gap)
        self._recent.clear()
        if self._triggers is not None:
            self._triggers.gap(gap.stop_sample)

    def flush(self) -> list[Hit]:
        """End of stream: the events still open."""
        events: list[Hit | None] = list(self._events(self.detector.flush()))
        for seg in self.segmenters:
            events += self._build_all(seg.flush())
        if self._triggers is not None:
            events += self._build_all(self._triggers.flush())
        return _sorted(events)

    def _events(self, chunks: list[ProbabilityChunk]) -> list[Hit]:
        events: list[Hit | None] = []
        for chunk in chunks:
            if self.map_listener is not None:
                self.map_listener(chunk)
            dets = [d for g, seg in enumerate(self.segmenters)
                    for d in seg.push(chunk.first_bin_sample, chunk.probabilities[g])]  # fmt: skip
            if self._triggers is not None:
                dets = sorted(dets + self._triggers.judge(chunk), key=lambda d: d.start_sample)
            events += self._build_all(dets)
        return _sorted(events)

    def _build_all(self, dets: list[Detection]) -> list[Hit | None]:
        """The events of ``dets``; with a site classifier, the candidates are measured one by
        one (in time order: each counts the ones before it) and judged together."""
        events: list[Hit | None] = []
        candidates: list[_Candidate] = []
        for det in dets:
            built = self._build(det)
            if isinstance(built, _Candidate):
                candidates.append(built)
            else:
                events.append(built)
        if not candidates:
            return events
        features = np.array([c.features for c in candidates])
        keep = (
            self.site_classifier.keeps(features) if self.site_classifier is not None
            else np.ones(len(candidates), bool)
        )  # fmt: skip
        self.site_rejected += int(np.count_nonzero(~keep))
        for c, kept in zip(candidates, keep, strict=True):
            if self.feature_listener is None and not kept:
                continue
            event = self.builder.build(c.detection, c.signal, c.first, detector=self.name)
            if self.feature_listener is not None:
                self.feature_listener(event, c.features, c.onset)
            events.append(event if kept else None)
        return events

    def _build(self, det: Detection) -> Hit | _Candidate | None:
        if det.stop_sample - det.start_sample > self._max_event:
            self.cut_events += 1
            det = det._replace(stop_sample=det.start_sample + self._max_event)
        judged = self.site_classifier is not None or self.feature_listener is not None
        context = self._feature_context if judged else self._context
        held = self._history.span(det.start_sample - context, det.stop_sample)
        if held is None:
            logger.warning("no raw samples left for the event at %d; skipped", det.start_sample)
            return None
        wide_first, wide_signal = held  # one copy; the builder sees its part of it
        first = max(wide_first, det.start_sample - self._context)
        signal = wide_signal[:, first - wide_first :]
        stop = first + signal.shape[1]
        # a run may start just before a restart after a gap, or end in the padded last bin
        start = min(max(det.start_sample, first), stop - 1)
        det = det._replace(start_sample=start, stop_sample=min(det.stop_sample, stop))
        if len(self.segmenters) == 1 and signal.shape[0] > 1:  # a model of all channels
            lo = det.start_sample - first
            peak = np.abs(signal[:, lo : det.stop_sample - first].astype(np.float64))
            det = det._replace(channel=int(np.argmax(peak.max(axis=1))))
        if self.snr_listener is not None or self.min_snr_db > 0:
            lo = det.start_sample - first
            snr_db = peak_snr_db(signal[det.channel], lo, det.stop_sample - first)
            if self.snr_listener is not None:
                self.snr_listener(snr_db)
            if self.min_snr_db > 0 and snr_db < self.min_snr_db:  # gated before features
                self.gated_events += 1
                return None
        if not judged:
            return self.builder.build(det, signal, first, detector=self.name)
        # judged before it is built: most candidates on an impulsive machine are rejected
        onset = self.builder.refined_onset(det, signal, first)
        recent = self._recent.setdefault(det.channel, collections.deque())
        while recent and recent[0] < det.start_sample - self._recent_span:
            recent.popleft()
        busy = sum(1 for s in recent if s < det.start_sample)
        recent.append(det.start_sample)
        features = site_features(
            wide_signal[det.channel],
            onset - wide_first,
            det.stop_sample - wide_first,
            self.detector.format.sample_rate_hz,
            float(det.score),
            busy,
        )
        return _Candidate(det, signal, first, features, onset)


class _Candidate(NamedTuple):
    """A detection measured for the site classifier, not yet judged or built."""

    detection: Detection
    signal: npt.NDArray[np.generic]
    first: int
    features: npt.NDArray[np.float64]
    onset: int
    """Absolute sample the features were measured at (the AIC window's pick)."""


def peak_snr_db(x: npt.NDArray[np.generic], start: int, stop: int) -> float:
    """Peak of ``x[start:stop]`` over the noise RMS of ``x[:start]`` (dB).

    The noise is :func:`~aemon.dsp.normalization.noise_floor` about the median (a DC offset
    does not count), so a transient just before the event does not inflate it. With fewer
    than 16 samples before ``start`` the noise is taken from the event span itself.
    """
    x64 = np.asarray(x, dtype=np.float64)
    before = x64[:start] if start >= 16 else x64[start:stop]
    centre = float(np.median(before))
    noise = float(noise_floor(before - centre))
    peak = float(np.max(np.abs(x64[start:stop] - centre))) if stop > start else 0.0
    return 20.0 * float(np.log10(max(peak, 1e-30) / max(noise, 1e-30)))


def _sorted(events: Sequence[Hit | None]) -> list[Hit]:
    return sorted((e for e in events if e is not None), key=lambda e: (e.sample_index, e.channel))
