"""Time chunks of a recording that detect, each on its own, what one sequential pass detects.

A chunk **owns** the samples ``[start, stop)``: it keeps the events whose refined onset lies
there (for grouped hits: the events whose first hit does), so every event is kept by exactly
one chunk. To find them as the sequential pass does, the chunk's detector runs over more:

* a **warm-up** before ``start``, long enough for the detector's running state to forget
  where it began (see :func:`chunk_geometry`); its events are dropped;
* a **tail** after ``stop``, long enough for an event that starts just before ``stop`` to
  end, be merged and grouped (its events are the next chunk's).

The detector's state is tied to fixed grids counted from the stream's first sample (window
tiling, noise-floor segments, pre-whitening hops, noise frames of the threshold detector). A
chunk's detector starts at ``start - warm-up``, so both are whole multiples of
:attr:`ChunkGeometry.grid` from the recording's first sample: the grids of the chunk and of
the sequential pass then coincide, and only the running averages differ, by a factor that
shrinks exponentially with the warm-up (measured in ``docs/reanalysis.md``).
"""

from __future__ import annotations

import logging
import math
from typing import NamedTuple

from aemon.detect.hit_streams import MAX_EVENT_S, NOISE_CONTEXT_S
from aemon.detect.model_card import ModelCard
from aemon.detect.threshold_hits import HitDetectorConfig
from aemon.dsp.normalization import NormalizationParams
from aemon.dsp.preprocess import card_highpass_hz, decimation_factor
from aemon.errors import ConfigError

logger = logging.getLogger(__name__)

SETTLE_TIME_CONSTANTS = 12.0
"""Time constants of each running average that the warm-up spans (after the whitener's
start-up): the difference to the sequential state shrinks by ``exp(-12)`` ≈ 6e-6."""

DEFAULT_CHUNK_S = 60.0
"""Samples a chunk owns by default (s of signal), at least :data:`MIN_CHUNK_WARMUPS`
warm-ups."""
MIN_CHUNK_WARMUPS = 4
"""A default chunk is at least this many warm-ups long (keeps the overhead below 25 %)."""


class ChunkGeometry(NamedTuple):
    """How a detector's stream can be cut (source samples).

    Attributes:
        grid: Chunk starts (and warm-up starts) are multiples of this from the first sample.
        warm_up: Samples run before a chunk's start (a multiple of ``grid``).
        tail: Samples run after a chunk's stop.
        carry_state: Each chunk's detector starts with the preprocessing state a sequential
            pass has there (:mod:`aemon.reanalysis.state`); the warm-up then only covers
            the model's window, the event context and the grouping.
    """

    grid: int
    warm_up: int
    tail: int
    carry_state: bool = False


class Chunk(NamedTuple):
    """One task: the samples a chunk owns and the samples its detector runs over.

    Attributes:
        position: 0-based position in the recording.
        total: Chunks of the recording.
        start: First owned sample (absolute index).
        stop: One past the last owned sample.
        run_start: First sample the detector sees (``start - warm-up``, not before the file).
        run_stop: One past the last sample it sees (``stop + tail``, not after the file).
    """

    position: int
    total: int
    start: int
    stop: int
    run_start: int
    run_stop: int

    def label(self, first_sample: int, rate_hz: float) -> str:
        """``chunk 3/10 (120.0–180.0 s)``: for messages."""
        lo = (self.start - first_sample) / rate_hz
        hi = (self.stop - first_sample) / rate_hz
        return f"chunk {self.position + 1}/{self.total} ({lo:.1f}–{hi:.1f} s)"


def _multiple_up(value: float, grid: int) -> int:
    return max(grid, math.ceil(value / grid) * grid)


def chunk_geometry(
    detector: str,
    rate_hz: float,
    card: ModelCard | None,
    *,
    x_noise: bool = False,
    grouping_s: float = 0.0,
    settle: float = SETTLE_TIME_CONSTANTS,
    carry_state: bool = True,
) -> ChunkGeometry:
    """The grid, warm-up and tail for a detector on a stream of ``rate_hz`` (Hz).

    What the warm-up must cover, per detector:

    * ``nn``: the high-pass (time constant ``1/(2π f_c)``), the noise-floor tracker
      (``normalization.time_constant_s``), the pre-whitener (a running mean over its first
      ``whiten_time_constant_hops`` hops, then an exponential average with that time
      constant) and the window of the model; the grid is the window hop and the whitening hop.
    * ``threshold``/``cascade``: the hit chain (HDT, HLT, longest hit) and, with
      ``x_noise``, the noise RMS average (``noise_time_constant_s``) on its frame grid; the
      cascade's windows are normalised each on their own.

    Args:
        detector: ``nn``, ``threshold`` or ``cascade``.
        rate_hz: Sample rate of the recording (Hz).
        card: The model's card (``nn`` and ``cascade``).
        x_noise: The threshold floats with the noise RMS (``--x-noise``, or no volts scale).
        grouping_s: Event window plus hold of the hit grouping (s); 0 without ``--location``.
        settle: Time constants each running average gets.
        carry_state: ``nn`` at the model's rate: carry the preprocessing state from chunk to
            chunk instead of warming it up (exact; :mod:`aemon.reanalysis.state`).

    Raises:
        ConfigError: A model that cannot take the rate.
    """
    hits = HitDetectorConfig(threshold_dbae=40.0)
    chain_s = (hits.max_duration_us + hits.hdt_us + hits.hlt_us) * 1e-6
    tail_s = MAX_EVENT_S + NOISE_CONTEXT_S + chain_s + grouping_s
    warm_s = tail_s
    grid = 1
    if detector == "threshold" or detector == "cascade":
        if x_noise:
            grid = max(16, round(hits.noise_frame_s * rate_hz))
            warm_s = max(warm_s, settle * hits.noise_time_constant_s)
        if card is not None and detector == "cascade":
            window_s = card.window / card.sample_rate_hz
            tail_s += 2 * window_s
            warm_s += 2 * window_s
    if detector == "nn":
        if card is None:
            raise ConfigError("the nn detector needs a model card to cut a recording in chunks")
        factor = decimation_factor(rate_hz, card.sample_rate_hz)
        if factor is None:
            raise ConfigError(
                f"model {card.name} expects {card.sample_rate_hz:.0f} Hz but the recording "
                f"has {rate_hz:.0f} Hz; use a model for its rate"
            )
        b = card.bin_samples
        hop = card.hop // b * b
        params = NormalizationParams.from_dict(card.normalization)
        grid = hop * factor
        window_s = card.window / card.sample_rate_hz
        # the model's window, the segmenter's run and the event's raw context
        warm_s += 2 * window_s + card.merge_gap_us * 1e-6
        tail_s += card.merge_gap_us * 1e-6 + 2 * window_s  # the end's zero-padded window
        if carry_state and factor == 1:
            return ChunkGeometry(
                grid, _multiple_up(warm_s * rate_hz, grid), math.ceil(tail_s * rate_hz), True
            )
        corner = card_highpass_hz(card.normalization)  # 0: no high-pass, nothing to settle
        warm_s = max(
            warm_s,
            settle / (2 * math.pi * corner) if corner > 0 else 0.0,
            settle * params.time_constant_s + 2 * window_s,
        )
        if params.whiten_order:
            grid = math.lcm(grid, params.whiten_hop * factor)
            hops = params.whiten_time_constant_hops * (1.0 + settle)
            warm_s = max(warm_s, hops * params.whiten_hop / card.sample_rate_hz)
    warm_up = _multiple_up(warm_s * rate_hz, grid)
    return ChunkGeometry(grid, warm_up, math.ceil(tail_s * rate_hz))


def default_chunk_samples(geometry: ChunkGeometry, rate_hz: float) -> int:
    """:data:`DEFAULT_CHUNK_S`, at least :data:`MIN_CHUNK_WARMUPS` warm-ups, on the grid."""
    samples = max(DEFAULT_CHUNK_S * rate_hz, MIN_CHUNK_WARMUPS * geometry.warm_up)
    return _multiple_up(samples, geometry.grid)


def plan_chunks(
    first_sample: int, stop_sample: int, geometry: ChunkGeometry, chunk_samples: int
) -> list[Chunk]:
    """Cut ``[first_sample, stop_sample)`` into chunks of about ``chunk_samples``.

    Chunk starts are multiples of ``geometry.grid`` from ``first_sample`` (``chunk_samples`` is
    rounded up to one); the last chunk takes the rest (a short remainder joins it).
    """
    size = _multiple_up(chunk_samples, geometry.grid)
    total = stop_sample - first_sample
    count = max(1, round(total / size)) if total > size else 1
    starts = [first_sample + i * size for i in range(count)]
    chunks = []
    for i, start in enumerate(starts):
        stop = starts[i + 1] if i + 1 < count else stop_sample
        chunks.append(
            Chunk(
                i,
                count,
                start,
                stop,
                max(first_sample, start - geometry.warm_up),
                min(stop_sample, stop + geometry.tail),
            )
        )
    return chunks
