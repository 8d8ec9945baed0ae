"""Which task runs next: the client hands the cluster one task per free worker thread, the
one with the most work still ahead of it.

A recording whose chunks hand their preprocessing state on (:mod:`aemon.reanalysis.state`)
is a chain: its second chunk cannot start before its first is done. Submitted all at once,
with the state passed from task to task as a Dask future, the chains ran badly: Dask gives a
task whose inputs are on a worker to that worker, and hands tasks without inputs out to the
workers as they are submitted, so the 5 chains of 2 chunks of the benchmark ended up as 6 chunks
on one worker and 4 on the other (a fifth of the run with one of the two workers idle).

So the client keeps the tasks (:class:`Schedule`) and submits a task only when a worker thread
is free; the states come back to the client and go out with the task that needs them (a few
hundred kB), so no task depends on another one's future and Dask puts each on a free worker.
The next task is the ready one of highest **level**: its own work plus the work of the
longest path of tasks that wait for it (Hu's rule: the best order for chains of equal tasks,
and close to it otherwise). For chunks without a carried state it is the chunk's own work, so
the longest first. Work is counted in samples the detector runs over, times channels (a tradb:
its bytes over 2, about its int16 samples).
"""

from __future__ import annotations

import heapq
import os
from typing import NamedTuple

from aemon.dsp.preprocess import Preprocessor
from aemon.reanalysis.plan import RecordingPlan

STATE_COST = 0.3
"""Work of a state task per sample, relative to a chunk's: it runs the preprocessing alone,
about a third of the detector's work with the shipped 192 kHz model (docs/reanalysis.md)."""

CHUNK = "chunk"
"""A chunk task (:func:`~aemon.reanalysis.task.detect_chunk`)."""
CHUNK_AND_STATE = "chunk+state"
"""A chunk task that also returns the state at the next chunk's start
(:func:`~aemon.reanalysis.task.detect_chunk_and_state`)."""
STATE = "state"
"""A state task (:func:`~aemon.reanalysis.state.preprocessor_at`): the state at the chunk's
start, from the previous chunk's start on."""


class Task(NamedTuple):
    """One task of the schedule.

    Attributes:
        kind: :data:`CHUNK`, :data:`CHUNK_AND_STATE` or :data:`STATE`.
        recording: Index of the recording's plan.
        chunk: Index of the chunk (for a state task: the chunk whose start state it computes).
        level: Its work plus the longest work that waits for it.
        needs: The task whose state it starts from (None: it starts afresh).
    """

    kind: str
    recording: int
    chunk: int
    level: int
    needs: tuple[str, int, int] | None = None

    @property
    def key(self) -> tuple[str, int, int]:
        """What the tasks that need this one's state name it by."""
        return self.kind, self.recording, self.chunk


def chunk_work(plan: RecordingPlan, index: int) -> int:
    """Work of chunk ``index``: samples its detector runs over, times channels."""
    chunk = plan.jobs[index].chunk
    if chunk.run_stop <= chunk.run_start:  # a tradb: one chunk, the whole file
        return max(1, os.path.getsize(plan.path) // 2)
    return (chunk.run_stop - chunk.run_start) * plan.channels


def one_after_another(recording: int, plan: RecordingPlan) -> list[Task]:
    """Tasks of a recording whose chunks run one after the other, each handing the state on:
    a chunk's level is its work plus that of every later chunk."""
    tasks: list[Task] = []
    ahead = sum(chunk_work(plan, i) for i in range(len(plan.jobs)))
    for i in range(len(plan.jobs)):
        needs = (CHUNK_AND_STATE, recording, i - 1) if i else None
        tasks.append(Task(CHUNK_AND_STATE, recording, i, ahead, needs))
        ahead -= chunk_work(plan, i)
    return tasks


def side_by_side(recording: int, plan: RecordingPlan, missing: list[int]) -> list[Task]:
    """Tasks of a recording whose ``missing`` chunks run side by side: with a carried state,
    a chain of state tasks up to the last of them (the state task before chunk ``i`` leads to
    that chunk and to the next state task); a chunk's level is its own work."""
    jobs = plan.jobs
    chunks = {i: Task(CHUNK, recording, i, chunk_work(plan, i)) for i in missing}
    states: list[Task] = []
    if plan.carry_state and missing:
        first = jobs[0].first_sample
        after = 0  # level of the next state task
        for i in reversed(range(1, max(missing) + 1)):
            if jobs[i].chunk.run_start <= first:  # starts at the first sample: afresh
                continue
            samples = jobs[i].chunk.run_start - jobs[i - 1].chunk.run_start
            level = round(STATE_COST * samples * plan.channels)
            level += max(after, chunks[i].level if i in chunks else 0)
            states.append(Task(STATE, recording, i, level))
            after = level
        states.reverse()
        for k, state in enumerate(states):
            if k:
                states[k] = state._replace(needs=states[k - 1].key)
            if state.chunk in chunks:
                chunks[state.chunk] = chunks[state.chunk]._replace(needs=state.key)
    return states + list(chunks.values())


class Schedule:
    """The tasks to run, in order of level, each once the state it needs is there.

    Args:
        tasks: Every task (:func:`one_after_another`, :func:`side_by_side`).
    """

    def __init__(self, tasks: list[Task]) -> None:
        self._ready: list[tuple[int, int, Task]] = []  # (-level, submission order, task)
        self._waiting: dict[tuple[str, int, int], list[Task]] = {}
        self._states: dict[tuple[str, int, int], Preprocessor | None] = {}
        self._users: dict[tuple[str, int, int], int] = {}
        self._count = 0
        for task in tasks:
            if task.needs is None:
                self._push(task)
            else:
                self._waiting.setdefault(task.needs, []).append(task)
                self._users[task.needs] = self._users.get(task.needs, 0) + 1

    def _push(self, task: Task) -> None:
        heapq.heappush(self._ready, (-task.level, self._count, task))
        self._count += 1

    def take(self) -> tuple[Task, Preprocessor | None] | None:
        """The ready task of highest level and the state it starts from; None if no task is
        ready."""
        if not self._ready:
            return None
        task = heapq.heappop(self._ready)[2]
        if task.needs is None:
            return task, None
        state = self._states[task.needs]
        self._users[task.needs] -= 1
        if not self._users[task.needs]:  # its last user: the client may drop it
            del self._states[task.needs], self._users[task.needs]
        return task, state

    def done(self, task: Task, state: Preprocessor | None) -> None:
        """``task`` finished with ``state`` (None: the next task starts afresh); the tasks
        that need it are ready now."""
        waiting = self._waiting.pop(task.key, [])
        if waiting:
            self._states[task.key] = state
        for user in waiting:
            self._push(user)

    def drop(self, recording: int) -> None:
        """Forget a recording's tasks that have not run (it failed)."""
        self._ready = [item for item in self._ready if item[2].recording != recording]
        heapq.heapify(self._ready)
        for key in [k for k in self._waiting if k[1] == recording]:
            del self._waiting[key]
        for key in [k for k in self._states if k[1] == recording]:
            del self._states[key], self._users[key]

    def __len__(self) -> int:
        """Tasks ready to run."""
        return len(self._ready)
