"""Event similarity and clustering: which events look alike (thesis ch. 3, issue 15).

Events of a recording are compared in three spaces: the standardised AE feature vector, the
raw waveform (normalised cross-correlation around the onset) and the latent vector of an
autoencoder (``aemon train-embedding``; torch only for training): the thesis's strided 1-D
convolutional ones on the waveform, or the shipped default, a dense one on the window's
time-averaged log spectrum (``aemon/models/aemon-embedding-spectrum``).
``aemon similar`` lists the events nearest to one event; ``aemon cluster`` clusters the events
table with scikit-learn and writes the clustered table (HDF5, CSV) and a 2-D map (PNG).

Public API (imported on first use):
    Clustering: :mod:`aemon.similarity.analysis`
    AutoencoderConfig: :mod:`aemon.similarity.autoencoder`
    DEFAULT_CONFIG: :mod:`aemon.similarity.autoencoder`
    build_autoencoder: :mod:`aemon.similarity.autoencoder`
    load_autoencoder_config: :mod:`aemon.similarity.autoencoder`
    DEFAULT_EMBEDDING: :mod:`aemon.similarity.embedding`
    EmbeddingModel: :mod:`aemon.similarity.embedding`
    log_spectrum: :mod:`aemon.similarity.embedding`
    recording_windows: :mod:`aemon.similarity.embedding_training`
    train_embedding: :mod:`aemon.similarity.embedding_training`
    Purity: :mod:`aemon.similarity.analysis`
    cluster_events: :mod:`aemon.similarity.analysis`
    cluster_vectors: :mod:`aemon.similarity.analysis`
    event_truth: :mod:`aemon.similarity.analysis`
    nearest_rows: :mod:`aemon.similarity.analysis`
    similar_events: :mod:`aemon.similarity.analysis`
    truth_purity: :mod:`aemon.similarity.analysis`
    write_cluster_csv: :mod:`aemon.similarity.cluster_output`
    write_cluster_hdf5: :mod:`aemon.similarity.cluster_output`
    write_cluster_map: :mod:`aemon.similarity.cluster_output`
    choose_k: :mod:`aemon.similarity.clustering`
    cluster_labels: :mod:`aemon.similarity.clustering`
    nearest: :mod:`aemon.similarity.clustering`
    purity: :mod:`aemon.similarity.clustering`
    truth_labels: :mod:`aemon.similarity.clustering`
    EventTable: :mod:`aemon.similarity.event_table`
    cut_windows: :mod:`aemon.similarity.event_table`
    load_event_table: :mod:`aemon.similarity.event_table`
    SPACES: :mod:`aemon.similarity.spaces`
    correlation_distances: :mod:`aemon.similarity.spaces`
    feature_vectors: :mod:`aemon.similarity.spaces`
    l1_distances: :mod:`aemon.similarity.spaces`

Modules: analysis, autoencoder, cluster_output, clustering, embedding, embedding_training,
event_table, spaces.
"""

from aemon._lazy import lazy_exports

_EXPORTS = {
    "AutoencoderConfig": "autoencoder",
    "DEFAULT_CONFIG": "autoencoder",
    "DEFAULT_EMBEDDING": "embedding",
    "EmbeddingModel": "embedding",
    "log_spectrum": "embedding",
    "build_autoencoder": "autoencoder",
    "cut_windows": "event_table",
    "load_autoencoder_config": "autoencoder",
    "recording_windows": "embedding_training",
    "train_embedding": "embedding_training",
    "Clustering": "analysis",
    "EventTable": "event_table",
    "Purity": "analysis",
    "SPACES": "spaces",
    "choose_k": "clustering",
    "cluster_events": "analysis",
    "cluster_vectors": "analysis",
    "nearest_rows": "analysis",
    "cluster_labels": "clustering",
    "correlation_distances": "spaces",
    "event_truth": "analysis",
    "feature_vectors": "spaces",
    "l1_distances": "spaces",
    "load_event_table": "event_table",
    "nearest": "clustering",
    "purity": "clustering",
    "similar_events": "analysis",
    "truth_labels": "clustering",
    "truth_purity": "analysis",
    "write_cluster_csv": "cluster_output",
    "write_cluster_hdf5": "cluster_output",
    "write_cluster_map": "cluster_output",
}

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_EMBEDDING",
    "SPACES",
    "AutoencoderConfig",
    "Clustering",
    "EmbeddingModel",
    "EventTable",
    "Purity",
    "build_autoencoder",
    "choose_k",
    "cluster_events",
    "cluster_labels",
    "cluster_vectors",
    "correlation_distances",
    "cut_windows",
    "event_truth",
    "feature_vectors",
    "l1_distances",
    "load_autoencoder_config",
    "load_event_table",
    "log_spectrum",
    "nearest",
    "nearest_rows",
    "purity",
    "recording_windows",
    "similar_events",
    "train_embedding",
    "truth_labels",
    "truth_purity",
    "write_cluster_csv",
    "write_cluster_hdf5",
    "write_cluster_map",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
