"""A second look at a neural detection's onset: the arrival the AIC window did not reach.

The network's probability rises up to about 100 µs before a burst, and on a machine a run
often starts on the machine's own ringing just before a burst that rides on it. The AIC search
window (100 µs before to 50 µs after the run's start) then holds only noise or that ring, and
its pick lands 100-250 µs before the burst: outside the onset tolerance of ``aemon score``
(100 µs early), so the burst counts as missed and the event as a false alarm.

:func:`later_arrival` checks the pick: when the signal just after it is not clearly louder
than the signal before it, the pick found no arrival, and the AIC is run again from the pick
forward; a later pick is taken only where the signal after it does stand out. A clean onset
in the window passes the check and keeps its pick, so onsets in quiet noise do not move.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from aemon.events._aic import aic_pick

logger = logging.getLogger(__name__)

__all__ = ["AFTER_US", "ARRIVAL_DB", "BEFORE_US", "REACH_US", "later_arrival"]

ARRIVAL_DB = 10.0
"""How much louder (RMS, dB) the signal just after an onset is than just before it, for the
onset to mark an arrival. Measured with the shipped model on the benchmark's 2 s files, day-one
F1 on ``machine`` mid/high: 0.64/0.74 as picked, 0.67/0.84 with 10 dB, 0.69/0.80 with 6 dB;
the quiet families' F1 and onset errors are the same with either."""
AFTER_US = 25.0
"""Signal after an onset (µs) whose RMS is compared."""
BEFORE_US = 100.0
"""Signal before an onset (µs) whose RMS is compared."""
REACH_US = 250.0
"""How far after the detector's onset (µs) a later arrival is looked for."""
_MIN_SAMPLES = 8
"""Fewest samples before an onset whose RMS is compared (so a search's pick at its very start,
which marks no change, never counts); half the shortest search."""


def later_arrival(volts: npt.NDArray[np.float64], pick: int, start: int, rate_hz: float) -> int:
    """The onset of the arrival at or after ``pick`` in ``volts``.

    Args:
        volts: The signal from the AIC window's start (V).
        pick: The AIC pick (index into ``volts``).
        start: The detector's own onset (index into ``volts``); a later arrival is looked
            for up to :data:`REACH_US` after it.
        rate_hz: Sample rate (Hz).

    Returns:
        ``pick`` when the signal after it stands :data:`ARRIVAL_DB` over the signal before it,
        or when no later onset does; otherwise the later onset (index into ``volts``).
    """
    after, before, reach = (max(1, round(us * 1e-6 * rate_hz))
                            for us in (AFTER_US, BEFORE_US, REACH_US))  # fmt: skip
    if _stands_out(volts, 0, pick, after, before) is not False:
        return pick
    search = volts[pick : start + reach]
    if search.size < 2 * _MIN_SAMPLES:
        return pick
    later = pick + aic_pick(search)
    return later if _stands_out(volts, pick, later, after, before) else pick


def _stands_out(
    volts: npt.NDArray[np.float64], first: int, at: int, after: int, before: int
) -> bool | None:
    """Whether the RMS over ``after`` samples from ``at`` is :data:`ARRIVAL_DB` over the RMS
    of up to ``before`` samples before it (from ``first`` on); None when too little precedes
    it to say."""
    head, tail = volts[max(first, at - before) : at], volts[at : at + after]
    if head.size < _MIN_SAMPLES or tail.size < 1:
        return None
    ratio = float(np.mean(np.square(tail))) / max(float(np.mean(np.square(head))), 1e-300)
    return bool(ratio >= 10.0 ** (ARRIVAL_DB / 10.0))
