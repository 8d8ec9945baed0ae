"""Run the live hit stream over a signal held in memory (evaluation, calibration, adapt).

Model cards, ``aemon evaluate``, ``aemon calibrate`` and ``aemon adapt`` all call
:func:`detect_signal`, which pushes the signal block by block through the same
:func:`~aemon.detect.factory.make_hit_stream` stream that ``aemon monitor`` and
``aemon detect`` use, so their numbers are the numbers a user gets.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.detect.backend import Detector
from aemon.detect.factory import make_hit_stream
from aemon.detect.hit_streams import FeatureListener, NeuralHitStream
from aemon.detect.options import DetectOptions
from aemon.detect.probability_map import ProbabilityChunk
from aemon.detect.runner import DetectionRunner, HitList, Item
from aemon.detect.trigger_setting import Triggers
from aemon.errors import ConfigError
from aemon.events.hit import Hit
from aemon.io.file_readers import open_block_reader, timeline
from aemon.types import ChannelInfo, StreamFormat

logger = logging.getLogger(__name__)

__all__ = [
    "BackgroundFeatures",
    "BackgroundMap",
    "SignalDetection",
    "background_features",
    "background_map",
    "detect_blocks",
    "detect_signal",
]

BLOCK_SAMPLES = 1 << 16
"""Samples per channel pushed at a time (a DAQ frame is 32768)."""


class SignalDetection(NamedTuple):
    """What the live stream found in a signal.

    Attributes:
        events: The events, in onset order.
        probabilities: The stitched probability map, float32 ``(groups, classes, bins)``
            (``groups`` = channels for a one-channel model), bin 0 starting at sample 0;
            None unless asked for. Bins the stream never produced are 0.
        bin_samples: Source samples per map bin.
    """

    events: list[Hit]
    probabilities: npt.NDArray[np.float32] | None
    bin_samples: int


def detect_signal(
    detector: Detector,
    signal: npt.ArrayLike,
    sample_rate_hz: float,
    *,
    threshold: float | None = None,
    keep_map: bool = False,
    block_samples: int = BLOCK_SAMPLES,
    feature_listener: FeatureListener | None = None,
    triggers: Triggers | None = None,
) -> SignalDetection:
    """Detect events in a ``(channels, n)`` float signal (V) with the live neural stream.

    Args:
        detector: The model session.
        signal: Samples in volts, ``(channels, n)`` or ``(n,)``.
        sample_rate_hz: Rate of ``signal`` (Hz); the model's rate or a whole multiple of it.
        threshold: Decision threshold (probability); None for the card's (or its site
            calibration's).
        keep_map: Also return the stitched probability map.
        block_samples: Samples per channel pushed at a time.
        feature_listener: Called with every event built, its site features and the onset they
            were measured at (:data:`~aemon.detect.hit_streams.FeatureListener`), before the
            site classifier (if the model has one) decides (``aemon adapt`` learns so).
        triggers: Also propose these STA/LTA triggers where the network proposed
            nothing (:mod:`aemon.detect.trigger_candidates`); None for the classifier's own
            setting.
    """
    x = np.atleast_2d(np.asarray(signal, dtype=np.float32))
    fmt = StreamFormat(float(sample_rate_hz), x.shape[0], "float32", 1.0)
    channels = [ChannelInfo(name=f"ch{c}") for c in range(x.shape[0])]
    blocks = ((s, x[:, s : s + block_samples]) for s in range(0, x.shape[1], block_samples))
    return detect_blocks(
        detector,
        fmt,
        channels,
        blocks,
        threshold=threshold,
        keep_map=keep_map,
        first_sample=0,
        feature_listener=feature_listener,
        triggers=triggers,
    )


def detect_blocks(
    detector: Detector,
    fmt: StreamFormat,
    channel_info: list[ChannelInfo],
    timeline: Iterable[Item],
    *,
    threshold: float | None = None,
    keep_map: bool = False,
    first_sample: int = 0,
    event_snr_db: list[float] | None = None,
    feature_listener: FeatureListener | None = None,
    triggers: Triggers | None = None,
) -> SignalDetection:
    """:func:`detect_signal` over ``(first_sample, block)`` items and gaps of a stream.

    The map (when kept) starts at ``first_sample`` and spans to the end of the last block.
    With ``event_snr_db``, the SNR of every event (before the card's SNR gate) is appended
    to it.
    """
    stream = make_hit_stream(
        DetectOptions(detector="nn", probability=threshold),
        fmt,
        channel_info,
        onnx=detector,
        first_sample=first_sample,
    )
    assert isinstance(stream, NeuralHitStream)
    chunks: list[ProbabilityChunk] = []
    if keep_map:
        stream.map_listener = chunks.append
    if event_snr_db is not None:
        stream.snr_listener = event_snr_db.append
    stream.feature_listener = feature_listener
    if triggers is not None:
        stream.use_triggers(triggers)
    events = HitList()
    runner = DetectionRunner(
        stream, [events], first_sample=first_sample, sample_rate_hz=fmt.sample_rate_hz
    )
    runner.run(timeline)
    stop = runner.detected_until
    bin_samples = stream.detector.bin_samples
    probabilities = None
    if keep_map:
        probabilities = _stitch(chunks, first_sample, (stop - first_sample) // bin_samples)
    return SignalDetection(sorted(events, key=lambda e: e.sample_index), probabilities, bin_samples)


def _stitch(chunks: list[ProbabilityChunk], origin: int, bins: int) -> npt.NDArray[np.float32]:
    if not chunks:
        return np.zeros((1, 1, bins), np.float32)
    groups, classes = chunks[0].probabilities.shape[:2]
    out = np.zeros((groups, classes, bins), np.float32)
    for chunk in chunks:
        first = (chunk.first_bin_sample - origin) // chunk.bin_samples
        if first < 0:
            continue
        p = chunk.probabilities[:, :, : max(0, bins - first)]
        out[:, :, first : first + p.shape[2]] = p
    return out


class BackgroundMap(NamedTuple):
    """What :func:`background_map` measured on background files.

    Attributes:
        probabilities: Stitched maps, end to end, float32 ``(groups, classes, bins)``.
        bin_samples: Source samples per bin.
        rate_hz: Source sample rate (Hz).
        event_snr_db: SNR (dB) of every event the stream made at the card's threshold.
    """

    probabilities: npt.NDArray[np.float32]
    bin_samples: int
    rate_hz: float
    event_snr_db: list[float]


def background_map(detector: Detector, paths: Sequence[str | os.PathLike[str]]) -> BackgroundMap:
    """Stitched probability maps of background files, end to end, and the SNRs of the events
    found on them (for calibration).

    Raises:
        ConfigError: The files have different sample rates or channel counts.
    """
    maps: list[npt.NDArray[np.float32]] = []
    snr_db: list[float] = []
    first: list[StreamFormat] = []

    def same_as_first(fmt: StreamFormat, path: str | os.PathLike[str]) -> None:
        if first and (fmt.sample_rate_hz, fmt.channels) != (first[0].sample_rate_hz,
                                                            first[0].channels):  # fmt: skip
            raise ConfigError(
                f"{path} is {fmt.sample_rate_hz:g} Hz × {fmt.channels} ch, unlike the first "
                f"background file; calibrate with files of one rate and channel count"
            )
        first.append(fmt)

    bin_samples = 0
    for path in paths:
        found, _ = _detect_file(detector, path, same_as_first, keep_map=True, event_snr_db=snr_db)
        assert found.probabilities is not None
        maps.append(found.probabilities)
        bin_samples = found.bin_samples
    return BackgroundMap(np.concatenate(maps, axis=-1), bin_samples, first[0].sample_rate_hz,
                         snr_db)  # fmt: skip


class BackgroundFeatures(NamedTuple):
    """What :func:`background_features` measured on background files.

    Attributes:
        features: Site features of every candidate, ``(n, len(FEATURE_NAMES))``.
        snr_db: The live gate's SNR (dB) of each candidate, in the same order.
        seconds: Duration of the files (s).
    """

    features: npt.NDArray[np.float64]
    snr_db: npt.NDArray[np.float64]
    seconds: float


def background_features(
    detector: Detector,
    paths: Sequence[str | os.PathLike[str]],
    threshold: float,
    triggers: Triggers | None = None,
) -> BackgroundFeatures:
    """Site features and SNRs of every candidate the live stream proposes at ``threshold``
    (and, with ``triggers``, of its STA/LTA triggers) on background files, all channels
    together: what a classifier is calibrated on. ``detector`` must have no SNR gate (every
    candidate is measured, so the two lists stay in step)."""
    from aemon.detect.site_features import FEATURE_NAMES

    found: list[npt.NDArray[np.float64]] = []
    snr_db: list[float] = []
    seconds = 0.0
    for path in paths:
        seconds += _detect_file(
            detector,
            path,
            threshold=threshold,
            event_snr_db=snr_db,
            feature_listener=lambda _event, features, _onset: found.append(features),
            triggers=triggers,
        )[1]
    features = np.array(found, dtype=np.float64).reshape(len(found), len(FEATURE_NAMES))
    if len(snr_db) != len(found):
        raise RuntimeError(f"{len(snr_db)} SNRs for {len(found)} candidates")
    return BackgroundFeatures(features, np.array(snr_db, dtype=np.float64), seconds)


def _detect_file(
    detector: Detector,
    path: str | os.PathLike[str],
    check: Callable[[StreamFormat, str | os.PathLike[str]], None] | None = None,
    **options: Any,
) -> tuple[SignalDetection, float]:
    """:func:`detect_blocks` over one file (``options`` are its keywords), after ``check`` of
    its format; returns what it found and the file's duration (s)."""
    reader = open_block_reader(path)
    try:
        fmt = reader.format
        if check is not None:
            check(fmt, path)
        found = detect_blocks(
            detector,
            fmt,
            reader.channel_info,
            timeline(reader, reader.first_sample, BLOCK_SAMPLES),
            first_sample=reader.first_sample,
            **options,
        )
        return found, (reader.stop_sample - reader.first_sample) / fmt.sample_rate_hz
    finally:
        reader.close()
