"""The Dask distributed engine: chunks as tasks, results as they finish, resumable.

:func:`open_client` connects to an existing cluster (``dask scheduler`` and ``dask worker``
processes) or starts an embedded :class:`distributed.LocalCluster` of worker processes.
:func:`run_plans` runs a task for every chunk that is not already in its recording's store
(:mod:`aemon.reanalysis.store`), one per free worker thread in the order of
:mod:`aemon.reanalysis.order`, stores each result as it arrives, and hands every recording
whose chunks are all done to a callback that writes its outputs. A failed task prints one
line naming the recording and the chunk; that recording's other tasks are cancelled and the
other recordings go on. Ctrl-C cancels every task still queued or running on the cluster.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

from tqdm import tqdm

from aemon.detect.offline import _bar_options
from aemon.errors import AemonError, ConfigError
from aemon.reanalysis.order import (
    CHUNK_AND_STATE,
    STATE,
    Schedule,
    Task,
    one_after_another,
    side_by_side,
)
from aemon.reanalysis.plan import RecordingPlan
from aemon.reanalysis.state import preprocessor_at
from aemon.reanalysis.task import ChunkResult, detect_chunk, detect_chunk_and_state

if TYPE_CHECKING:
    from distributed import Client, Future

    from aemon.dsp.preprocess import Preprocessor

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 30.0
"""How long to wait for an existing scheduler (s)."""

LOCAL_CLUSTER_CONFIG: dict[str, object] = {
    # Dask sets MALLOC_TRIM_THRESHOLD_ in its workers, which turns off glibc's adaptive mmap
    # threshold: every numpy array over 128 KiB is then mapped afresh and faulted in page by
    # page, 10 % more CPU per chunk (1.3 s of system time against 0.3 s in a 10 s chunk)
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    # monitoring for dashboards, not needed by a batch job: the statistical profiler (every
    # 10 ms in each worker), the system monitor, the event-loop health check and the nanny's
    # memory poll took 87 ms of CPU per second on an idle 2-worker cluster, 19 ms without
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "200ms",
    "distributed.worker.memory.monitor-interval": "1s",
}
"""Dask settings of the embedded local cluster: a worker is one core that runs chunks."""

RecordingDone = Callable[[RecordingPlan, list[ChunkResult]], bool]
"""Called with a recording and the results of all its chunks, in time order; returns whether
its outputs were written (False: it printed why not)."""


class RunSummary(NamedTuple):
    """What :func:`run_plans` did.

    Attributes:
        written: Recordings whose outputs were written.
        failed: Recordings that failed (their error line was printed).
        chunks_run: Chunks run now (the others came from the stores).
        chunks_stored: Chunks found done in the stores.
        seconds: Signal analysed now (s per channel, summed over recordings).
        task_s: Wall time the chunk tasks took on their workers, summed (s).
        workers: Workers of the cluster.
        wall_s: Wall-clock time (s).
    """

    written: int
    failed: int
    chunks_run: int
    chunks_stored: int
    seconds: float
    task_s: float
    workers: int
    wall_s: float

    @property
    def realtime_factor(self) -> float:
        """Signal seconds analysed per wall second (× real time, all channels at once)."""
        return self.seconds / max(self.wall_s, 1e-9)

    @property
    def busy(self) -> float:
        """Share of the workers' time spent in chunk tasks (0..1)."""
        return self.task_s / max(self.wall_s * self.workers, 1e-9)


@contextmanager
def open_client(scheduler: str | None, workers: int) -> Iterator[Client]:
    """A Dask client: on ``scheduler`` (``tcp://HOST:PORT``), or on an embedded
    :class:`~distributed.LocalCluster` of ``workers`` single-threaded worker processes.

    Raises:
        ConfigError: Dask distributed is not installed, or the scheduler does not answer.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(
            "aemon reanalyse needs Dask distributed; pip install 'aemon[cluster]'"
        ) from None
    if not logger.isEnabledFor(logging.DEBUG):  # a failed task is reported in one line
        logging.getLogger("distributed").setLevel(logging.ERROR)
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(
                f"no Dask scheduler answers at {scheduler} ({exc}); start one with "
                "'dask scheduler' or drop --scheduler for a local cluster"
            ) from None
        with client:
            yield client
        return
    import dask

    with dask.config.set(LOCAL_CLUSTER_CONFIG):  # the nannies pass it on to their workers
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            # any free port: the scheduler's HTTP server starts even without a dashboard, and
            # on the default 8787 it warns (to stderr) whenever another cluster holds that port
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,  # the workers' tracebacks: failures get one line
        )
    with cluster, Client(cluster) as client:
        # every worker is in before the first chunk is submitted; else a worker that is slow to
        # start (a busy machine) may get none, and the cluster runs at the speed of one
        client.wait_for_workers(workers, timeout=CONNECT_TIMEOUT_S)
        yield client


def _error_line(plan: RecordingPlan, index: int, exc: BaseException) -> str:
    what = str(exc) if isinstance(exc, AemonError) else f"{type(exc).__name__}: {exc}"
    return f"aemon: error: {plan.label(index)}: {what}; its other chunks are cancelled"


class _Progress:
    """A bar over chunks with the throughput in × real time."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.started = time.perf_counter()
        self.seconds = 0.0
        self.bar = tqdm(total=total, unit="chunk", desc="reanalyse", disable=not enabled,
                        **_bar_options())  # fmt: skip

    def done(self, result: ChunkResult | None) -> None:
        if result is not None:
            self.seconds += result.seconds
        wall = time.perf_counter() - self.started
        self.bar.set_postfix_str(f"{self.seconds / max(wall, 1e-9):.2f}× real time", False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def run_plans(
    client: Client, plans: list[RecordingPlan], on_done: RecordingDone, *, progress: bool
) -> RunSummary:
    """Run every chunk not yet stored; call ``on_done`` for each recording as it completes.

    The client hands out one task per free worker thread (:mod:`aemon.reanalysis.order`).

    Raises:
        KeyboardInterrupt: After cancelling the tasks (finished chunks stay stored).
    """
    started = time.perf_counter()
    results: list[list[ChunkResult | None]] = []
    stored = 0
    for plan in plans:
        results.append([plan.store.load(i) for i in range(len(plan.jobs))])
        stored += sum(res is not None for res in results[-1])
    bar = _Progress(sum(len(p.jobs) for p in plans), progress)
    bar.bar.update(stored)
    slots = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
    tasks = _tasks(plans, results, max(slots, 1))
    schedule = Schedule(tasks)
    running: dict[Future, Task] = {}
    failed: set[int] = set()
    written = seconds = task_s = 0.0
    from distributed import as_completed

    finished = as_completed()

    def hand_out() -> None:  # a task for every free worker thread
        while len(running) < max(slots, 1) and (next_task := schedule.take()) is not None:
            future = _submit(client, plans, *next_task)
            running[future] = next_task[0]
            finished.add(future)

    try:
        hand_out()
        for r, plan in enumerate(plans):  # everything came from the store
            if all(res is not None for res in results[r]):
                ok = _finish(plan, results[r], on_done)
                written += ok
                if not ok:
                    failed.add(r)
        for future in finished:
            task = running.pop(future)
            r, i = task.recording, task.chunk
            plan = plans[r]
            if future.status == "cancelled" or r in failed:
                hand_out()
                continue
            if future.status == "error":
                failed.add(r)
                print(_error_line(plan, i, future.exception()), file=sys.stderr)
                schedule.drop(r)
                client.cancel([f for f, t in running.items() if t.recording == r])
                bar.bar.update(sum(res is None for res in results[r]))  # they will not come
                hand_out()
                continue
            value = future.result()
            future.release()
            result, state = _outputs(task, value)
            schedule.done(task, state)
            hand_out()  # before the client's own work: keep the workers busy
            if result is None:
                continue
            plan.store.save(i, result)
            results[r][i] = result
            seconds += result.seconds
            task_s += result.wall_s
            bar.done(result)
            if all(res is not None for res in results[r]):
                ok = _finish(plan, results[r], on_done)
                written += ok
                if not ok:
                    failed.add(r)
    except KeyboardInterrupt:
        client.cancel(list(running), force=True)
        raise
    finally:
        bar.close()
    workers = len(client.scheduler_info().get("workers", {}))
    chunks_run = sum(t.kind != STATE for t in tasks)
    return RunSummary(int(written), len(failed), chunks_run, stored, seconds, task_s, workers,
                      time.perf_counter() - started)  # fmt: skip


def _tasks(
    plans: list[RecordingPlan], results: list[list[ChunkResult | None]], slots: int
) -> list[Task]:
    """The tasks of every chunk not in ``results``.

    A recording runs chunk after chunk (no state chain to compute) when that keeps the
    workers as busy as spreading it would: its chunks are at most the chunks to run divided
    by the worker threads. Otherwise a chain of state tasks lets its chunks run side by side.
    """
    to_run = sum(res is None for rs in results for res in rs)
    tasks: list[Task] = []
    for r, plan in enumerate(plans):
        missing = [i for i, res in enumerate(results[r]) if res is None]
        whole = len(missing) == len(plan.jobs) > 1
        if plan.carry_state and whole and len(missing) * slots <= to_run:
            tasks += one_after_another(r, plan)
        else:
            tasks += side_by_side(r, plan, missing)
    return tasks


def _submit(
    client: Client, plans: list[RecordingPlan], task: Task, state: Preprocessor | None
) -> Future:
    """Submit ``task``, starting from ``state``."""
    jobs = plans[task.recording].jobs
    i = task.chunk
    if task.kind == STATE:  # the state at chunk i's start, from chunk i-1's start on
        return client.submit(preprocessor_at, jobs[i - 1], jobs[i].chunk.run_start, state,
                             pure=False)  # fmt: skip
    if task.kind == CHUNK_AND_STATE:
        after = jobs[i + 1].chunk.run_start if i + 1 < len(jobs) else None
        return client.submit(detect_chunk_and_state, jobs[i], state, after, pure=False)
    return client.submit(detect_chunk, jobs[i], state, pure=False)


def _outputs(task: Task, value: Any) -> tuple[ChunkResult | None, Preprocessor | None]:
    """A finished task's chunk result and the state it hands on."""
    if task.kind == STATE:
        return None, value
    if task.kind == CHUNK_AND_STATE:
        return value[0], value[1]
    return value, None


def _finish(plan: RecordingPlan, results: list[ChunkResult | None], on_done: RecordingDone) -> int:
    done = [res for res in results if res is not None]
    if not on_done(plan, done):
        return 0
    plan.store.remove()
    return 1
