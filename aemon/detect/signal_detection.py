"""Run the live event stream over a signal held in memory (evaluation, calibration, adapt).

Model cards, ``aemon evaluate``, ``aemon calibrate`` and ``aemon adapt`` all call
:func:`detect_signal`, which pushes the signal block by block through the same
:func:`~aemon.detect.factory.make_event_stream` stream that ``aemon monitor`` and
``aemon detect`` use, so their numbers are the numbers a user gets.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.detect.event_streams import NeuralEventStream
from aemon.detect.factory import make_event_stream
from aemon.detect.onnx_runtime import OnnxDetector
from aemon.detect.options import DetectOptions
from aemon.detect.probability_map import ProbabilityChunk
from aemon.events.event import Event
from aemon.types import ChannelInfo, Gap, StreamFormat

logger = logging.getLogger(__name__)

__all__ = ["SignalDetection", "detect_blocks", "detect_signal"]

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

    events: list[Event]
    probabilities: npt.NDArray[np.float32] | None
    bin_samples: int


def detect_signal(
    detector: OnnxDetector,
    signal: npt.ArrayLike,
    sample_rate_hz: float,
    *,
    threshold: float | None = None,
    keep_map: bool = False,
    block_samples: int = BLOCK_SAMPLES,
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
    """
    x = np.atleast_2d(np.asarray(signal, dtype=np.float32))
    fmt = StreamFormat(float(sample_rate_hz), x.shape[0], "float32", 1.0)
    channels = [ChannelInfo(name=f"ch{c}") for c in range(x.shape[0])]
    blocks = ((s, x[:, s : s + block_samples]) for s in range(0, x.shape[1], block_samples))
    return detect_blocks(
        detector, fmt, channels, blocks, threshold=threshold, keep_map=keep_map, first_sample=0
    )


def detect_blocks(
    detector: OnnxDetector,
    fmt: StreamFormat,
    channel_info: list[ChannelInfo],
    timeline: Iterable[tuple[int, npt.NDArray[np.generic]] | Gap],
    *,
    threshold: float | None = None,
    keep_map: bool = False,
    first_sample: int = 0,
) -> SignalDetection:
    """:func:`detect_signal` over ``(first_sample, block)`` items and gaps of a stream.

    The map (when kept) starts at ``first_sample`` and spans to the end of the last block.
    """
    stream = make_event_stream(
        DetectOptions(detector="nn", threshold=threshold),
        fmt,
        channel_info,
        onnx=detector,
        first_sample=first_sample,
    )
    assert isinstance(stream, NeuralEventStream)
    chunks: list[ProbabilityChunk] = []
    if keep_map:
        stream.map_listener = chunks.append
    events: list[Event] = []
    stop = first_sample
    for item in timeline:
        if isinstance(item, Gap):
            stream.gap(item)
            continue
        start, block = item
        events += stream.push(start, block)
        stop = start + block.shape[1]
    events += stream.flush()
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
