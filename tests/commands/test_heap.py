"""HeapTrimmer: the free pages that glibc keeps after big temporary arrays go back to the OS."""

from __future__ import annotations

import platform
import threading

import numpy as np
import pytest

from aemon.commands._heap import HeapTrimmer


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


def _leave_free_heap_pages(kept: list[np.ndarray]) -> None:
    """On a thread (own arena): 9 × 8 MiB arrays freed below one that stays."""
    big = np.ones(30 << 17)  # 30 MiB, mmapped; freeing it raises glibc's mmap threshold
    del big
    arrays = [np.ones(1 << 20) for _ in range(10)]  # so these 8 MiB come from the heap
    kept.append(arrays.pop())  # the top stays in use: the heap cannot shrink by itself
    del arrays


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_trimming_returns_the_free_pages_of_a_threads_arena() -> None:
    kept: list[np.ndarray] = []
    worker = threading.Thread(target=_leave_free_heap_pages, args=(kept,))
    worker.start()
    worker.join()
    trimmer = HeapTrimmer(interval_s=3600)
    before = _rss_mb()
    trimmer.maybe_trim()  # within the interval: nothing happens
    assert trimmer.trims == 0 and _rss_mb() > before - 10
    trimmer.interval_s = 0
    trimmer.maybe_trim()
    assert trimmer.trims == 1
    assert _rss_mb() < before - 40  # most of the 72 MiB freed below the kept array
    assert kept[0].sum() == 1 << 20
