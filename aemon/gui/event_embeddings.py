"""Qt-free latent vectors of the events the window has seen, for "similar events" and the
cluster colour mode.

Each event's waveform window (:data:`aemon.similarity.event_table.PRE_FRACTION` of it before
the onset, on the event's channel, volts) is encoded by the shipped embedding autoencoder
(:class:`aemon.similarity.embedding.EmbeddingModel`, as ``aemon similar`` and ``aemon cluster``
do) in a worker thread, and the latent vector is cached per event ``(channel, sample_index)``.
Windows come from the recording in replay (:func:`aemon.similarity.event_table.cut_windows`,
through :meth:`aemon.gui.replay_model.ReplayModel.windows`) and from the raw history live
(:class:`aemon.dsp.raw_history.RawHistory`, cut as soon as the whole window has arrived).
Neighbours and clusters then use :func:`aemon.similarity.analysis.nearest_rows` and
:func:`aemon.similarity.analysis.cluster_vectors`, the code of the two commands.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.dsp.raw_history import RawHistory
from aemon.errors import ConfigError
from aemon.similarity.embedding import CARD_NAME, DEFAULT_EMBEDDING
from aemon.similarity.event_table import PRE_FRACTION

if TYPE_CHECKING:
    from aemon.similarity.embedding import EmbeddingModel

logger = logging.getLogger(__name__)

EventKey = tuple[int, int]
"""``(channel, sample_index)``: how an event is known to the cache."""

WindowReader = Callable[[list[tuple[int, int]], int], npt.NDArray[np.float32]]
"""Reads windows ``(n, length)`` volts for ``(onset sample, channel)`` pairs (replay)."""

BATCH = 256
"""Events encoded per step of the worker (the cache grows in steps of this)."""

AUTO_K_SAMPLE = 3000
"""Most events the silhouette score of "auto" k is computed on."""

NOT_CLUSTERED = -1
"""Cluster label of an event without a latent vector or newer than the last clustering."""


class Neighbour(NamedTuple):
    """One row of the "similar events" list: ``event`` is its position in the keys given
    (the hit table's stored index), ``distance`` the L1 latent distance."""

    event: int
    distance: float


class EventEmbeddings:
    """Latent vectors of events, computed off the GUI thread and cached per event.

    Args:
        model_dir: Embedding model directory (default: the shipped spectrum autoencoder).
    """

    def __init__(self, model_dir: str | os.PathLike[str] = DEFAULT_EMBEDDING) -> None:
        self.model_dir = Path(model_dir)
        self.error: str | None = None
        """Why no vectors can be computed (model missing, read failure), or None."""
        self.window_samples = 0
        try:
            card = json.loads((self.model_dir / CARD_NAME).read_text("utf-8"))
            self.window_samples = int(card["config"]["window_samples"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.error = f"no embedding model in {self.model_dir}: {exc}"
            logger.warning("similar events off: %s", self.error)
        self._model: EmbeddingModel | None = None
        self._lock = threading.Lock()
        self._row: dict[EventKey, int] = {}  # row of each encoded event in _matrix
        self._matrix = np.zeros((0, 0), dtype=np.float64)  # latent vectors, grown by doubling
        self._onsets: list[EventKey] = []  # replay: windows still to read
        self._reader: WindowReader | None = None
        self._windows: list[tuple[EventKey, npt.NDArray[np.float32]]] = []  # live: cut
        self._awaiting: list[EventKey] = []  # live: window not complete in the history yet
        self._generation = 0
        self._thread: threading.Thread | None = None
        self._running = False
        self._model_error = self.error
        self.version = 0
        """Incremented whenever vectors are added or dropped."""

    # -- input --------------------------------------------------------------------------------

    def add_recorded(self, keys: Sequence[EventKey], reader: WindowReader) -> None:
        """Queue events of a recording; the worker reads their windows with ``reader``."""
        if self.error is not None:
            return
        with self._lock:
            self._reader = reader
            self._onsets.extend(k for k in keys if k not in self._row)
        self._start()

    def add_live(
        self, keys: Sequence[EventKey], history: RawHistory, volts_per_count: Sequence[float]
    ) -> None:
        """Queue live events; their windows are cut from ``history`` once complete (see
        :meth:`collect`)."""
        if self.error is not None:
            return
        self._awaiting.extend(keys)
        self.collect(history, volts_per_count)

    def collect(self, history: RawHistory, volts_per_count: Sequence[float]) -> int:
        """Cut the windows of awaiting live events that ``history`` now holds (GUI thread,
        every tick; microseconds); returns how many still await. Windows the history no
        longer holds (older than it, or across a gap) are given up.

        Args:
            history: The live raw samples.
            volts_per_count: Per channel, sample value → volts at the sensor (V).
        """
        if not self._awaiting:
            return 0
        length = self.window_samples
        pre = round(PRE_FRACTION * length)
        still: list[EventKey] = []
        cut: list[tuple[EventKey, npt.NDArray[np.float32]]] = []
        for channel, onset in self._awaiting:
            start = onset - pre
            volts = history.volts(start, start + length, volts_per_count)
            if volts is not None:
                cut.append(((channel, onset), np.array(volts[channel], dtype=np.float32)))
            elif start + length > history.end:
                still.append((channel, onset))
        self._awaiting = still
        if cut:
            with self._lock:
                self._windows.extend(cut)
            self._start()
        return len(still)

    def clear(self) -> None:
        """Forget every vector and every queued event (a new session or event table)."""
        with self._lock:
            self._generation += 1
            self._row.clear()
            self._onsets.clear()
            self._windows.clear()
            self._reader = None
            self.error = self._model_error  # a read failure belonged to the old events
            self.version += 1
        self._awaiting = []

    # -- state --------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Events queued but not encoded yet."""
        with self._lock:
            return len(self._onsets) + len(self._windows) + len(self._awaiting)

    def busy(self) -> bool:
        """True while the worker runs."""
        return self._running

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for the worker to finish (tests); True when nothing is queued for it."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
        with self._lock:
            return not self._running and not self._onsets and not self._windows

    def latent(self, key: EventKey) -> npt.NDArray[np.float64] | None:
        """The cached latent vector of one event, or None."""
        with self._lock:
            row = self._row.get(key)
            return None if row is None else self._matrix[row].copy()

    def vectors(
        self, keys: Sequence[EventKey]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]]:
        """Latent vectors of the ``keys`` that have one, and their positions in ``keys``
        (ascending); 100 000 keys take some 20 ms."""
        with self._lock:
            get = self._row.get
            rows = np.fromiter((get(k, -1) for k in keys), dtype=np.intp, count=len(keys))
            positions = np.flatnonzero(rows >= 0)
            return self._matrix[rows[positions]], positions

    # -- answers ------------------------------------------------------------------------------

    def neighbours(self, keys: Sequence[EventKey], index: int, count: int) -> list[Neighbour]:
        """The ``count`` events of ``keys`` nearest to ``keys[index]`` by L1 latent distance
        (:func:`aemon.similarity.analysis.nearest_rows`, as ``aemon similar``), nearest
        first; empty while the event has no vector. Events without one are left out."""
        from aemon.similarity.analysis import nearest_rows

        vectors, positions = self.vectors(keys)
        row = int(np.searchsorted(positions, index))
        if row == len(positions) or positions[row] != index:
            return []
        return [Neighbour(int(positions[j]), d) for j, d in nearest_rows(vectors, row, count)]

    def clusters(
        self, keys: Sequence[EventKey], k: int | None, method: str = "kmeans"
    ) -> tuple[npt.NDArray[np.int64], int]:
        """Cluster labels of ``keys`` in the latent space, as ``aemon cluster`` computes them
        (:func:`aemon.similarity.analysis.cluster_vectors`), and k. ``k`` None chooses k by
        silhouette score, on a random :data:`AUTO_K_SAMPLE` of the events when there are more
        (the score is quadratic in the events). Events without a vector get
        :data:`NOT_CLUSTERED`.

        Raises:
            ConfigError: Too few events with a vector for ``k``.
        """
        from aemon.similarity.analysis import cluster_vectors

        vectors, positions = self.vectors(keys)
        labels = np.full(len(keys), NOT_CLUSTERED, dtype=np.int64)
        if len(positions) < 2:
            raise ConfigError(
                f"{len(positions)} events with a waveform embedding so far; "
                "clustering needs at least 2 (wait, or open a recording with events)"
            )
        if k is None and len(vectors) > AUTO_K_SAMPLE:
            sample = np.random.default_rng(0).choice(len(vectors), AUTO_K_SAMPLE, replace=False)
            _, k, _ = cluster_vectors(vectors[np.sort(sample)], None, method=method)
        found, k, _ = cluster_vectors(vectors, k, method=method)
        labels[positions] = found
        return labels, k

    # -- the worker ---------------------------------------------------------------------------

    def _start(self) -> None:
        """Start the worker unless it runs (``_running`` is set and cleared under the lock, so
        work queued while it is about to stop is never left behind)."""
        with self._lock:
            if self._running or not (self._onsets or self._windows):
                return
            self._running = True
        self._thread = threading.Thread(target=self._work, name="aemon-embed", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                generation = self._generation
                reader = self._reader
                onsets, self._onsets = self._onsets[:BATCH], self._onsets[BATCH:]
                cut, self._windows = self._windows[:BATCH], self._windows[BATCH:]
                if not onsets and not cut:
                    self._running = False
                    return
            if reader is None:
                onsets = []
            try:
                keys = [k for k, _ in cut] + onsets
                windows = [w for _, w in cut]
                if onsets and reader is not None:
                    pairs = [(onset, channel) for channel, onset in onsets]
                    windows.extend(reader(pairs, self.window_samples))
                latent = self._encode(np.asarray(windows, dtype=np.float32))
            except Exception as exc:  # a broken model or file: stop and say why
                with self._lock:
                    if generation != self._generation:  # the session closed: go on
                        continue
                    self.error = f"embedding failed: {exc}"
                    logger.warning("similar events off: %s", self.error)
                    self._onsets.clear()
                    self._windows.clear()
                    self._running = False
                return
            with self._lock:
                if generation == self._generation:
                    self._store(keys, latent)
                    self.version += 1

    def _store(self, keys: list[EventKey], latent: npt.NDArray[np.float64]) -> None:
        """Append vectors to the matrix (lock held); a key seen again keeps its row."""
        n = len(self._row)
        if self._matrix.shape[1] != latent.shape[1] or n + len(keys) > len(self._matrix):
            grown = np.zeros((max(2 * len(self._matrix), n + len(keys), 1024), latent.shape[1]))
            if self._matrix.shape[1] == latent.shape[1]:
                grown[:n] = self._matrix[:n]
            self._matrix = grown
        for key, vector in zip(keys, latent, strict=True):
            row = self._row.setdefault(key, len(self._row))
            self._matrix[row] = vector

    def _encode(self, windows: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        if self._model is None:
            from aemon.similarity.embedding import EmbeddingModel

            self._model = EmbeddingModel(self.model_dir, threads=1)
        return np.asarray(self._model.latent(windows), dtype=np.float64)
