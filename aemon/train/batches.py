"""Training batches for one epoch, drawn in the training process or in worker processes.

With ``workers = 0`` the batches come from :meth:`WindowGenerator.batch` in order, from one
generator seeded ``[seed, epoch]`` (the original, single-process stream). With ``workers > 0``
each worker process draws its share of the epoch's steps from its own generator seeded
``[seed, epoch, worker]``, so a run is reproducible for a given worker count, and a GPU is not
left waiting for the CPU to synthesise data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from aemon.train.data import WindowGenerator

logger = logging.getLogger(__name__)

Batch = tuple[torch.Tensor, torch.Tensor]
"""Inputs ``(B, C, N)`` and binary maps ``(B, E, M)``, float32."""


class _EpochBatches(IterableDataset[Batch]):
    def __init__(self, generator: WindowGenerator, seed: int, epoch: int, steps: int, size: int):
        self.generator, self.seed, self.epoch = generator, seed, epoch
        self.steps, self.size = steps, size

    def __iter__(self) -> Iterator[Batch]:
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        rng = np.random.default_rng([self.seed, self.epoch, worker])
        self.generator.new_epoch(rng)
        for _ in range(worker, self.steps, workers):
            x, y, _events = self.generator.batch(rng, self.size)
            yield torch.from_numpy(x), torch.from_numpy(y)


def epoch_batches(
    generator: WindowGenerator, *, seed: int, epoch: int, steps: int, size: int, workers: int
) -> Iterator[Batch]:
    """The ``steps`` batches of ``size`` windows of one epoch (see the module docstring)."""
    if workers <= 0:
        rng = np.random.default_rng([seed, epoch])
        generator.new_epoch(rng)
        for _ in range(steps):
            x, y, _events = generator.batch(rng, size)
            yield torch.from_numpy(x), torch.from_numpy(y)
        return
    loader = DataLoader(
        _EpochBatches(generator, seed, epoch, steps, size),
        batch_size=None,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        prefetch_factor=4,
    )
    yield from loader
