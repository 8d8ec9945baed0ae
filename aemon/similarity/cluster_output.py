"""Write a clustered events table (HDF5 and CSV) and its 2-D map (PNG).

The HDF5 file holds one dataset ``/events``: the recording's event columns
(:data:`aemon.io.schema.EVENT_DTYPE`) plus ``cluster`` (int32), with attributes ``space``,
``method``, ``k`` and ``source`` (where the events came from). The CSV has the event CSV
columns (``docs/events.md``) plus ``cluster``. Each function writes the path it is given; the
command (``aemon cluster``) gives a ``NAME.partial.EXT`` and renames it on success
(:class:`aemon.commands._outputs.AtomicOutput`), so a failure leaves no half-written file.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aemon.events.hit import Hit

logger = logging.getLogger(__name__)


def write_cluster_csv(path: Path, events: Sequence[Hit], clusters: Sequence[int]) -> None:
    """Event CSV columns plus ``cluster``, one row per event."""
    from aemon.io.event_csv import CSV_COLUMNS, event_row

    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*CSV_COLUMNS, "cluster"])
        for event, cluster in zip(events, clusters, strict=True):
            writer.writerow([*event_row(event), str(int(cluster))])


def write_cluster_hdf5(
    path: Path, events: Sequence[Hit], clusters: Sequence[int], attrs: dict[str, Any]
) -> None:
    """``/events`` with a ``cluster`` column and ``attrs`` as dataset attributes."""
    import h5py

    from aemon.io.event_csv import events_to_array
    from aemon.io.schema import EVENT_DTYPE

    descr = [(name, EVENT_DTYPE.fields[name][0]) for name in EVENT_DTYPE.names or ()]  # type: ignore[index]
    dtype = np.dtype([*descr, ("cluster", "<i4")])
    rows = np.zeros(len(events), dtype=dtype)
    base = events_to_array(list(events))
    for name in EVENT_DTYPE.names or ():
        rows[name] = base[name]
    rows["cluster"] = np.asarray(clusters, dtype=np.int32)
    with h5py.File(path, "w") as f:
        dataset = f.create_dataset("events", data=rows)
        for key, value in attrs.items():
            dataset.attrs[key] = value


def map_coordinates(data: npt.NDArray[np.floating]) -> tuple[npt.NDArray[np.float64], str]:
    """2-D coordinates of each row: UMAP if ``umap-learn`` is installed, else PCA."""
    if data.shape[0] < 3:
        coords = np.zeros((data.shape[0], 2))
        coords[:, : min(2, data.shape[1])] = data[:, :2]
        return coords, "raw"
    try:
        import umap
    except ImportError:
        from sklearn.decomposition import PCA

        return np.asarray(PCA(n_components=2).fit_transform(data), dtype=np.float64), "PCA"
    reducer = umap.UMAP(n_components=2, random_state=0)
    return np.asarray(reducer.fit_transform(data), dtype=np.float64), "UMAP"


def write_cluster_map(
    path: Path, data: npt.NDArray[np.floating], clusters: Sequence[int], title: str
) -> str:
    """Scatter plot of the 2-D map coloured by cluster; returns the projection used.

    Needs matplotlib (the ``train`` extra).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    coords, projection = map_coordinates(data)
    labels = np.asarray(clusters)
    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    for cluster in sorted(set(labels.tolist())):
        mask = labels == cluster
        ax.scatter(coords[mask, 0], coords[mask, 1], s=12, label=f"cluster {cluster}")
    ax.set_xlabel(f"{projection} 1")
    ax.set_ylabel(f"{projection} 2")
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    try:
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return projection
