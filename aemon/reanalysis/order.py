"""The order in which the tasks run: the longest work still ahead first.

Dask runs the ready task of highest priority first (ties in submission order). A recording
whose chunks hand their state on (:mod:`aemon.reanalysis.state`) is a chain: its second chunk
cannot start before its first is done. In submission order a worker that finishes a chunk takes
the same recording's next one, so the chains are run one at a time per worker and the last
recording's chain is left for the end, on one worker while the others idle. Measured with
5 recordings of 2 chunks on 2 workers: the 5th recording's 2 chunks ran one after the other
at the end, a fifth of the run with one of the two workers idle.

So each task's priority is its **level**: its own work plus the work of the longest path of
tasks that wait for it (highest level first, Hu's rule: the best order for chains of equal
tasks, and close to it otherwise). For chunks without a carried state it is the chunk's own
work, so the longest run first. Work is counted in samples the detector runs over, times
channels (a tradb: its bytes over 2, about its int16 samples).
"""

from __future__ import annotations

import os
from typing import NamedTuple

from aemon.reanalysis.plan import RecordingPlan

STATE_COST = 0.3
"""Work of a state task per sample, relative to a chunk's: it runs the preprocessing alone,
about a third of the detector's work with the shipped 192 kHz model (docs/reanalysis.md)."""


class Levels(NamedTuple):
    """Priorities of a recording's tasks (higher runs first).

    Attributes:
        chunks: Of each chunk task.
        states: Of the state task that computes the state at each chunk's start (0 for the
            first chunk, which has none).
    """

    chunks: list[int]
    states: list[int]


def chunk_work(plan: RecordingPlan, index: int) -> int:
    """Work of chunk ``index``: samples its detector runs over, times channels."""
    chunk = plan.jobs[index].chunk
    if chunk.run_stop <= chunk.run_start:  # a tradb: one chunk, the whole file
        return max(1, os.path.getsize(plan.path) // 2)
    return (chunk.run_stop - chunk.run_start) * plan.channels


def chain_levels(plan: RecordingPlan) -> list[int]:
    """Chunks run one after the other: each chunk's level is its work plus that of every
    later chunk."""
    levels: list[int] = []
    ahead = 0
    for index in reversed(range(len(plan.jobs))):
        ahead += chunk_work(plan, index)
        levels.append(ahead)
    return levels[::-1]


def state_chain_levels(plan: RecordingPlan) -> Levels:
    """A chain of state tasks feeds chunks that run side by side: a chunk's level is its own
    work; the state task before chunk ``i`` leads to that chunk and to the next state task."""
    jobs = plan.jobs
    chunks = [chunk_work(plan, i) for i in range(len(jobs))]
    states = [0] * len(jobs)
    after = 0  # level of the next state task
    for i in reversed(range(1, len(jobs))):
        samples = jobs[i].chunk.run_start - jobs[i - 1].chunk.run_start
        states[i] = round(STATE_COST * samples * plan.channels) + max(after, chunks[i])
        after = states[i]
    return Levels(chunks, states)
