"""Detection at the model's rate on a source at another rate, by exact rational resampling.

A WaveLine device samples at 10 MHz / decimation (linWave) or 2 MHz (spotWave); the shipped
model at 1.5625 MHz. When the source rate is not a whole multiple of the model rate (which
the detector decimates by itself), :func:`resampled_hit_stream` puts a streaming
:class:`~aemon.dsp.rational_resampler.RationalResampler` (``up/down``, e.g. 25/32 or 5/32)
in front of an ordinary hit stream built for the model rate. The recording keeps the
device's own samples; only the detector sees the resampled signal. Events come back with
``sample_index`` at the source rate (the nearest source sample to the onset); their times
(s) are the same at both rates. The resampler adds at most ``half / up + 1`` source samples
of latency (6.5 µs at 2 and at 10 MHz).

Only downsampling is done: a source slower than every model cannot be helped by
interpolation, and the one-line error says which model rate it would need.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from aemon.detect.backend import Detector
from aemon.detect.probability_map import rate_mismatch_error
from aemon.dsp.rational_resampler import RationalResampler, Resampled, rational_ratio
from aemon.events.hit import Hit
from aemon.types import ChannelInfo, Gap, StreamFormat

logger = logging.getLogger(__name__)


class ResampledHitStream:
    """Source-rate blocks in, source-rate events out; detection at the model rate inside.

    Args:
        inner: The hit stream at the model rate, whose first sample is index 0.
        resampler: From the source rate to the model rate.
        first_sample: Absolute source index of the stream's first sample (model index 0).
    """

    def __init__(self, inner: Any, resampler: RationalResampler, first_sample: int) -> None:
        self.inner = inner
        self.resampler = resampler
        self.origin = int(first_sample)
        self._held: list[Hit] = []  # events of a run ended by a gap, given with the next call

    @property
    def settled_sample(self) -> int:
        """The inner stream's settled sample in source indices (rounded down), or the onset of
        an event held back, if earlier (see ``HitStream.settled_sample``)."""
        up, down = self.resampler.up, self.resampler.down
        settled = self.origin + (int(self.inner.settled_sample) * down) // up
        if self._held:
            settled = min(settled, min(e.sample_index for e in self._held))
        return settled

    def push(self, first_sample: int, block: npt.NDArray[np.generic]) -> list[Hit]:
        """Resample a raw ``(channels, n)`` block and detect; return the events that ended."""
        expected = self.origin + self.resampler.next_input
        if first_sample > expected:
            self.gap(Gap(expected, first_sample, "missing"))
        elif first_sample < expected:
            raise ValueError(
                f"block at sample {first_sample} overlaps samples already pushed "
                f"(next expected: {expected})"
            )
        return self._take(self._detect(self.resampler.push(block)))

    def gap(self, gap: Gap) -> None:
        """End the resampled run before the gap and start the next one after it."""
        stop = int(gap.stop_sample) - self.origin
        if stop <= self.resampler.next_input:
            return
        tail = self.resampler.restart(stop)
        self._held += self._detect(tail)
        model_start = tail.first + tail.samples.shape[1]
        model_stop = self.resampler.output_at_or_after(stop)
        if model_stop > model_start:
            self.inner.gap(Gap(model_start, model_stop, gap.reason, gap.detail))

    def flush(self) -> list[Hit]:
        """End of stream: the resampler's tail, then the events still open."""
        events = self._detect(self.resampler.flush())
        return self._take(events + [self._to_source(e) for e in self.inner.flush()])

    def _detect(self, out: Resampled) -> list[Hit]:
        if out.samples.shape[1] == 0:
            return []
        return [self._to_source(e) for e in self.inner.push(out.first, out.samples)]

    def _take(self, events: list[Hit]) -> list[Hit]:
        held, self._held = self._held, []
        return held + events

    def _to_source(self, event: Hit) -> Hit:
        up, down = self.resampler.up, self.resampler.down
        source = self.origin + (2 * event.sample_index * down + up) // (2 * up)
        return event._replace(sample_index=source)


def needs_resampling(source_rate_hz: float, model_rate_hz: float) -> bool:
    """True when the detector cannot take the source rate itself (not a whole multiple)."""
    from aemon.dsp.preprocess import decimation_factor

    return decimation_factor(source_rate_hz, model_rate_hz) is None


def resampled_hit_stream(
    make: Callable[..., Any],
    options: Any,
    fmt: StreamFormat,
    channel_info: list[ChannelInfo],
    *,
    onnx: Detector,
    first_sample: int = 0,
    **kwargs: Any,
) -> ResampledHitStream:
    """The hit stream ``make`` builds at the model's rate, behind a rational resampler.

    Args:
        make: :func:`aemon.detect.factory.make_hit_stream`.
        options: Detector settings.
        fmt: The source's format.
        channel_info: Per-channel metadata.
        onnx: The opened model (its card gives the rate).
        first_sample: Absolute index of the source's first sample.
        **kwargs: Passed on to ``make`` (``start_time_utc``, ``live``).

    Raises:
        ConfigError: No exact ratio with small terms, or the model rate is above the source
            rate (one line, naming the rate a model would need).
    """
    card = onnx.card
    ratio = rational_ratio(fmt.sample_rate_hz, card.sample_rate_hz)
    if ratio is None or ratio > 1:
        raise rate_mismatch_error(card, fmt.sample_rate_hz)
    inner_format = fmt._replace(sample_rate_hz=card.sample_rate_hz, dtype="float32")
    inner = make(options, inner_format, channel_info, first_sample=0, onnx=onnx, **kwargs)
    resampler = RationalResampler(ratio.numerator, ratio.denominator, fmt.channels)
    logger.info(
        "detector: %g Hz resampled by %d/%d to the model's %g Hz (latency %.1f µs)",
        fmt.sample_rate_hz,
        ratio.numerator,
        ratio.denominator,
        card.sample_rate_hz,
        resampler.latency_samples / fmt.sample_rate_hz * 1e6,
    )
    return ResampledHitStream(inner, resampler, first_sample)
