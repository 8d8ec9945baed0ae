"""Chunk plans, the carried preprocessing state, and the store of finished chunks."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from aemon.detect.model_card import read_model_card
from aemon.detect.onnx_runtime import models_dir
from aemon.detect.options import DetectOptions
from aemon.detect.probability_map import ProbabilityMapStream
from aemon.io.file_readers import open_block_reader, timeline
from aemon.reanalysis.chunks import ChunkGeometry, chunk_geometry, plan_chunks
from aemon.reanalysis.plan import output_names
from aemon.reanalysis.state import NoInference, preprocessor_at
from aemon.reanalysis.store import ChunkStore
from aemon.reanalysis.task import ChunkJob, ChunkResult, ChunkView, merge_results
from tests.reanalysis.archive import signal, whitening_model, write_recording


def test_chunks_own_every_sample_once_and_start_on_the_grid() -> None:
    geometry = ChunkGeometry(grid=100, warm_up=300, tail=250)
    chunks = plan_chunks(1000, 1000 + 10_050, geometry, 2_020)
    assert [c.position for c in chunks] == list(range(len(chunks))) and chunks[0].total == 5
    assert chunks[0].start == 1000 and chunks[-1].stop == 11_050
    for a, b in itertools.pairwise(chunks):
        assert a.stop == b.start and (b.start - 1000) % 100 == 0
        assert b.run_start == b.start - 300 and a.run_stop == a.stop + 250
    assert chunks[0].run_start == 1000 and chunks[-1].run_stop == 11_050  # not past the file


def test_geometry_carries_the_state_at_the_model_rate_and_warms_up_otherwise() -> None:
    card = read_model_card(models_dir() / "aemon-rt-192k")
    native = chunk_geometry("nn", 192_000.0, card)
    assert native.carry_state and native.grid == card.hop // 16 * 16
    assert native.warm_up < 0.5 * 192_000  # the window and an event's context, no settling
    decimated = chunk_geometry("nn", 384_000.0, card)  # the state cannot carry over
    assert not decimated.carry_state and decimated.warm_up > 10 * 384_000
    assert decimated.grid % (2 * 4096) == 0  # on the pre-whitener's hops too
    thr = chunk_geometry("threshold", 1e6, None, x_noise=True)
    assert thr.grid == 40_000 and thr.warm_up >= 12e6  # 12 noise time constants


def test_a_stream_continued_from_the_carried_state_sees_what_the_sequential_stream_sees(
    tmp_path: Path,
) -> None:
    model = whitening_model(tmp_path / "m")
    path = write_recording(tmp_path / "r.h5", signal(3, seed=5))
    card = read_model_card(model)
    fmt = open_block_reader(path).format
    hop = card.hop // card.bin_samples * card.bin_samples

    def windows(lo: int, hi: int, state: object = None) -> np.ndarray:
        got: list[np.ndarray] = []

        class Capture(NoInference):
            def infer(self, w: np.ndarray) -> np.ndarray:
                got.append(np.array(w))
                return super().infer(w)

        stream = ProbabilityMapStream(Capture(card), fmt, first_sample=lo, batch_windows=4)
        if state is not None:
            stream.continue_from(state)  # type: ignore[arg-type]
        view = ChunkView(open_block_reader(path), lo, hi)
        for item in timeline(view, lo, 10_000):
            stream.push(*item)  # type: ignore[misc]
        stream.flush()
        view.close()
        return np.concatenate(got).reshape(-1, 2, card.window)

    start = 37 * hop
    job = ChunkJob(str(path), plan_chunks(0, start, ChunkGeometry(hop, 0, 0), start)[0], 0,
                   DetectOptions(model=model))  # fmt: skip
    state = preprocessor_at(job, start, None)
    sequential = windows(0, start + 20 * hop)[37:]
    continued = windows(start, start + 20 * hop, state)
    fresh = windows(start, start + 20 * hop)
    # the first window lacks the samples before the start (zeros); from the next one on,
    # every model input is bit-identical, which a fresh start is not
    assert np.array_equal(sequential[1:16], continued[1:16])
    assert not np.array_equal(sequential[1:16], fresh[1:16])


def test_event_ids_continue_across_chunks() -> None:
    from aemon.events.hit import Hit

    def result(ids: list[int], groups: int) -> ChunkResult:
        events = [Hit._make([0.0] * len(Hit._fields))._replace(event_id=i) for i in ids]
        return ChunkResult(events, groups, 1.0, 2, "m", "cpu", 0.1)

    merged = merge_results([result([0, 0, 1], 2), result([], 1), result([0, 1, 1], 3)])
    assert [e.event_id for e in merged] == [0, 0, 1, 3, 4, 4]
    ungrouped = merge_results([result([-1], 0), result([-1, -1], 0)])
    assert [e.event_id for e in ungrouped] == [-1, -1, -1]


def test_store_keeps_finished_chunks_until_removed(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path, "a.h5", "k1")
    assert store.load(0) is None
    empty = ChunkResult([], 0, 5.0, 2, "m", "cpu (onnxruntime)", 1.5, "tcp://w")
    store.save(0, empty)
    assert store.load(0) == empty and store.load(1) is None
    (store.directory / "chunk-00000.json").write_text("{broken")
    assert store.load(0) is None  # damaged: run again
    store.remove()
    assert not store.root.exists()


def test_output_names_tell_recordings_of_the_same_name_apart(tmp_path: Path) -> None:
    paths = [tmp_path / "run1" / "a.h5", tmp_path / "run2" / "a.h5", tmp_path / "b.wav"]
    assert output_names(paths) == ["run1_a.h5", "run2_a.h5", "b.wav"]
