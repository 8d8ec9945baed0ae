"""The time split of a site's background: stretches learnt from and stretches held back.

A machine's background is not stationary: a hydraulic load cycle, a gear train that starts
and stops, a rubbing contact that comes and goes. A single held-back stretch at the end of the
recording holds only what the machine did last, so the guard could pass a classifier that is
worse on what it did before. The background is therefore cut into one part per
:data:`STRETCH_S` (at least one), and the end of each part is held back: the guard hears every
stage of the recording, and the classifier learns from the rest of each stage.

Every stretch, learnt from or held back, comes with the :data:`LEAD_IN_S` of signal before it
(where the recording has it), which only warms the live stream up (its pre-whitening and
normaliser adapt over a few tenths of a second): the classifier learns, and the guard scores,
every sample as ``aemon detect`` would hear it in the middle of a recording.
"""

from __future__ import annotations

import itertools
import logging
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

__all__ = ["LEAD_IN_S", "STRETCH_S", "Stretch", "split_background"]

STRETCH_S = 3.0
"""Background per held-back stretch (s): a 10 s background gives three, spread over it."""
LEAD_IN_S = 0.5
"""Signal before a stretch (s) the stream runs on before its detections count."""


class Stretch(NamedTuple):
    """One stretch of a background, learnt from or held back.

    Attributes:
        signal: The stretch with its lead-in before it (V).
        lead_in: Samples at the start of ``signal`` that only warm the stream up; detections
            count from here on.
    """

    signal: npt.NDArray[np.float64]
    lead_in: int


def split_background(
    x: npt.NDArray[np.float64], fraction: float, rate_hz: float
) -> tuple[list[Stretch], list[Stretch]]:
    """Cut one background channel into stretches to learn from and stretches held back.

    Args:
        x: The background (V).
        fraction: Share of it held back (0..1), the end of each part.
        rate_hz: Its sample rate (Hz).

    Returns:
        ``(stretches to learn from, held-back stretches)``, both in time order, each with
        its lead-in.
    """
    parts = max(1, round(x.size / rate_hz / STRETCH_S))
    bounds = np.linspace(0, x.size, parts + 1).round().astype(int)
    lead = int(LEAD_IN_S * rate_hz)
    learn: list[Stretch] = []
    held: list[Stretch] = []
    for start, stop in itertools.pairwise(bounds):
        cut = int(stop - round((stop - start) * fraction))
        learn.append(Stretch(x[max(0, start - lead) : cut], min(start, lead)))
        held.append(Stretch(x[cut - min(cut, lead) : stop], min(cut, lead)))
    return learn, held
