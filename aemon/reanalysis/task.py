"""One chunk of one recording through the detector: the function a Dask worker runs.

:func:`detect_chunk` opens the recording on the worker, shows the detector only the chunk's
samples with its warm-up and tail (:class:`ChunkView`), runs the same
:func:`~aemon.detect.offline.detect_reader` as ``aemon detect``, and returns the events the
chunk owns (:mod:`aemon.reanalysis.chunks`), with their times counted from the recording's
first sample exactly as a sequential pass counts them. A Vallen tradb (independent records)
is one chunk.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy.typing as npt

from aemon.detect.factory import HitStream
from aemon.detect.hit_streams import NeuralHitStream
from aemon.detect.offline import detect_reader, detect_tradb
from aemon.detect.options import DetectOptions
from aemon.dsp.preprocess import Preprocessor
from aemon.events.grouping import HitGrouper
from aemon.events.hit import Hit
from aemon.events.location_config import LocationConfig
from aemon.io.file_readers import Block, BlockReader, open_block_reader
from aemon.reanalysis.chunks import Chunk
from aemon.types import ChannelInfo, Gap, StreamFormat

logger = logging.getLogger(__name__)


class RawOptions(NamedTuple):
    """How to read a raw or WAV/FLAC file (``detect``'s ``--rate`` … ``--volts-per-count``)."""

    sample_rate_hz: float | None = None
    dtype: str | None = None
    channels: int | None = None
    volts_per_count: float | None = None


class ChunkJob(NamedTuple):
    """Everything a worker needs for one chunk (picklable; paths as the workers see them).

    Attributes:
        recording: Path of the recording (shared by the client and the workers).
        chunk: The chunk; for a tradb the whole file (``run_start`` = ``run_stop`` = 0).
        first_sample: Absolute index of the recording's first sample (``time_s`` = 0).
        options: Detector settings.
        raw: Reading options of raw and WAV/FLAC files.
        location: Group and locate the hits (``--location``); None keeps them as they are.
        only_inside: Keep only the hits of events located inside.
    """

    recording: str
    chunk: Chunk
    first_sample: int
    options: DetectOptions
    raw: RawOptions = RawOptions()
    location: LocationConfig | None = None
    only_inside: bool = False


class ChunkResult(NamedTuple):
    """What a chunk found.

    Attributes:
        events: The events it owns, in the detector's order; with grouping their
            ``event_id`` counts from 0 over the chunk's events.
        groups: Multi-channel events it owns (with grouping; hits of events that
            ``only_inside`` dropped count too), so that ids continue across chunks.
        seconds: Owned signal duration (s per channel).
        channels: Channels of the recording.
        model: Model name ("" for the threshold detector).
        provider: Device and backend of the model ("" without one).
        wall_s: Worker wall-clock time (s).
        worker: Address of the Dask worker that ran it ("" outside Dask).
    """

    events: list[Hit]
    groups: int
    seconds: float
    channels: int
    model: str
    provider: str
    wall_s: float
    worker: str = ""


class ChunkView:
    """A :class:`~aemon.io.file_readers.BlockReader` that shows ``[start, stop)`` of another.

    Its blocks are cut where a sequential pass over the recording cuts them (every
    ``block_samples`` from the recording's first sample), so the detector is pushed the
    blocks of a sequential pass and reports its events in (nearly) the same order.

    Args:
        reader: The whole recording (closed with the view).
        start: First sample shown (absolute).
        stop: One past the last sample shown.
    """

    def __init__(
        self,
        reader: BlockReader,
        start: int,
        stop: int,
        before_block: Callable[[int, npt.NDArray[Any]], None] | None = None,
    ) -> None:
        self.reader = reader
        self.before_block = before_block  # called with each block before it is handed on
        self.origin = reader.first_sample
        self.format: StreamFormat = reader.format
        self.channel_info: list[ChannelInfo] = reader.channel_info
        self.first_sample, self.stop_sample = start, stop
        self.start_time_utc = reader.start_time_utc  # of the recording's first sample

    def blocks(self, start: int, block_samples: int) -> Iterator[Block]:
        """The reader's blocks from ``start`` on, cut at :attr:`stop_sample`."""
        aligned = start - (start - self.origin) % block_samples
        for first, block in self.reader.blocks(aligned, block_samples):
            if first >= self.stop_sample:
                return
            if first < start:
                block, first = block[:, start - first :], start
            block = block[:, : self.stop_sample - first]
            if self.before_block is not None:
                self.before_block(first, block)
            yield first, block

    def gaps(self) -> list[Gap]:
        """The reader's gaps, cut to the view."""
        lo, hi = self.first_sample, self.stop_sample
        return [
            g._replace(start_sample=max(g.start_sample, lo), stop_sample=min(g.stop_sample, hi))
            for g in self.reader.gaps()
            if g.stop_sample > lo and g.start_sample < hi
        ]

    def close(self) -> None:
        """Close the recording."""
        self.reader.close()


class OwnedEvents:
    """An event sink that keeps what it gets."""

    def __init__(self) -> None:
        self.events: list[Hit] = []

    def write(self, events: Iterable[Hit]) -> int:
        """Keep ``events``."""
        batch = list(events)
        self.events += batch
        return len(batch)


def detect_chunk(job: ChunkJob, state: Preprocessor | None = None) -> ChunkResult:
    """Run the detector over one chunk; returns the events it owns.

    Args:
        job: The chunk.
        state: The neural detector's preprocessing state at ``job.chunk.run_start``
            (:func:`~aemon.reanalysis.state.preprocessor_at`); None to start afresh.

    Raises:
        AemonError: Unreadable recording, impossible options, a model that does not fit.
    """
    return _detect(job, state, None)[0]


def detect_chunk_and_state(
    job: ChunkJob, state: Preprocessor | None, next_start: int | None
) -> tuple[ChunkResult, Preprocessor | None]:
    """:func:`detect_chunk`, and the preprocessing state at ``next_start`` (the next chunk's
    run start) taken on the way, for chunks run one after the other: a copy of the state
    where the block holding ``next_start`` begins, fed the samples before it. None where
    that sample lies in a gap (the next chunk then starts afresh, with a warning)."""
    return _detect(job, state, next_start)


def _detect(
    job: ChunkJob, state: Preprocessor | None, next_start: int | None
) -> tuple[ChunkResult, Preprocessor | None]:
    started = time.perf_counter()
    options = job.options
    if options.threads is None:
        options = options._replace(threads=_threads_per_task())
    path, chunk = job.recording, job.chunk
    owned = OwnedEvents()
    grouper = HitGrouper(job.location) if job.location is not None else None
    if Path(path).suffix.lower() == ".tradb":  # records are independent: one chunk
        run = detect_tradb(path, options, [owned], grouper=grouper, only_inside=job.only_inside)
        events, groups = owned.events, len(grouper.table) if grouper else 0
        seconds = run.seconds
    else:
        reader = open_block_reader(path, **job.raw._asdict())
        rate = reader.format.sample_rate_hz
        snapshot = _Snapshot(next_start, reader.gaps())
        view = ChunkView(reader, chunk.run_start, chunk.run_stop, snapshot.before_block)
        proceed = _continue(job.first_sample, state)

        def on_stream(stream: HitStream) -> None:
            proceed(stream)
            snapshot.stream = stream

        try:
            run = detect_reader(
                view, options, [owned], grouper=grouper, only_inside=job.only_inside,
                on_stream=on_stream, time_origin=job.first_sample,
            )  # fmt: skip
        finally:
            view.close()
        events, groups = _owned(owned.events, grouper, chunk)
        seconds = (chunk.stop - chunk.start) / rate
    onnx = run.detector
    result = ChunkResult(
        events,
        groups,
        seconds,
        run.channels,
        onnx.card.name if onnx else "",
        f"{onnx.provider} ({onnx.backend})" if onnx else "",
        time.perf_counter() - started,
        _worker_address(),
    )
    if next_start is not None and snapshot.state is None:
        logger.warning("%s: no preprocessing state at sample %d (a gap); the next chunk "
                       "starts afresh", path, next_start)  # fmt: skip
    return result, None if next_start is None else snapshot.state


class _Snapshot:
    """Takes the neural stream's preprocessing state at sample ``at`` as the blocks pass."""

    def __init__(self, at: int | None, gaps: list[Gap]) -> None:
        self.at, self.gaps = at, gaps
        self.stream: HitStream | None = None
        self.state: Preprocessor | None = None

    def before_block(self, first: int, block: npt.NDArray[Any]) -> None:
        at = self.at
        if at is None or self.state is not None or not first <= at < first + block.shape[1]:
            return
        if not isinstance(self.stream, NeuralHitStream):
            return
        if any(g.start_sample < at and g.stop_sample > first for g in self.gaps):
            return  # the detector sees the gap, not the zeros stored in it
        state = copy.deepcopy(self.stream.detector.preprocessor)  # every earlier block is in
        state.process(block[:, : at - first])
        self.state = state


def _continue(first_sample: int, state: Preprocessor | None) -> Callable[[HitStream], None]:
    """Make a chunk's hit stream continue the recording's: event times counted from the
    recording's first sample (with the event builder's own formulas, so to the last bit),
    and the preprocessing ``state`` a sequential pass has at the chunk's start; the neural
    detector infers on the task's own thread."""

    def continue_recording(stream: HitStream) -> None:
        if isinstance(stream, NeuralHitStream):
            builder = stream.builder
            # one task, one core: Dask runs the chunks side by side, so the inference does not
            # also run beside the preprocessing (the map is the same either way)
            stream.detector.overlap = False
            if state is not None:  # a copy: Dask hands one object to every task on a worker
                stream.detector.continue_from(copy.deepcopy(state))
        else:  # the threshold and cascade streams build their events in their hit stream
            builder = stream.hits.builder  # type: ignore[attr-defined]
        builder.first_sample = first_sample

    return continue_recording


def _owned(events: list[Hit], grouper: HitGrouper | None, chunk: Chunk) -> tuple[list[Hit], int]:
    """The events whose onset (with grouping: whose event's first hit) lies in the chunk."""
    if grouper is None:
        return [e for e in events if chunk.start <= e.sample_index < chunk.stop], 0
    ids = [t.event_id for t in grouper.table if chunk.start <= t.sample_index < chunk.stop]
    local = {event_id: i for i, event_id in enumerate(ids)}
    kept = [e._replace(event_id=local[e.event_id]) for e in events if e.event_id in local]
    return kept, len(ids)


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):  # not on a Dask worker
        return ""


def _threads_per_task() -> int:
    """Inference threads when ``--threads`` is not given: the cores of this machine shared by
    the tasks a worker runs at once (one per worker thread)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        from distributed import get_worker

        slots = get_worker().state.nthreads
    except (ImportError, ValueError):  # not on a Dask worker
        slots = 1
    return max(1, (cores or 1) // max(1, slots))


def merge_results(results: list[ChunkResult]) -> list[Hit]:
    """The events of a recording's chunks, in time order, with ``event_id`` continued across
    chunks as one sequential pass numbers them (ids stay -1 without grouping)."""
    events: list[Hit] = []
    first_id = 0
    for result in results:
        if result.groups:
            events += [e._replace(event_id=e.event_id + first_id) for e in result.events]
        else:
            events += result.events
        first_id += result.groups
    return events
