"""The time split of a site's background: stretches learnt from and stretches held back.

A machine's background is not stationary: a hydraulic load cycle, a gear train that starts
and stops, a rubbing contact that comes and goes. A single held-back stretch at the end of the
recording holds only what the machine did last, so the guard could pass a classifier that is
worse on what it did before. The background is therefore cut into one part per
:data:`STRETCH_S` (at least one), and the end of each part is held back: the guard hears every
stage of the recording, and the classifier learns from the rest of each stage.

Each held-back stretch comes with the :data:`LEAD_IN_S` of signal before it, which only warms
the live stream up (its pre-whitening and normaliser adapt over a few tenths of a second), so
the guard scores every held-back sample as ``aemon detect`` would hear it in the middle of a
recording.
"""

from __future__ import annotations

import itertools
import logging
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

__all__ = ["LEAD_IN_S", "STRETCH_S", "HeldBack", "split_background"]

STRETCH_S = 3.0
"""Background per held-back stretch (s): a 10 s background gives three, spread over it."""
LEAD_IN_S = 0.5
"""Signal before a held-back stretch (s) the stream runs on before the guard scores it."""


class HeldBack(NamedTuple):
    """One held-back stretch of a background.

    Attributes:
        signal: The stretch with its lead-in before it (V).
        lead_in: Samples at the start of ``signal`` that only warm the stream up; the guard
            scores from here on.
    """

    signal: npt.NDArray[np.float64]
    lead_in: int


def split_background(
    x: npt.NDArray[np.float64], fraction: float, rate_hz: float
) -> tuple[list[npt.NDArray[np.float64]], list[HeldBack]]:
    """Cut one background channel into stretches to learn from and stretches held back.

    Args:
        x: The background (V).
        fraction: Share of it held back (0..1), the end of each part.
        rate_hz: Its sample rate (Hz).

    Returns:
        ``(stretches to learn from, held-back stretches)``, both in time order.
    """
    parts = max(1, round(x.size / rate_hz / STRETCH_S))
    bounds = np.linspace(0, x.size, parts + 1).round().astype(int)
    learn: list[npt.NDArray[np.float64]] = []
    held: list[HeldBack] = []
    for start, stop in itertools.pairwise(bounds):
        cut = int(stop - round((stop - start) * fraction))
        learn.append(x[start:cut])
        lead = min(cut, int(LEAD_IN_S * rate_hz))
        held.append(HeldBack(x[cut - lead : stop], lead))
    return learn, held
