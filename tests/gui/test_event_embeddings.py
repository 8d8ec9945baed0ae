"""Latent vectors of events for "similar events" and cluster colours, without Qt: the replay
and live paths give the same vectors, neighbours share the true burst type, clusters are pure,
and cluster tables from ``aemon cluster`` are read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aemon.dsp.raw_history import RawHistory
from aemon.errors import ConfigError, FileFormatError
from aemon.gui.event_clusters import (
    ClusterJob,
    default_cluster_table,
    labels_of,
    read_cluster_labels,
    read_events_table,
)
from aemon.gui.event_embeddings import NOT_CLUSTERED, EventEmbeddings
from aemon.gui.replay_model import ReplayModel
from aemon.gui.sessions import StreamInfo
from aemon.io.event_csv import read_event_csv, write_event_csv
from aemon.similarity.cluster_output import write_cluster_csv, write_cluster_hdf5
from aemon.similarity.clustering import purity

from .test_hit_table import event

Recording = tuple[Path, Path, list[str]]


def _replay_embeddings(recording: Recording) -> tuple[EventEmbeddings, list[tuple[int, int]]]:
    path, csv_path, _ = recording
    model = ReplayModel(path, csv_path)
    keys = [(e.channel, e.sample_index) for e in model.events]
    embeddings = EventEmbeddings()
    embeddings.add_recorded(keys, model.windows)
    assert embeddings.wait(60) and embeddings.error is None
    model.close()
    return embeddings, keys


def test_replay_neighbours_share_the_true_type_and_clusters_are_pure(
    two_type_recording: Recording,
) -> None:
    types = two_type_recording[2]
    embeddings, keys = _replay_embeddings(two_type_recording)
    assert embeddings.pending == 0 and len(keys) == len(types) > 60
    same = []
    for i in range(len(keys)):
        found = embeddings.neighbours(keys, i, 20)
        assert len(found) == 20 and i not in [n.event for n in found]
        assert [n.distance for n in found] == sorted(n.distance for n in found)
        same.append(sum(types[n.event] == types[i] for n in found))
    assert np.median(same) >= 18  # the bar: >= 18 of the 20 nearest of the same type
    labels, k = embeddings.clusters(keys, 2)
    assert k == 2 and purity(labels.tolist(), types) >= 0.9
    # An event without a vector is left out of both.
    unknown = [*keys, (0, 123)]
    assert embeddings.neighbours(unknown, len(keys), 5) == []
    labels, _ = embeddings.clusters(unknown, 2)
    assert labels[-1] == NOT_CLUSTERED and (labels[:-1] >= 0).all()
    job = ClusterJob(embeddings, keys, None)  # auto k, in a worker thread
    job.thread.join(60)
    assert job.done() and job.error is None and job.k is not None and job.labels is not None
    assert len(job.labels) == len(keys)
    with pytest.raises(ConfigError, match="at least 2"):
        embeddings.clusters([(0, 1), (0, 2)], 2)


def test_live_windows_from_the_raw_history_give_the_replay_vectors(
    two_type_recording: Recording,
) -> None:
    path, csv_path, _ = two_type_recording
    replayed, keys = _replay_embeddings(two_type_recording)
    model = ReplayModel(path)
    info = StreamInfo(model.sample_rate_hz, model.info.channels, model.first_sample, [1.0])
    history = RawHistory(round(0.05 * info.sample_rate_hz))  # shorter than the recording:
    live = EventEmbeddings()  # windows must be cut while the history still holds them
    events = read_event_csv(csv_path)
    block = 20_000
    announced = waited = 0
    for first in range(model.first_sample, model.end_sample, block):
        start, data = model.read(first, block)
        history.append(start, data)
        # Events are announced as soon as their onset has streamed in; part of their window
        # is still to come.
        new = [e for e in events[announced:] if e.sample_index < history.end]
        announced += len(new)
        live.add_live([(e.channel, e.sample_index) for e in new], history, info.volts_per_count)
        # events whose window is not complete yet:
        waited += live.collect(history, info.volts_per_count)
    model.close()
    assert waited > 0
    assert live.wait(60) and live.error is None and live.pending == 0
    got = [live.latent(k) for k in keys]
    held = [i for i, v in enumerate(got) if v is not None]
    assert len(held) >= len(keys) - 1  # only a burst at the very end may miss its window
    for i in held:
        np.testing.assert_allclose(got[i], replayed.latent(keys[i]), rtol=1e-5, atol=1e-6)


def test_cluster_tables_of_aemon_cluster_are_read_back(tmp_path: Path) -> None:
    events = [
        event(0, 40)._replace(channel=0, sample_index=10),
        event(1, 50)._replace(channel=0, sample_index=20),
        event(2, 60)._replace(channel=1, sample_index=30),
    ]
    clusters = [1, 0, 1]
    write_cluster_csv(tmp_path / "rec.clusters.csv", events, clusters)
    write_cluster_hdf5(tmp_path / "other.h5", events, clusters, {"k": 2})
    expected = {(e.channel, e.sample_index): c for e, c in zip(events, clusters, strict=True)}
    assert read_cluster_labels(tmp_path / "rec.clusters.csv") == expected
    assert read_cluster_labels(tmp_path / "other.h5") == expected
    assert default_cluster_table(tmp_path / "rec.h5") == tmp_path / "rec.clusters.csv"
    assert default_cluster_table(tmp_path / "none.h5") is None
    keys = [(0, 10), (9, 9), (1, 30)]
    assert labels_of(keys, expected).tolist() == [1, NOT_CLUSTERED, 1]
    # As an events table: the events and their clusters; a plain event CSV has none.
    for table in (tmp_path / "rec.clusters.csv", tmp_path / "other.h5"):
        got, labels = read_events_table(table)
        assert [(e.channel, e.sample_index) for e in got] == list(expected)
        assert [e.amplitude_dBAE for e in got] == [e.amplitude_dBAE for e in events]
        assert labels == expected
    write_event_csv(tmp_path / "plain.csv", events)
    assert read_events_table(tmp_path / "plain.csv") == (read_event_csv(tmp_path / "plain.csv"), {})
    with pytest.raises(FileFormatError):
        read_events_table(tmp_path / "missing.csv")
    with pytest.raises(FileFormatError, match="no events table"):
        read_events_table(tmp_path / "e.h5")

    (tmp_path / "bad.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match="aemon cluster"):
        read_cluster_labels(tmp_path / "bad.csv")


def test_missing_model_turns_similarity_off(tmp_path: Path) -> None:
    embeddings = EventEmbeddings(tmp_path / "no-model")
    assert embeddings.error is not None and "no embedding model" in embeddings.error
    embeddings.add_recorded([(0, 1)], lambda pairs, n: np.zeros((len(pairs), n), np.float32))
    assert embeddings.pending == 0 and not embeddings.busy()


def test_a_read_failure_is_reported_and_a_new_event_table_starts_afresh() -> None:
    embeddings = EventEmbeddings()
    keys = [(0, i * 1000) for i in range(300)]  # more than one worker batch

    def broken(pairs: list[tuple[int, int]], length: int) -> np.ndarray:
        raise OSError("recording closed")

    embeddings.add_recorded(keys, broken)
    assert embeddings.wait(60)
    assert embeddings.error is not None and "recording closed" in embeddings.error
    assert embeddings.pending == 0 and embeddings.latent(keys[0]) is None
    embeddings.clear()  # a new session: the failure belonged to the old one
    assert embeddings.error is None
    rng = np.random.default_rng(1)

    def noise(pairs: list[tuple[int, int]], length: int) -> np.ndarray:
        return rng.normal(0.0, 1e-4, (len(pairs), length)).astype(np.float32)

    embeddings.add_recorded(keys, noise)
    embeddings.clear()  # dropped while the worker runs: nothing of it is kept
    embeddings.add_recorded(keys[:10], noise)  # picked up by the running worker or a new one
    assert embeddings.wait(60) and embeddings.error is None
    assert all(embeddings.latent(k) is not None for k in keys[:10])
    assert embeddings.vectors(keys)[1].tolist() == list(range(10))
