"""The one place that turns detector options into a hit stream (live and offline).

:func:`make_hit_stream` builds the neural, threshold or cascade stream for a stream format;
:mod:`aemon.monitor` (live) and :mod:`aemon.detect.offline` (files) both call it, so the two
paths detect alike.
"""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np
import numpy.typing as npt

from aemon.detect.backend import Detector, open_with_backend
from aemon.detect.cascade_hit_stream import CascadeHitStream
from aemon.detect.hit_streams import NeuralHitStream
from aemon.detect.onnx_runtime import default_model_path
from aemon.detect.options import DETECTORS, DetectOptions
from aemon.detect.probability_map import ProbabilityMapStream
from aemon.detect.resampled_stream import needs_resampling, resampled_hit_stream
from aemon.detect.threshold_hit_stream import ThresholdHitStream
from aemon.detect.threshold_hits import HitDetector, HitDetectorConfig
from aemon.errors import ConfigError
from aemon.events.hit import Hit, HitBuilder
from aemon.types import ChannelInfo, Gap, StreamFormat

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD_DBAE = 40.0
"""Hit threshold (dBAE at the sensor) of the threshold and cascade detectors on volts input."""
FLOATING_X_NOISE = 6.0
"""Hit threshold (× running noise RMS) on input without a volts scale."""

__all__ = [
    "DEFAULT_THRESHOLD_DBAE",
    "FLOATING_X_NOISE",
    "OFFLINE_BATCH_WINDOWS",
    "HitStream",
    "make_hit_stream",
    "open_model",
]

OFFLINE_BATCH_WINDOWS = 16


class HitStream(Protocol):
    """Samples in, events out: what every detector presents to the live and offline paths."""

    def push(self, first_sample: int, block: npt.NDArray[np.generic]) -> list[Hit]:
        """Take the block starting at absolute sample ``first_sample``; return ended events."""
        ...

    def gap(self, gap: Gap) -> None:
        """Samples ``gap.start``..``gap.stop`` are missing."""
        ...

    def flush(self) -> list[Hit]:
        """End of stream: return the events still open."""
        ...

    @property
    def settled_sample(self) -> int:
        """No event returned from now on has a refined onset (``sample_index``) before this
        absolute sample index; it never decreases. The runner drives the hit grouper's clock
        with it (:mod:`aemon.detect.runner`), so grouping does not depend on block sizes."""
        ...


class _ThresholdStream:
    """The hit stream with the gap call the other streams have (the jump ends hits)."""

    def __init__(self, hits: ThresholdHitStream) -> None:
        self.hits = hits

    def push(self, first_sample: int, block: npt.NDArray[np.generic]) -> list[Hit]:
        """Scan a block; return the events of the hits that ended."""
        return self.hits.push(first_sample, block)

    def flush(self) -> list[Hit]:
        """End of stream: the events of the hits still open."""
        return self.hits.flush()

    def gap(self, gap: Gap) -> None:
        """The hit detector sees the jump in sample indices itself."""

    @property
    def settled_sample(self) -> int:
        """See :attr:`HitStream.settled_sample`."""
        return self.hits.settled_sample


def open_model(options: DetectOptions, rate_hz: float) -> Detector:
    """The model ``options`` name, or the shipped model for ``rate_hz`` (Hz), opened with the
    backend and provider ``options`` ask for (:func:`~aemon.detect.backend.open_with_backend`)."""
    model = options.model if options.model is not None else default_model_path(rate_hz)
    return open_with_backend(model, options)


def make_hit_stream(
    options: DetectOptions,
    fmt: StreamFormat,
    channel_info: list[ChannelInfo],
    *,
    first_sample: int = 0,
    start_time_utc: str = "",
    onnx: Detector | None = None,
    live: bool = False,
) -> HitStream:
    """The hit stream for ``options.detector`` on a stream of format ``fmt``.

    A rate the model cannot take by whole decimation (a WaveLine device's 2 or 10 MHz) is
    detected through an exact rational resampler (:mod:`aemon.detect.resampled_stream`).

    Args:
        options: Detector settings.
        fmt: Stream format.
        channel_info: Per-channel metadata (gain for dBAE).
        first_sample: Absolute index of the stream's first sample.
        start_time_utc: ISO 8601 time of the first sample, for event UTC stamps.
        onnx: An opened model to reuse (any backend), or None to open the model.
        live: Batch for latency (about 50 ms of signal per inference, inferred at once)
            instead of throughput (16 windows, inferred while the next batch is preprocessed).

    Raises:
        ConfigError: Unknown detector, bad thresholds, or a model that cannot take the rate.
    """
    if options.detector not in DETECTORS:
        raise ConfigError(f"detector {options.detector!r} unknown; use {', '.join(DETECTORS)}")
    if options.detector != "threshold":
        onnx = onnx or open_model(options, fmt.sample_rate_hz)
        if needs_resampling(fmt.sample_rate_hz, onnx.card.sample_rate_hz):  # e.g. 2 MHz, 10 MHz
            return resampled_hit_stream(
                make_hit_stream, options, fmt, channel_info, onnx=onnx,
                first_sample=first_sample, start_time_utc=start_time_utc, live=live,
            )  # fmt: skip
    aic_us: dict[str, float] = {}
    if options.detector == "nn":
        if options.probability is not None and not 0 < options.probability < 1:
            raise ConfigError(
                f"--probability for the nn detector is between 0 and 1, not "
                f"{options.probability:g}; use e.g. --probability 0.5"
            )
        onnx = onnx or open_model(options, fmt.sample_rate_hz)
        # The map's onset is only good to a bin (10 µs at 1.5625 MHz, 83 µs at 192 kHz): the
        # AIC picker must see a few bins of noise before it and of burst after it.
        bin_us = onnx.card.bin_samples / onnx.card.sample_rate_hz * 1e6
        aic_us = {"aic_pre_us": max(100.0, 4 * bin_us), "aic_post_us": max(50.0, 2 * bin_us)}
    builder = HitBuilder.for_stream(
        fmt,
        channel_info,
        first_sample=first_sample,
        start_time_utc=start_time_utc or None,
        **aic_us,
    )
    if options.detector == "nn":
        assert onnx is not None
        streaming = ProbabilityMapStream(
            onnx,
            fmt,
            first_sample=first_sample,
            # live: the detector's latency-bounded default; offline: bigger batches
            batch_windows=None if live else OFFLINE_BATCH_WINDOWS,
            overlap=not live,  # offline: preprocess the next batch while one is inferred
        )
        return NeuralHitStream(
            streaming,
            builder,
            threshold=options.probability,
            site_classifier=getattr(onnx, "site_classifier", None),
        )
    x_noise = options.x_noise
    if options.threshold_db is None and x_noise is None and not fmt.volts_known:
        x_noise = FLOATING_X_NOISE
        logger.warning(
            "the input has no volts scale, so %g dBAE would mean nothing: the hit threshold "
            "floats at %g × the running noise RMS (give --volts-per-count, --threshold-db DB "
            "or --x-noise K to choose)",
            DEFAULT_THRESHOLD_DBAE,
            x_noise,
        )
    threshold_db = options.threshold_db
    config = HitDetectorConfig(
        threshold_dbae=DEFAULT_THRESHOLD_DBAE if threshold_db is None else threshold_db,
        threshold_x_noise=x_noise,
    )
    hits = HitDetector.for_stream(config, fmt, channel_info)
    if options.detector == "threshold":
        return _ThresholdStream(ThresholdHitStream(hits, builder))
    onnx = onnx or open_model(options, fmt.sample_rate_hz)
    return CascadeHitStream(hits, builder, onnx, fmt, probability=options.probability)
