"""One rig, many recordings: a background family's parameters from one seed, its noise from another.

In this generator a seed draws a background family's *parameters* (a sensor's resonance and
Q, a machine's shaft rate, impact ring and load cycle, the hum's harmonics) together with its
*noise*. Two seeds are then two rigs. A lab's background recording, its pencil-lead-break
check and its test all come from one rig: :class:`RigRandom` renders that case.

It stands in for the family's ``np.random.Generator``. Scalar draws (parameters) come from
the rig's stream; array draws (noise samples, per-impulse jitter and amplitudes) from the
recording's own stream. The rig's stream is advanced by every array draw too (drawn and
discarded), so its scalar draws are exactly those of a plain rendering with the rig's seed:
a file rendered with ``rig_seed=S`` has the same parameters as the plain file of seed ``S``.

Families whose parameters are their episodes (``rubbing``: every episode's time, band and
level are scalar draws) would repeat the rig file's episodes at the same times; for them
every draw comes from the recording's stream (:data:`EPISODIC`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

EPISODIC = frozenset({"rubbing"})
"""Families drawn entirely from the recording's stream under a rig."""

SIZE_ARGUMENT = {
    "standard_normal": 0,
    "random": 0,
    "uniform": 2,
    "normal": 2,
    "integers": 2,
    "exponential": 1,
    "choice": 1,
    "lognormal": 2,
    "poisson": 1,
}
"""Position of the ``size`` argument of each ``Generator`` method the families use."""


class RigRandom:
    """A ``Generator`` stand-in: parameters from ``rig``, noise from ``recording``.

    Args:
        rig: The rig's stream (the plain rendering's generator of the rig's seed).
        recording: This recording's own stream.
        episodic: Take every draw from ``recording`` (see :data:`EPISODIC`).
    """

    def __init__(
        self, rig: np.random.Generator, recording: np.random.Generator, episodic: bool = False
    ) -> None:
        self.rig, self.recording, self.episodic = rig, recording, episodic

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name not in SIZE_ARGUMENT:
            raise AttributeError(f"RigRandom does not route Generator.{name}; add it")
        index = SIZE_ARGUMENT[name]

        def draw(*args: Any, **kwargs: Any) -> Any:
            size = kwargs.get("size", args[index] if len(args) > index else None)
            from_rig = getattr(self.rig, name)(*args, **kwargs)
            if size is None and not self.episodic:
                return from_rig
            return getattr(self.recording, name)(*args, **kwargs)

        return draw
