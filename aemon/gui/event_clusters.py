"""Qt-free cluster labels for the trend plots' "colour by cluster" mode.

Labels come from clustering the events seen so far in the latent space
(:meth:`aemon.gui.event_embeddings.EventEmbeddings.clusters`, in a worker thread, see
:class:`ClusterJob`) or from a clustered events table that ``aemon cluster`` wrote
(``PREFIX.csv`` or ``PREFIX.h5`` with a ``cluster`` column, :func:`read_cluster_labels`),
matched to the shown events by channel and onset sample.
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aemon.errors import FileFormatError
from aemon.events.hit import Hit
from aemon.gui.event_embeddings import NOT_CLUSTERED, EventEmbeddings, EventKey

logger = logging.getLogger(__name__)

CLUSTER_SUFFIXES = (".clusters.csv", ".clusters.h5")
"""What ``aemon cluster FILE.h5`` writes by default next to the recording (``FILE`` + these)."""


def read_cluster_labels(path: str | os.PathLike[str]) -> dict[EventKey, int]:
    """The ``cluster`` of each ``(channel, sample_index)`` in a clustered events table
    (CSV or HDF5 from ``aemon cluster``).

    Raises:
        FileFormatError: Unreadable file, or no ``channel``/``sample_index``/``cluster`` columns.
    """
    path = Path(path)
    try:
        if path.suffix.lower() in (".h5", ".hdf5"):
            import h5py

            with h5py.File(path, "r") as f:
                rows = f["events"][()]
            columns: list[tuple[Any, Any, Any]] = list(
                zip(rows["channel"], rows["sample_index"], rows["cluster"], strict=True)
            )
        else:
            with open(path, newline="", encoding="utf-8") as f:
                columns = [
                    (r["channel"], r["sample_index"], r["cluster"]) for r in csv.DictReader(f)
                ]
        return {(int(c), int(s)): int(k) for c, s, k in columns}
    except (OSError, KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise FileFormatError(
            f"{path}: not a clustered events table ({exc}); give the PREFIX.csv or PREFIX.h5 "
            "that `aemon cluster` wrote"
        ) from None


def read_events_table(
    path: str | os.PathLike[str], start_time_utc: str = ""
) -> tuple[list[Hit], dict[EventKey, int]]:
    """The events of an event CSV (``aemon detect``) or of a clustered events table (``aemon
    cluster``'s ``PREFIX.csv`` or ``PREFIX.h5``), and the cluster of each event (empty when
    the table has no ``cluster`` column).

    Raises:
        FileFormatError: Not an event CSV or clustered table.
    """
    from aemon.io.event_csv import CSV_COLUMNS, array_to_events, read_event_csv

    path = Path(path)
    if path.suffix.lower() in (".h5", ".hdf5"):
        try:
            import h5py

            with h5py.File(path, "r") as f:
                rows = f["events"][()]
        except (OSError, KeyError) as exc:
            raise FileFormatError(
                f"{path}: no events table ({exc}); give an event CSV or the PREFIX.h5 that "
                "`aemon cluster` wrote"
            ) from None
        events = array_to_events(rows, start_time_utc or None)
        if "cluster" not in (rows.dtype.names or ()):
            return events, {}
        return events, read_cluster_labels(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"cannot read event CSV {path}: {exc}") from None
    if header != [*CSV_COLUMNS, "cluster"]:
        return read_event_csv(path), {}
    with tempfile.TemporaryDirectory(prefix="aemon-events-") as tmp:  # the event CSV part
        plain = Path(tmp) / "events.csv"
        with (
            open(path, newline="", encoding="utf-8") as f,
            open(plain, "w", newline="", encoding="utf-8") as out,
        ):
            writer = csv.writer(out)
            for row in csv.reader(f):
                writer.writerow(row[:-1])
        events = read_event_csv(plain)
    return events, read_cluster_labels(path)


def default_cluster_table(recording: str | os.PathLike[str]) -> Path | None:
    """``FILE.clusters.csv`` (or ``.h5``) next to recording ``FILE.h5``, if it exists."""
    path = Path(recording)
    for suffix in CLUSTER_SUFFIXES:
        candidate = path.with_name(path.stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def labels_of(keys: Sequence[EventKey], table: dict[EventKey, int]) -> npt.NDArray[np.int64]:
    """The label of each key in ``table``, :data:`NOT_CLUSTERED` where it has none."""
    return np.array([table.get(k, NOT_CLUSTERED) for k in keys], dtype=np.int64)


class ClusterJob:
    """One clustering of the events seen so far, run in a worker thread.

    Args:
        embeddings: Where the latent vectors are cached.
        keys: The events to cluster.
        k: Number of clusters, or None to choose it by silhouette score.

    Attributes:
        labels: ``{event key: cluster}`` once done (events without a vector left out).
        k: The k used, once done.
        error: Why it failed, or None.
    """

    def __init__(self, embeddings: EventEmbeddings, keys: list[EventKey], k: int | None) -> None:
        self.keys = keys
        self.labels: dict[EventKey, int] | None = None
        self.k: int | None = None
        self.error: str | None = None
        self.thread = threading.Thread(
            target=self._run, args=(embeddings, k), name="aemon-cluster", daemon=True
        )
        self.thread.start()

    def _run(self, embeddings: EventEmbeddings, k: int | None) -> None:
        try:
            labels, self.k = embeddings.clusters(self.keys, k)
        except Exception as exc:  # shown in the window's status bar
            self.error = str(exc)
            return
        self.labels = {
            key: int(c) for key, c in zip(self.keys, labels, strict=True) if c != NOT_CLUSTERED
        }

    def done(self) -> bool:
        """True once the worker has finished."""
        return not self.thread.is_alive()
