"""Self-training on a lab's own, unlabelled recordings (``aemon adapt`` without a background).

The thesis built its training data by mixing isolated real bursts into real background; this
module does that automatically from recordings nobody labelled. The bursts and the background
are harvested by :func:`aemon.site.harvest.harvest` (see its rules); :func:`harvest_source`
mixes the bursts, scaled to random SNRs down to 0 dB, into the harvested background (source
``adapt``), and ``aemon adapt`` fine-tunes the model on it beside the simulator and randomised
sources so it keeps what it knew.
"""

from __future__ import annotations

import logging

import numpy as np

from aemon.dsp.normalization import noise_floor
from aemon.errors import ConfigError
from aemon.site.harvest import MIN_SNR_DB, Harvest
from aemon.train.data import Augmentation, MixSource
from aemon.train.data_sources import BackgroundBank

logger = logging.getLogger(__name__)

__all__ = ["harvest_source"]


def harvest_source(
    found: Harvest,
    classes: int,
    bursts_per_window: tuple[int, int],
    snr_db_range: tuple[float, float],
    augmentation: Augmentation,
) -> MixSource:
    """Source ``adapt``: harvested bursts at random SNRs in harvested background.

    Raises:
        ConfigError: Nothing (or too little) was harvested.
    """
    if not found.bursts:
        raise ConfigError(
            "aemon adapt found no isolated burst at least "
            f"{MIN_SNR_DB:g} dB above the noise; give recordings with clear bursts"
        )
    if not found.background:
        raise ConfigError(
            "aemon adapt found no burst-free stretch as long as a model window; give a "
            "recording with quiet periods"
        )
    bank = BackgroundBank(found.background)
    noise_rms = float(np.median([noise_floor(b) for b in found.background]))
    by_class = {
        c: [b for b, lab in zip(found.bursts, found.labels, strict=True) if lab == c]
        for c in range(classes)
    }
    low, high = snr_db_range

    def burst(rng: np.random.Generator, label: int) -> np.ndarray:
        pool = by_class.get(label) or found.bursts
        wave = pool[int(rng.integers(len(pool)))]
        return wave / max(float(np.max(np.abs(wave))), 1e-300)

    def amplitude(rng: np.random.Generator) -> float:
        return noise_rms * 10 ** (rng.uniform(low, high) / 20)

    return MixSource(
        "adapt",
        burst,
        bank,
        amplitude,
        classes,
        bursts_per_window,
        found.rate_hz,
        augmentation,
    )
