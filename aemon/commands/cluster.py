"""``aemon cluster``: cluster the events of a recording and map them in 2-D."""

from __future__ import annotations

import argparse
import json
import logging
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from aemon.commands._outputs import AtomicOutput, check_output
from aemon.commands.replay import add_overwrite
from aemon.errors import ConfigError

if TYPE_CHECKING:
    from aemon.similarity.event_table import EventTable

logger = logging.getLogger(__name__)

_EPILOG = """\
Writes PREFIX.csv (event CSV columns + cluster), PREFIX.h5 (/events with a cluster column;
attributes space, method, k, source) and PREFIX.png (2-D map: UMAP if umap-learn is installed,
else PCA; needs matplotlib, the train extra). PREFIX defaults to FILE.clusters. Existing outputs
are refused unless --overwrite; each is written as NAME.partial.EXT and renamed when all are done.
With simulator truth in the recording (or --truth), prints the cluster purity against the true
burst type (over events matching a true burst) and against burst vs other.
examples:
  aemon detect test.h5
  aemon cluster test.h5 --k 2
  aemon cluster test.h5 --auto --space correlation --out test.corr"""


def add_table_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by ``similar`` and ``cluster``: events source, space, window, truth."""
    from aemon.similarity.event_table import DEFAULT_WINDOW_US
    from aemon.similarity.spaces import SPACES

    p.add_argument("--events", type=Path, metavar="CSV", help="event CSV (default: see below)")
    p.add_argument(
        "--space",
        choices=SPACES,
        default="latent",
        help="default: latent (the shipped spectrum autoencoder unless --embedding)",
    )
    p.add_argument(
        "--window",
        type=float,
        default=DEFAULT_WINDOW_US,
        metavar="US",
        help=f"waveform window around each onset, µs (default {DEFAULT_WINDOW_US})",
    )
    p.add_argument(
        "--embedding",
        type=Path,
        metavar="MODEL",
        help="embedding model directory (aemon train-embedding; default: the shipped "
        "aemon-embedding-spectrum); implies --space latent",
    )
    p.add_argument(
        "--truth", type=Path, metavar="FILE", help="truth CSV or recording (default: FILE.h5)"
    )


def load_table_and_truth(args: argparse.Namespace) -> tuple[EventTable, list[str] | None]:
    """The events table of ``args.recording`` and each event's true type (None if no truth)."""
    from aemon.io.recording import RecordingReader
    from aemon.similarity.analysis import event_truth
    from aemon.similarity.event_table import load_event_table

    window_us = args.window
    if args.space == "latent" and args.embedding is None:
        from aemon.similarity.embedding import DEFAULT_EMBEDDING

        args.embedding = DEFAULT_EMBEDDING
    if args.embedding is not None:
        from aemon.similarity.embedding import EmbeddingModel

        args.space = "latent"
        samples = EmbeddingModel(args.embedding).window_samples
        with RecordingReader(args.recording) as reader:
            window_us = samples / reader.format.sample_rate_hz * 1e6
    table = load_event_table(args.recording, args.events, window_us=window_us)
    truth_path = args.truth
    if truth_path is None:
        with RecordingReader(args.recording) as reader:
            has_truth = len(reader.truth()) > 0
        truth_path = args.recording if has_truth else None
    truth = event_truth(table, truth_path) if truth_path is not None else None
    return table, truth


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon cluster``."""
    from aemon.similarity.clustering import METHODS

    p = subparsers.add_parser(
        "cluster",
        help="cluster the events of a recording (k-means/agglomerative) -> CSV, HDF5, PNG map",
        description=__doc__,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("recording", type=Path, metavar="FILE.h5", help="aemon HDF5 recording")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--k", type=int, metavar="N", help="number of clusters (default 2)")
    group.add_argument("--auto", action="store_true", help="choose k by silhouette score")
    p.add_argument("--method", choices=METHODS, default="kmeans", help="default: kmeans")
    add_table_arguments(p)
    p.add_argument("--out", type=Path, metavar="PREFIX", help="output prefix")
    add_overwrite(p)
    p.add_argument("--no-map", action="store_true", help="do not write the PNG map")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from aemon.similarity.analysis import cluster_events, truth_purity
    from aemon.similarity.cluster_output import (
        write_cluster_csv,
        write_cluster_hdf5,
        write_cluster_map,
    )

    prefix = args.out or args.recording.with_name(args.recording.stem + ".clusters")
    outputs = [prefix.with_name(prefix.name + s) for s in (".csv", ".h5", ".png")]
    if any(o.resolve() == args.recording.resolve() for o in outputs):
        raise ConfigError(f"--out {prefix} would overwrite the recording; choose another prefix")
    for path in outputs[: 2 if args.no_map else 3]:
        check_output(path, overwrite=args.overwrite)  # before the slow part
    table, truth = load_table_and_truth(args)
    k = None if args.auto else (args.k if args.k is not None else 2)
    result = cluster_events(
        table, k, space=args.space, method=args.method, embedding=args.embedding
    )
    attrs = {"space": result.space, "method": result.method, "k": result.k, "source": table.source}
    projection = None
    with ExitStack() as stack:  # all outputs renamed together once every one is written
        csv_out, h5_out = (
            stack.enter_context(AtomicOutput(o, overwrite=args.overwrite)) for o in outputs[:2]
        )
        write_cluster_csv(csv_out.partial, table.events, result.clusters.tolist())
        write_cluster_hdf5(h5_out.partial, table.events, result.clusters.tolist(), attrs)
        if not args.no_map:
            png = stack.enter_context(AtomicOutput(outputs[2], overwrite=args.overwrite))
            title = f"{args.recording.name}: {result.space}, {result.method}, k={result.k}"
            projection = write_cluster_map(
                png.partial, result.map_data, result.clusters.tolist(), title
            )
    sizes = [int((result.clusters == c).sum()) for c in range(result.k)]
    purity = truth_purity(result.clusters, truth) if truth is not None else None
    if args.json:
        out: dict[str, object] = {
            "events": len(table.events),
            "k": result.k,
            "space": result.space,
            "method": result.method,
            "sizes": sizes,
            "silhouettes": result.silhouettes,
            "outputs": [str(o) for o in outputs[: 2 if projection is None else 3]],
        }
        if purity is not None:
            out["purity"] = purity.__dict__
        print(json.dumps(out))
        return 0
    print(
        f"{len(table.events)} events -> {result.k} clusters ({result.space}, {result.method}); "
        f"sizes {sizes}"
    )
    if result.silhouettes:
        scores = ", ".join(f"k={k}: {s:.3f}" for k, s in result.silhouettes.items())
        print(f"silhouette {scores}")
    if purity is not None:
        print(purity.line())
    written = outputs[:2] + ([outputs[2]] if projection is not None else [])
    print(
        "wrote "
        + ", ".join(str(o) for o in written)
        + (f" ({projection} map)" if projection else "")
    )
    return 0
