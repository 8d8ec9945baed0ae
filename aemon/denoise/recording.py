"""Denoise a whole file into a new aemon recording (``aemon denoise``).

The input is anything :func:`aemon.io.file_readers.open_block_reader` opens (aemon .h5,
WAV/FLAC, raw). Each channel is denoised in blocks (:meth:`Denoiser.denoise` with the same
block and margin sizes) and written as float32 volts at the ADC (``volts_per_count`` 1, each
channel's gain kept) to a new recording with the input's time base (first sample, start time).
A simulator recording's ``/truth`` table is copied, so the denoised file can be scored.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from aemon.denoise.denoiser import BLOCK_SAMPLES, MARGIN_SAMPLES, Denoiser
from aemon.denoise.event_features import block_span_reader
from aemon.io.file_readers import file_kind, open_block_reader
from aemon.io.recording_writer import RecordingWriter
from aemon.io.schema import TRUTH_COLUMNS, decode_text
from aemon.types import StreamFormat
from aemon.utc import parse_utc

logger = logging.getLogger(__name__)


class DenoiseSummary(NamedTuple):
    """What :func:`denoise_file` wrote."""

    samples: int
    channels: int
    sample_rate_hz: float

    def line(self) -> str:
        """One summary line."""
        return (
            f"denoised {self.samples:,} samples × {self.channels} ch at {self.sample_rate_hz:g} Hz"
        )


def denoise_file(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    denoiser: Denoiser,
    **raw_options: object,
) -> DenoiseSummary:
    """Write the denoised signal of ``source`` to the new recording ``target``.

    ``target`` is written in place: the caller gives a temporary name and renames it.
    ``raw_options`` go to :func:`open_block_reader` (``sample_rate_hz``, ``dtype``, ``channels``,
    ``volts_per_count``).
    """
    reader = open_block_reader(source, **raw_options)  # type: ignore[arg-type]
    try:
        fmt = reader.format
        out_format = StreamFormat(fmt.sample_rate_hz, fmt.channels, "float32", 1.0)
        channels = [c._replace(volts_per_count=1.0) for c in reader.channel_info]
        read = block_span_reader(reader)
        first, stop = reader.first_sample, reader.stop_sample
        config = {"denoised_from": str(source), "denoiser": denoiser.card.get("name", "")}
        with RecordingWriter(
            Path(target),
            out_format,
            channels,
            start_time_utc=_start_time(reader.start_time_utc),
            first_sample=first,
            config=config,
            disk_reserve=False,
        ) as writer:
            for start in range(first, stop, BLOCK_SAMPLES):
                count = min(BLOCK_SAMPLES, stop - start)
                block = np.empty((fmt.channels, count), dtype=np.float32)
                for ch in range(fmt.channels):
                    a = max(first, start - MARGIN_SAMPLES)
                    b = min(stop, start + count + MARGIN_SAMPLES)
                    volts = read(ch, a, b - a) * fmt.volts_per_count
                    block[ch] = denoiser.denoise_block(volts)[start - a : start - a + count]
                writer.push(start, block)
            truth = _truth(source)
            if truth:
                writer.add_truth(truth)
    finally:
        reader.close()
    return DenoiseSummary(stop - first, fmt.channels, fmt.sample_rate_hz)


def _start_time(text: str) -> datetime | None:
    return parse_utc(text) if text else None


def _truth(source: str | os.PathLike[str]) -> list[dict[str, Any]] | None:
    """The ``/truth`` rows of an aemon recording as mappings (None for other files)."""
    if file_kind(str(source)) != "recording":
        return None
    from aemon.io.recording_reader import RecordingReader

    with RecordingReader(source) as reader:
        rows = reader.truth()
    return [
        {
            name: decode_text(row[name]) if name == "burst_type" else row[name].item()
            for name in TRUTH_COLUMNS
        }
        for row in rows
    ]
