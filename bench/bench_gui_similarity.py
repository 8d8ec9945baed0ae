"""Cost of the window's "similar events" and cluster colours at a long test's event count.

Measures, Qt-free and with the window's own classes (:mod:`aemon.gui.event_embeddings`,
:mod:`aemon.gui.event_clusters`, :mod:`aemon.gui.trends`): encoding N event windows with the
shipped embedding in the worker thread (windows/s; the GUI thread is not involved), one
"similar events" query among N events (GUI thread, on a click), the event keys of the hit table
(GUI thread), clustering N events with k-means (worker thread), and rebuilding the cluster
trend curves from the hit table (GUI thread, once per clustering), and how long a 25 frames/s
Qt timer on the GUI thread is held up while the worker encodes (the window's frame timer
competes with it for the GIL and the cores). Windows are Gaussian noise
(the cost does not depend on the content). Figures include CPU contention on a shared machine;
process CPU time is printed beside the wall time.

Usage::

    python bench/bench_gui_similarity.py [--events 100000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from aemon.events.hit import Hit
from aemon.gui.event_embeddings import EventEmbeddings
from aemon.gui.hit_table import HitTable
from aemon.gui.trends import TrendAccumulator
from aemon.io.event_csv import CSV_COLUMNS


def _timed(label: str, fn, repeat: int = 1):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        out = fn()
    wall = (time.perf_counter() - wall) / repeat
    cpu = (time.process_time() - cpu) / repeat
    print(f"{label:<52} {wall * 1e3:10.1f} ms wall {cpu * 1e3:10.1f} ms CPU")
    return out, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    n = args.events
    embeddings = EventEmbeddings()
    length = embeddings.window_samples
    rng = np.random.default_rng(0)
    windows = rng.normal(0.0, 1e-4, (n, length)).astype(np.float32)
    keys = [(0, i * 1000) for i in range(n)]

    def read(pairs: list[tuple[int, int]], samples: int) -> np.ndarray:
        return windows[[onset // 1000 for onset, _ in pairs]]

    def encode() -> None:
        embeddings.add_recorded(keys, read)
        embeddings.wait(None)

    _, wall = _timed(f"encode {n} windows (worker thread)", encode)
    print(f"  {n / wall:,.0f} windows/s; error: {embeddings.error}")
    _timed(f"similar events: 20 nearest among {n} (GUI)", lambda: embeddings.neighbours(
        keys, n // 2, 20), repeat=10)  # fmt: skip
    table = HitTable("2026-01-01T00:00:00Z")
    values: dict[str, object] = dict.fromkeys(CSV_COLUMNS, 1.0)
    values.update(utc="", channel=0, type="burst", detector="nn", counts=3)
    table.append([Hit(**{**values, "sample_index": i * 1000, "time_s": i * 1e-3})  # type: ignore[arg-type]
                  for i in range(n)])  # fmt: skip
    rows = table.rows
    _timed(f"hit-table event keys of {n} rows (GUI)", lambda: list(zip(
        rows["channel"].tolist(), rows["sample_index"].tolist(), strict=True)))  # fmt: skip
    (labels, _k), _ = _timed(f"k-means k=2 over {n} (worker thread)", lambda: embeddings.clusters(
        keys, 2))  # fmt: skip
    _timed(f"auto k over {n} (sampled silhouette, worker)", lambda: embeddings.clusters(
        keys, None))  # fmt: skip
    trends = TrendAccumulator()
    _timed(f"cluster trend curves from {n} rows (GUI)", lambda: (trends.clear(), trends.add_rows(
        rows, labels.tolist())))  # fmt: skip
    _timer_stalls(windows[: min(n, 20_000)])


def _timer_stalls(windows: np.ndarray) -> None:
    """Frame-timer intervals on the GUI thread while a fresh worker encodes ``windows``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    embeddings = EventEmbeddings()
    keys = [(0, i) for i in range(len(windows))]
    gaps: list[float] = []
    last = [time.perf_counter()]

    def frame() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now
        if not embeddings.busy():
            app.quit()

    timer = QtCore.QTimer()
    timer.setInterval(40)
    timer.timeout.connect(frame)
    timer.start()
    started = time.perf_counter()
    embeddings.add_recorded(keys, lambda pairs, _n: windows[[onset for onset, _ in pairs]])
    app.exec()
    took = time.perf_counter() - started
    ms = np.array(gaps[1:]) * 1e3
    print(f"frame timer (40 ms) while encoding {len(windows)} windows in {took:.1f} s: "
          f"median {np.median(ms):.0f} ms, p99 {np.percentile(ms, 99):.0f} ms, "
          f"max {ms.max():.0f} ms over {len(ms)} frames")  # fmt: skip


if __name__ == "__main__":
    main()
