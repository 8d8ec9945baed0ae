"""Qt-free replay of an HDF5 recording: play at N× real time, step, seek, re-run detection."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt

from aemon.detect.offline import detect_path
from aemon.detect.options import DetectOptions
from aemon.detect.runner import HitList
from aemon.events.hit import Hit
from aemon.gui.event_clusters import read_events_table
from aemon.io.event_csv import array_to_events
from aemon.io.recording_reader import RecordingReader
from aemon.similarity.event_table import cut_windows

logger = logging.getLogger(__name__)


class ReplayModel:
    """A recording, a play position and the events shown with it.

    Args:
        path: An aemon ``.h5`` recording.
        events_csv: Show the events of this event CSV (``aemon detect``) or clustered events
            table (``aemon cluster``'s ``PREFIX.csv`` or ``.h5``) instead of the recording's
            ``/events``.

    Attributes:
        position: Absolute sample index the display has reached.
        speed: Stream seconds per wall second (1 = real time).
        playing: True while :meth:`advance` moves the position.
        events: The recording's ``/events`` (or the last re-detection's).
        cluster_labels: ``{(channel, sample_index): cluster}`` from a clustered events table
            given as ``events_csv`` (else empty).
    """

    def __init__(
        self, path: str | os.PathLike[str], events_csv: str | os.PathLike[str] | None = None
    ) -> None:
        self.path = Path(path)
        self.reader = RecordingReader(self.path)
        self._lock = threading.Lock()  # the reader is shared with the embedding worker
        info = self.reader.info
        self.info = info
        self.sample_rate_hz = info.sample_rate_hz
        self.first_sample = info.first_sample
        self.end_sample = self.reader.sample_index(max(info.samples - 1, 0)) + 1
        self.position = self.first_sample
        self.speed = 1.0
        self.playing = False
        self.events: list[Hit] = array_to_events(self.reader.events(), info.start_time_utc)
        self.cluster_labels: dict[tuple[int, int], int] = {}
        if events_csv is not None:
            self.events, self.cluster_labels = read_events_table(events_csv, info.start_time_utc)
        self.volts_per_count = [
            c.volts_per_count / 10 ** (c.gain_db / 20) for c in self.reader.channel_info
        ]

    @property
    def time_s(self) -> float:
        """Play position (s since the recording start)."""
        return (self.position - self.first_sample) / self.sample_rate_hz

    @property
    def duration_s(self) -> float:
        """Length of the recording (s)."""
        return (self.end_sample - self.first_sample) / self.sample_rate_hz

    def seek(self, time_s: float) -> int:
        """Move to ``time_s`` (clipped to the recording); returns the new position."""
        t = min(max(time_s, 0.0), self.duration_s)
        self.position = self.first_sample + round(t * self.sample_rate_hz)
        return self.position

    def read(self, start: int, count: int) -> tuple[int, npt.NDArray[np.generic]]:
        """Up to ``count`` samples from absolute ``start`` (fewer at the end or a segment
        jump); returns ``(first_sample, block)``."""
        start = max(start, self.first_sample)
        column = self.reader.raw_index(start)
        if column is None or count <= 0:
            return start, np.zeros((self.info.channels, 0), dtype=self.info.dtype)
        return start, self.reader.read(column, count)

    def windows(self, onsets: list[tuple[int, int]], length: int) -> npt.NDArray[np.float32]:
        """Waveform windows (volts) around ``(onset sample, channel)`` pairs, as ``aemon
        similar`` cuts them (:func:`aemon.similarity.event_table.cut_windows`); thread-safe
        (the embedding worker calls it; the lock is held 32 windows at a time)."""
        parts = [np.zeros((0, length), dtype=np.float32)]
        for i in range(0, len(onsets), 32):
            with self._lock:
                parts.append(cut_windows(self.reader, onsets[i : i + 32], length))
        return np.concatenate(parts)

    def advance(
        self, wall_s: float, max_samples: int | None = None
    ) -> tuple[int, npt.NDArray[np.generic]]:
        """The block that ``wall_s`` of playing covers, and move past it."""
        if not self.playing:
            return self.position, np.zeros((self.info.channels, 0), dtype=self.info.dtype)
        count = round(wall_s * self.speed * self.sample_rate_hz)
        if max_samples is not None:
            count = min(count, max_samples)
        first, block = self.read(self.position, count)
        self.position = first + block.shape[1]
        if self.position >= self.end_sample:
            self.playing = False
        return first, block

    def step(self, seconds: float) -> tuple[int, npt.NDArray[np.generic]]:
        """Pause and move by ``seconds`` (negative: back); returns the block to show."""
        self.playing = False
        if seconds >= 0:
            first, block = self.read(self.position, round(seconds * self.sample_rate_hz))
            self.position = first + block.shape[1]
            return first, block
        self.seek(self.time_s + seconds)
        return self.position, np.zeros((self.info.channels, 0), dtype=self.info.dtype)

    def redetect(self, options: DetectOptions) -> list[Hit]:
        """Run a detector over the whole recording; the result replaces :attr:`events`."""
        found = HitList()
        detect_path(self.path, options, [found])  # the runner of aemon detect, into a list
        self.events = list(found)
        self.cluster_labels = {}  # they were of the table the events replace
        logger.info("re-detection found %d events", len(self.events))
        return self.events

    @contextmanager
    def released(self) -> Iterator[None]:
        """Close the file for the block (HDF5 allows one open mode per process; labels are
        written in append mode) and reopen it after."""
        with self._lock:
            self.reader.close()
            try:
                yield
            finally:
                self.reader = RecordingReader(self.path)

    def close(self) -> None:
        """Close the recording."""
        with self._lock:
            self.reader.close()
