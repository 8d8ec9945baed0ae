"""Event similarity and clustering: which events look alike (thesis ch. 3, issue 15).

Events of a recording are compared in two spaces: the standardised AE feature vector and the
raw waveform (normalised cross-correlation around the onset). ``aemon similar`` lists the
events nearest to one event; ``aemon cluster`` clusters the events table with scikit-learn and
writes the clustered table (HDF5, CSV) and a 2-D map (PNG).

Public API (imported on first use):
    Clustering: :mod:`aemon.similarity.analysis`
    Purity: :mod:`aemon.similarity.analysis`
    cluster_events: :mod:`aemon.similarity.analysis`
    event_truth: :mod:`aemon.similarity.analysis`
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
    load_event_table: :mod:`aemon.similarity.event_table`
    SPACES: :mod:`aemon.similarity.spaces`
    correlation_distances: :mod:`aemon.similarity.spaces`
    feature_vectors: :mod:`aemon.similarity.spaces`
    l1_distances: :mod:`aemon.similarity.spaces`

Modules: analysis, cluster_output, clustering, event_table, spaces.
"""

from aemon._lazy import lazy_exports

_EXPORTS = {
    "Clustering": "analysis",
    "EventTable": "event_table",
    "Purity": "analysis",
    "SPACES": "spaces",
    "choose_k": "clustering",
    "cluster_events": "analysis",
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
    "SPACES",
    "Clustering",
    "EventTable",
    "Purity",
    "choose_k",
    "cluster_events",
    "cluster_labels",
    "correlation_distances",
    "event_truth",
    "feature_vectors",
    "l1_distances",
    "load_event_table",
    "nearest",
    "purity",
    "similar_events",
    "truth_labels",
    "truth_purity",
    "write_cluster_csv",
    "write_cluster_hdf5",
    "write_cluster_map",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
