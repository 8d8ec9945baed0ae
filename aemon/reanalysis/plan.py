"""Plans: which chunks each recording is cut into, and where its finished chunks are kept."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

from aemon.detect.model_card import ModelCard, read_model_card
from aemon.detect.onnx_runtime import default_model_path, resolve_model
from aemon.detect.options import DetectOptions
from aemon.events.location_config import LocationConfig
from aemon.io.file_readers import open_block_reader
from aemon.reanalysis.chunks import (
    SETTLE_TIME_CONSTANTS,
    Chunk,
    ChunkGeometry,
    chunk_geometry,
    default_chunk_samples,
    plan_chunks,
)
from aemon.reanalysis.store import ChunkStore, model_key, recording_key
from aemon.reanalysis.task import ChunkJob, RawOptions

logger = logging.getLogger(__name__)


class RecordingPlan(NamedTuple):
    """One recording's chunks.

    Attributes:
        path: The recording.
        name: Output name (the recording's file name; see :func:`output_names`).
        jobs: One job per chunk, in time order.
        rate_hz: Sample rate (Hz); 0 for a tradb.
        channels: Channels (1 for a tradb).
        seconds: Duration (s per channel; 0 for a tradb, known when it is done).
        store: Where its finished chunks are kept.
        carry_state: Chunks start with the preprocessing state of a sequential pass
            (:mod:`aemon.reanalysis.state`).
        card: The model's card (None for the threshold detector).
    """

    path: Path
    name: str
    jobs: list[ChunkJob]
    rate_hz: float
    channels: int
    seconds: float
    store: ChunkStore
    carry_state: bool = False
    card: ModelCard | None = None

    def label(self, index: int) -> str:
        """``a.h5 chunk 2/5 (60.0–120.0 s)``, or the bare name for a one-chunk recording."""
        chunk = self.jobs[index].chunk
        if chunk.total == 1:
            return str(self.path)
        return f"{self.path} {chunk.label(self.jobs[index].first_sample, self.rate_hz)}"


class Setup(NamedTuple):
    """What every recording is analysed with.

    Attributes:
        options: Detector settings.
        raw: Reading options of raw and WAV/FLAC files.
        location: ``--location`` set-up, or None.
        only_inside: ``--only-located-inside``.
        chunk_s: Owned signal per chunk (s); None for the default
            (:func:`~aemon.reanalysis.chunks.default_chunk_samples`).
        settle: Warm up the detector's running averages for this many time constants
            instead of carrying the neural detector's state (faster, not exact); None:
            carry it where it can be, 12 time constants elsewhere
            (:func:`~aemon.reanalysis.chunks.chunk_geometry`).
    """

    options: DetectOptions
    raw: RawOptions
    location: LocationConfig | None
    only_inside: bool
    chunk_s: float | None
    settle: float | None


def plan_recording(path: Path, name: str, setup: Setup, out_dir: Path) -> RecordingPlan:
    """Open the recording's header, cut it into chunks and find its store.

    Raises:
        AemonError: An unreadable recording, or options that do not fit it.
    """
    options = setup.options
    if path.suffix.lower() == ".tradb":
        card, model = _model(options, None)
        key = recording_key(path, model, _options_key(setup))
        job = ChunkJob(str(path), Chunk(0, 1, 0, 0, 0, 0), 0, options, setup.raw,
                       setup.location, setup.only_inside)  # fmt: skip
        store = ChunkStore(out_dir, name, key)
        return RecordingPlan(path, name, [job], 0.0, 1, 0.0, store, False, card)
    reader = open_block_reader(path, **setup.raw._asdict())
    try:
        fmt, first, stop = reader.format, reader.first_sample, reader.stop_sample
    finally:
        reader.close()
    rate = fmt.sample_rate_hz
    card, model = _model(options, rate)
    grouping = setup.location.event_window_s + setup.location.hold_s if setup.location else 0.0
    floating = options.x_noise is not None or (options.threshold_db is None and not fmt.volts_known)
    geometry = chunk_geometry(
        options.detector, rate, card, x_noise=floating, grouping_s=grouping,
        settle=SETTLE_TIME_CONSTANTS if setup.settle is None else setup.settle,
        carry_state=setup.settle is None,
    )  # fmt: skip
    size = (
        default_chunk_samples(geometry, rate)
        if setup.chunk_s is None
        else round(setup.chunk_s * rate)
    )
    chunks = plan_chunks(first, stop, geometry, size)
    key = recording_key(path, model, _options_key(setup), geometry)
    jobs = [
        ChunkJob(str(path), c, first, options, setup.raw, setup.location, setup.only_inside)
        for c in chunks
    ]
    store = ChunkStore(out_dir, name, key)
    seconds = (stop - first) / rate
    return RecordingPlan(path, name, jobs, rate, fmt.channels, seconds, store, geometry.carry_state)


def _model(options: DetectOptions, rate_hz: float | None) -> tuple[ModelCard | None, str]:
    """The model's card and :func:`~aemon.reanalysis.store.model_key` (None and "" for the
    threshold detector)."""
    if options.detector == "threshold":
        return None, ""
    model = options.model if options.model is not None else default_model_path(rate_hz)
    card_path, onnx = resolve_model(model)
    card = read_model_card(card_path)
    return card, model_key(card.name, onnx)


def _options_key(setup: Setup) -> tuple[object, ...]:
    """What the events depend on besides the recording and the model (not threads, not
    the backend: they do not change the events)."""
    o = setup.options
    return (o.detector, o.probability, o.threshold_db, o.x_noise, setup.raw, repr(setup.location),
            setup.only_inside, setup.chunk_s, setup.settle)  # fmt: skip


def output_names(paths: list[Path]) -> list[str]:
    """Output names: each recording's file name, with as many parent directories prefixed
    (``run1_a.h5``) as it takes to tell recordings of the same name apart."""
    parts = [p.resolve().parts for p in paths]

    def name(i: int, depth: int) -> str:
        return "_".join(parts[i][-depth:])

    names = []
    for i in range(len(paths)):
        depth = 1
        while depth < len(parts[i]) and any(
            name(j, depth) == name(i, depth) for j in range(len(paths)) if j != i
        ):
            depth += 1
        names.append(name(i, depth))
    return names


__all__ = ["ChunkGeometry", "RecordingPlan", "Setup", "output_names", "plan_recording"]
