"""A progress bar over a command's named stages (``aemon adapt``, ``aemon train-classifier``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

logger = logging.getLogger(__name__)


@contextmanager
def stage_progress(desc: str, stages: int, disable: bool) -> Iterator[Callable[[str], None]]:
    """A tqdm bar of ``stages`` steps; yields ``step(name)``, called as each stage starts (the
    one before it counts as done). The bar is full when the block ends."""
    from tqdm import tqdm

    with tqdm(total=stages, desc=desc, unit="stage", disable=disable) as bar:
        started: list[str] = []

        def step(name: str) -> None:
            if started:
                bar.update(1)
            started.append(name)
            bar.set_postfix_str(name)

        yield step
        bar.update(stages - bar.n)
