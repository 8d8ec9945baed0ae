"""Which STA/LTA trigger candidates a classifier judges: :class:`Triggers`, and the two that
site learning tries (:data:`RAW_TRIGGERS`, :data:`WHITENED_TRIGGERS`).

A leaf module, so that the classifier file (:mod:`aemon.detect.site_classifier`) and the
trigger itself (:mod:`aemon.detect.trigger_candidates`) share the setting without importing
each other.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["RAW_TRIGGERS", "WHITENED_TRIGGERS", "Triggers"]


class Triggers(NamedTuple):
    """Which STA/LTA triggers are proposed.

    Attributes:
        ratio: STA/LTA ratio at which a trigger opens; it closes under half of it.
        whitened: Trigger on the pre-whitened signal; False on the high-passed raw signal
            (and in classifier files written before whitened triggers existed).
    """

    ratio: float
    whitened: bool = True

    @property
    def label(self) -> str:
        """How cards, logs and benchmarks name the setting: ``"sta/lta 3"`` or
        ``"whitened sta/lta 2"``."""
        return f"{'whitened ' if self.whitened else ''}sta/lta {self.ratio:g}"


RAW_TRIGGERS = Triggers(3.0, whitened=False)
"""Raw triggers at ratio 3: in a rub, where whitening follows the rub's own spectrum, these
propose half as many candidates as whitened ones at ratio 2 (``rubbing``, 2 s: 320 against 622)."""
WHITENED_TRIGGERS = Triggers(2.0)
"""Whitened triggers at ratio 2: weak bursts in coloured or resonant noise (see
:mod:`aemon.detect.trigger_candidates`)."""
