"""AE features of events measured on the denoised waveform (``--features-from denoised``).

For each event a context of the raw channel around it is read (:data:`PRE_SAMPLES` before its
span, :data:`POST_SAMPLES` after; together at least the denoiser's training window), denoised
in one network call, and measured by :meth:`aemon.events.hit.HitBuilder.build` as a neural
detection over the same span the raw features were measured over (:func:`event_span`: the
event's onset to its end). The onset is not refined again on the denoised waveform: STFT
masking spreads a burst's start over up to a frame (64 samples), so an AIC pick there lands
~20 µs early. The event keeps its time, onset and score; its feature columns
(:data:`FEATURE_FIELDS`) are the denoised ones, and the raw-waveform features go beside them as
``raw_``-prefixed columns (:func:`write_denoised_csv`). ``bench/bench_denoise.py`` measures
its errors through :func:`denoised_event` too.
"""

from __future__ import annotations

import copy
import csv
import logging
import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aemon.denoise.denoiser import Denoiser
from aemon.events.hit import Detection, Hit, HitBuilder
from aemon.io.event_csv import CSV_COLUMNS, event_row
from aemon.io.file_readers import BlockReader

logger = logging.getLogger(__name__)

FEATURE_FIELDS = (
    "duration_us",
    "amplitude_V",
    "amplitude_dBAE",
    "rise_time_us",
    "counts",
    "energy_eu",
    "rms_V",
    "signal_strength_nVs",
    "peak_freq_kHz",
    "centroid_kHz",
    "pp1_pct",
    "pp2_pct",
    "pp3_pct",
    "pp4_pct",
)
"""Event fields measured on the waveform: replaced by the denoised ones."""
RAW_PREFIX = "raw_"
"""Prefix of the raw-waveform feature columns."""
DENOISED_COLUMNS = [*CSV_COLUMNS, *(RAW_PREFIX + f for f in FEATURE_FIELDS)]
"""Header of an event CSV with ``--features-from denoised``."""
PRE_SAMPLES = 512
"""Raw samples read before the detector's onset."""
POST_SAMPLES = 512
"""Raw samples read after the event's end."""
MIN_CONTEXT_SAMPLES = 2048
"""Shortest context denoised (the denoiser's training window)."""

SpanReader = Callable[[int, int, int], npt.NDArray[np.float64]]
"""``(channel, start, count) -> samples`` of one channel (stream units, zeros where none)."""


def event_span(event: Hit, builder: HitBuilder) -> Detection:
    """The span the event's features were measured over, as a detection: from the earlier of
    its refined and its detector onset, for ``duration_us``."""
    rate = builder.sample_rate_hz
    onset = builder.first_sample + round(event.onset_s * rate)
    start = min(onset, int(event.sample_index))
    stop = start + max(1, round(event.duration_us * 1e-6 * rate))
    return Detection(int(event.channel), event.type, start, stop, event.score)


def denoised_event(
    denoiser: Denoiser,
    builder: HitBuilder,
    event: Hit,
    context: npt.NDArray[np.floating],
    context_first_sample: int,
) -> Hit:
    """``event`` with its :data:`FEATURE_FIELDS` measured on the denoised 1-D ``context``
    (stream units) over the same span (:func:`event_span`, no new onset refinement)."""
    clean = denoiser.denoise_block(np.asarray(context, dtype=np.float64))
    return event_on_waveform(builder, event, clean, context_first_sample)


def event_on_waveform(
    builder: HitBuilder,
    event: Hit,
    waveform: npt.NDArray[np.floating],
    first_sample: int,
) -> Hit:
    """``event`` with its :data:`FEATURE_FIELDS` measured on another 1-D ``waveform`` of its
    channel (e.g. a denoised or band-passed one, stream units, starting at absolute sample
    ``first_sample``) over the event's own span (:func:`event_span`; no new onset)."""
    span = event_span(event, builder)
    signal = np.asarray(waveform, dtype=np.float64).reshape(-1)
    block = np.zeros((span.channel + 1, signal.size))
    block[span.channel] = signal
    fixed = copy.copy(builder)
    fixed.aic_pre = fixed.aic_post = 0  # the span is the raw event's: no new onset
    built = fixed.build(span, block, first_sample, detector=event.detector)
    return event._replace(**{f: getattr(built, f) for f in FEATURE_FIELDS})


def with_denoised_features(
    events: Iterable[Hit],
    read_span: SpanReader,
    builder: HitBuilder,
    denoiser: Denoiser,
) -> list[tuple[Hit, Hit]]:
    """``(denoised, raw)`` pairs: each event with its features from the denoised waveform."""
    out = []
    for raw in events:
        span = event_span(raw, builder)
        start = span.start_sample - PRE_SAMPLES
        count = max(span.stop_sample + POST_SAMPLES - start, MIN_CONTEXT_SAMPLES)
        context = read_span(span.channel, start, count)
        out.append((denoised_event(denoiser, builder, raw, context, start), raw))
    return out


def block_span_reader(reader: BlockReader) -> SpanReader:
    """A :data:`SpanReader` over a file's blocks (zeros outside the file and in gaps)."""

    def read(channel: int, start: int, count: int) -> npt.NDArray[np.float64]:
        out = np.zeros(count)
        stop = start + count
        for first, block in reader.blocks(max(start, reader.first_sample), count):
            if first >= stop:
                break
            lo, hi = max(first, start), min(first + block.shape[1], stop)
            if hi > lo:
                out[lo - start : hi - start] = block[channel, lo - first : hi - first]
            if first + block.shape[1] >= stop:
                break
        return out

    return read


def write_denoised_csv(path: str | os.PathLike[str], pairs: Sequence[tuple[Hit, Hit]]) -> int:
    """Write :data:`DENOISED_COLUMNS` rows (denoised event, then raw features); returns rows."""
    index = [CSV_COLUMNS.index(f) for f in FEATURE_FIELDS]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(DENOISED_COLUMNS)
        for denoised, raw in pairs:
            cells = event_row(raw)
            writer.writerow([*event_row(denoised), *(cells[i] for i in index)])
    return len(pairs)


def read_denoised_csv(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows of a :func:`write_denoised_csv` file as dicts (numbers as float, NaN for empty)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    text = {"utc", "type", "detector", "location_status"}
    return [
        {k: v if k in text else (math.nan if v == "" else float(v)) for k, v in row.items()}
        for row in rows
    ]


def denoise_event_csv(
    csv_path: str | os.PathLike[str],
    signal_path: str | os.PathLike[str],
    denoiser: Denoiser,
    **raw_options: object,
) -> int:
    """Rewrite an event CSV with features from the denoised waveform of ``signal_path``.

    ``csv_path`` (an event CSV, e.g. ``aemon detect``'s partial output) is replaced by a
    :data:`DENOISED_COLUMNS` CSV; ``raw_options`` go to
    :func:`aemon.io.file_readers.open_block_reader`. Returns the number of rows.
    """
    from aemon.io.event_csv import read_event_csv
    from aemon.io.file_readers import open_block_reader

    events = read_event_csv(csv_path)
    reader = open_block_reader(signal_path, **raw_options)  # type: ignore[arg-type]
    try:
        builder = HitBuilder.for_stream(
            reader.format, reader.channel_info, first_sample=reader.first_sample
        )
        pairs = with_denoised_features(events, block_span_reader(reader), builder, denoiser)
    finally:
        reader.close()
    # Written beside it and renamed: an interruption leaves the raw-feature CSV intact.
    tmp = Path(csv_path).with_name(Path(csv_path).name + ".denoised.tmp")
    try:
        rows = write_denoised_csv(tmp, pairs)
        os.replace(tmp, csv_path)
    finally:
        tmp.unlink(missing_ok=True)
    return rows
