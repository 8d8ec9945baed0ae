"""Qt-free colours: the spectrogram colour map and one marker colour per event type/detector."""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt

_TYPE_COLOURS = {
    "low": (64, 160, 255),
    "high": (255, 80, 80),
    "hit": (255, 220, 60),
    "burst": (255, 120, 40),
}
_PALETTE = [(120, 255, 120), (255, 140, 255), (120, 255, 255), (255, 180, 120), (200, 200, 255)]
SERIES_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                  (140, 86, 75), (227, 119, 194), (188, 189, 34), (23, 190, 207), (230, 230, 230),
                  (174, 199, 232), (255, 187, 120), (152, 223, 138), (255, 152, 150)]  # fmt: skip
"""Trend curve colours, one per channel × type in order of appearance (cycled); Tableau's
qualitative palette, bright enough on the dark background."""
CLUSTER_COLOURS = [(70, 150, 255), (255, 80, 80), (80, 230, 120), (255, 210, 40),
                   (200, 120, 255), (40, 225, 225), (255, 140, 40), (255, 120, 200)]  # fmt: skip
"""Trend point colour per cluster label (cycled); as distinct as possible from each other."""
LABEL_COLOURS = {
    "confirmed": (60, 220, 90),
    "rejected": (150, 150, 150),
    "retyped": (80, 200, 255),
    "added": (230, 90, 255),
}
"""Colour of each review label (:data:`aemon.gui.labels.ACTIONS`): marker outline, row tint."""
UNCLUSTERED_COLOUR = (128, 128, 128)
"""Trend point colour of an event without a cluster label (label < 0)."""


def cluster_colour(label: int) -> tuple[int, int, int]:
    """RGB of cluster ``label``; grey for a negative label (not clustered)."""
    if label < 0:
        return UNCLUSTERED_COLOUR
    return CLUSTER_COLOURS[label % len(CLUSTER_COLOURS)]


def marker_colour(kind: str, detector: str = "") -> tuple[int, int, int]:
    """RGB of an event marker: fixed per known type; the detector shifts the shade (threshold
    hits and cascade confirmations are lighter/darker than the neural model's own)."""
    base = _TYPE_COLOURS.get(kind) or _PALETTE[zlib.crc32(kind.encode()) % len(_PALETTE)]
    if detector == "threshold":
        return tuple(min(255, c + 60) for c in base)  # type: ignore[return-value]
    if detector == "cascade":
        return tuple(int(c * 0.75) for c in base)  # type: ignore[return-value]
    return base


def inferno_like(n: int = 256) -> npt.NDArray[np.uint8]:
    """A dark-to-bright perceptual colour map ``(n, 3)`` (black → purple → orange → yellow)."""
    stops = np.array(
        [[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21],
         [250, 193, 39], [252, 255, 164]], dtype=np.float64,
    )  # fmt: skip
    x = np.linspace(0, 1, len(stops))
    t = np.linspace(0, 1, n)
    return np.stack([np.interp(t, x, stops[:, i]) for i in range(3)], axis=1).astype(np.uint8)
