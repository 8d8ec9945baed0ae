"""The order of the tasks: the most work ahead first, each once the state it needs is back."""

from __future__ import annotations

import copy
import heapq
import pickle
from pathlib import Path

import numpy as np

from aemon.detect.options import DetectOptions
from aemon.dsp.sample_fifo import SampleFifo
from aemon.reanalysis.chunks import Chunk
from aemon.reanalysis.order import (
    CHUNK,
    CHUNK_AND_STATE,
    STATE,
    Schedule,
    Task,
    chunk_work,
    one_after_another,
    side_by_side,
)
from aemon.reanalysis.plan import RecordingPlan
from aemon.reanalysis.store import ChunkStore
from aemon.reanalysis.task import ChunkJob

SECOND = 1000  # samples


def plan(name: str, seconds: int, tmp_path: Path, *, carry_state: bool = True) -> RecordingPlan:
    """A recording of ``seconds`` cut into chunks of 1 s (warm-up 0.1 s, tail 0.05 s)."""
    stop = seconds * SECOND
    chunks = [
        Chunk(i, seconds, i * SECOND, (i + 1) * SECOND, max(0, i * SECOND - 100),
              min(stop, (i + 1) * SECOND + 50))
        for i in range(seconds)
    ]  # fmt: skip
    jobs = [ChunkJob(f"{name}.h5", chunk, 0, DetectOptions()) for chunk in chunks]
    store = ChunkStore(tmp_path, name, "key")
    return RecordingPlan(Path(f"{name}.h5"), name, jobs, SECOND, 2, seconds, store, carry_state)


def run(tasks: list[Task], slots: int) -> tuple[float, list[Task], dict[Task, object]]:
    """Run ``tasks`` on ``slots`` workers, each task taking its chunk's work in seconds; returns
    the time it took, the order the tasks started in and the state each started from."""
    schedule = Schedule(tasks)
    clock, started, given = 0.0, [], {}
    running: list[tuple[float, int, Task]] = []
    while True:
        while len(running) < slots and (item := schedule.take()) is not None:
            task, given[task] = item
            started.append(task)
            heapq.heappush(running, (clock + _seconds(task), len(started), task))
        if not running:
            break
        clock, _, task = heapq.heappop(running)
        schedule.done(task, f"state from {task.key}")  # type: ignore[arg-type]
    assert len(schedule) == 0 and len(started) == len(tasks)
    return clock, started, given


def _seconds(task: Task) -> float:
    return 0.3 if task.kind == STATE else 1.0


def test_chains_of_two_chunks_keep_both_workers_busy_to_the_end(tmp_path: Path) -> None:
    # the benchmark's shape: 5 recordings of 2 chunks that hand their state on, 2 workers
    plans = [plan(f"r{i}", 2, tmp_path) for i in range(5)]
    tasks = [t for r, p in enumerate(plans) for t in one_after_another(r, p)]
    took, started, given = run(tasks, slots=2)
    assert took == 5.0  # 10 chunks of 1 s on 2 workers: none idles
    # every recording's first chunk before any second chunk can hold a worker up at the end
    assert [t.chunk for t in started[:5]] == [0] * 5
    for task in tasks:  # each chunk starts from the state its predecessor handed on
        expected = None if task.chunk == 0 else f"state from {task.needs}"
        assert given[task] == expected and task.kind == CHUNK_AND_STATE


def test_the_longest_chain_starts_first(tmp_path: Path) -> None:
    plans = [plan("short0", 1, tmp_path), plan("short1", 1, tmp_path), plan("long", 4, tmp_path)]
    plans += [plan("short2", 1, tmp_path), plan("short3", 1, tmp_path)]
    tasks = [t for r, p in enumerate(plans) for t in one_after_another(r, p)]
    assert [t.level for t in one_after_another(2, plans[2])] == sorted(
        (t.level for t in one_after_another(2, plans[2])), reverse=True
    )
    took, started, _ = run(tasks, slots=2)
    assert started[0].recording == 2  # the 4-chunk chain, though submitted third
    assert took == 4.0  # the chain's length: the short ones fill the other worker


def test_a_state_chain_feeds_chunks_that_run_side_by_side(tmp_path: Path) -> None:
    p = plan("long", 6, tmp_path)
    missing = [0, 2, 3, 5]  # 1 and 4 came from the store: their states are still needed
    tasks = side_by_side(0, p, missing)
    states = [t for t in tasks if t.kind == STATE]
    chunks = {t.chunk: t for t in tasks if t.kind == CHUNK}
    assert [t.chunk for t in states] == [1, 2, 3, 4, 5] and sorted(chunks) == missing
    assert states[0].needs is None and chunks[0].needs is None
    assert all(s.needs == (STATE, 0, s.chunk - 1) for s in states[1:])
    # a state task leads to the rest of the chain: it goes before any chunk
    assert min(s.level for s in states) > max(c.level for c in chunks.values())
    took, _, given = run(tasks, slots=3)
    for i in missing[1:]:
        assert given[chunks[i]] == f"state from {(STATE, 0, i)}"
    assert given[chunks[0]] is None
    assert took < 6 * 0.3 + 1.0 + 1e-9  # the chunks run beside the chain


def test_without_a_carried_state_the_chunks_are_independent(tmp_path: Path) -> None:
    p = plan("free", 3, tmp_path, carry_state=False)
    tasks = side_by_side(0, p, [0, 1, 2])
    assert [t.kind for t in tasks] == [CHUNK] * 3 and all(t.needs is None for t in tasks)
    assert [t.level for t in tasks] == [chunk_work(p, i) for i in range(3)]
    assert chunk_work(p, 1) == (2 * SECOND + 50 - (SECOND - 100)) * 2  # run samples × channels


def test_a_failed_recording_leaves_the_others_to_run(tmp_path: Path) -> None:
    plans = [plan("a", 3, tmp_path), plan("b", 3, tmp_path)]
    schedule = Schedule([t for r, p in enumerate(plans) for t in one_after_another(r, p)])
    first = schedule.take()
    assert first is not None
    schedule.drop(first[0].recording)
    schedule.done(first[0], None)  # it finished, but its recording failed meanwhile
    rest = []
    while (item := schedule.take()) is not None:
        rest.append(item[0])
        schedule.done(item[0], None)
    assert rest and {t.recording for t in rest} == {1 - first[0].recording}
    assert len(rest) == 3


def test_a_state_travels_without_the_free_room_of_its_buffers() -> None:
    buffer = SampleFifo(4, 1 << 19)  # 8 MB of room
    rng = np.random.default_rng(1)
    buffer.append(rng.standard_normal((4, 6000)).astype(np.float32))
    buffer.drop(1000)
    block = rng.standard_normal((4, 3000)).astype(np.float32)
    for copied in (pickle.loads(pickle.dumps(buffer)), copy.deepcopy(buffer)):
        assert copied.data.nbytes == 4 * 5000 * 4
        np.testing.assert_array_equal(copied.view, buffer.view)
        copied.append(block)  # grows again as needed
        np.testing.assert_array_equal(copied.view, np.concatenate([buffer.view, block], axis=1))
