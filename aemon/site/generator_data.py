"""Labelled detections from the training generator, for classifiers that must know bursts in
general: the day-one classifier (:mod:`aemon.site.day_one`) learns from them alone, and site
learning (:mod:`aemon.site.learning`) adds some to the site's own, so that a site classifier
keeps accepting bursts unlike the site's pencil-lead breaks.

Backgrounds come in equal shares from :data:`BACKGROUND_KINDS`: the randomised backgrounds
(:mod:`aemon.sim.randomised_background`), the same with machine noise
(:mod:`aemon.sim.machine_noise`) and the physics simulator's; bursts from the randomised burst
generator and the simulator, half each. Nothing here draws from the benchmark's generator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from aemon.detect.backend import Detector
from aemon.detect.trigger_setting import Triggers
from aemon.site.training_set import LabelledDetections, labelled_detections

logger = logging.getLogger(__name__)

__all__ = ["BACKGROUND_KINDS", "GENERATOR_KINDS", "generator_detections"]

GENERATOR_KINDS = ("randomised", "randomised-machine", "randomised-friction", "simulator")
"""Every background the training generator draws: ``randomised-friction`` is the machine noise
with broadband sliding friction (:func:`~aemon.sim.machine_noise.add_friction`) for rubbing."""
BACKGROUND_KINDS = ("randomised", "randomised-machine", "simulator")
"""The backgrounds drawn unless others are asked for, in equal shares."""


def generator_detections(
    detector: Detector,
    rng: np.random.Generator,
    rate_hz: float,
    *,
    seconds: float,
    threshold: float,
    window_s: float = 0.25,
    bursts: int = 300,
    mixtures: int = 2,
    snr_db_range: tuple[float, float] = (0.0, 30.0),
    triggers: Triggers | None = None,
    kinds: tuple[str, ...] = BACKGROUND_KINDS,
    step: Callable[[str], None] = lambda _: None,
) -> LabelledDetections:
    """Detections (at ``threshold``) of ``seconds`` of the generator's backgrounds alone and
    with its bursts mixed in (:func:`~aemon.site.training_set.labelled_detections`).

    Their :attr:`~aemon.site.training_set.LabelledDetections.fold` is the background kind's
    index in ``kinds``: out-of-fold scores come from trees that never saw that
    kind of background, as a detector meets a machine it never heard.

    Args:
        detector: The network.
        rng: Randomness.
        rate_hz: The network's sample rate (Hz).
        seconds: Background drawn in all (s), shared equally by ``kinds``.
        threshold: Network probability at which detections are proposed.
        window_s: Length of each background draw (s).
        bursts: Burst waveforms drawn (half randomised, half simulator).
        mixtures: Mixtures of each background draw with the bursts.
        snr_db_range: Burst peak over the background's noise RMS (dB), uniform.
        triggers: STA/LTA trigger candidates proposed too; None for none.
        kinds: The backgrounds drawn (of :data:`GENERATOR_KINDS`).
        step: Called with the name of each background kind as it starts (progress).
    """
    unknown = [k for k in kinds if k not in GENERATOR_KINDS]
    if unknown:
        raise ValueError(f"unknown background kind {unknown[0]!r}; choose from {GENERATOR_KINDS}")
    waves = _bursts(rng, rate_hz, bursts)
    parts = []
    for kind in kinds:
        step(f"detections in {kind} backgrounds")
        draws = max(1, round(seconds / len(kinds) / window_s))
        backgrounds = [_background(kind, rng, int(window_s * rate_hz), rate_hz)
                       for _ in range(draws)]  # fmt: skip
        parts.append(labelled_detections(
            detector, backgrounds, waves, rng, rate_hz, threshold=threshold, mixtures=mixtures,
            snr_db_range=snr_db_range, triggers=triggers,
        ))  # fmt: skip
    return LabelledDetections(
        np.concatenate([p.features for p in parts]),
        np.concatenate([p.is_burst for p in parts]),
        np.concatenate([p.background_only for p in parts]),
        sum(p.seconds for p in parts),
        sum(p.bursts_mixed for p in parts),
        np.concatenate([np.full(p.is_burst.size, k, np.int64) for k, p in enumerate(parts)]),
    )


def _bursts(rng: np.random.Generator, rate: float, count: int) -> list[npt.NDArray[np.float64]]:
    from aemon.sim.bursts import make_burst
    from aemon.sim.randomised import random_burst

    randomised = [random_burst(rng, rate).wave.astype(np.float64) for _ in range(count // 2)]
    simulated = [make_burst(rng, int(rng.integers(2)), rate).astype(np.float64)
                 for _ in range(count - count // 2)]  # fmt: skip
    return randomised + simulated


def _background(kind: str, rng: np.random.Generator, n: int, rate: float) -> npt.NDArray[Any]:
    if kind == "simulator":
        from aemon.sim.simulator import make_background
        from aemon.sim.training import training_sim_config

        return np.asarray(make_background(rng, n, training_sim_config(rate))[0], np.float64)
    from aemon.sim.randomised_background import draw_background

    drawn = draw_background(rng, n, rate, machine_noise=kind != "randomised",
                            friction=kind == "randomised-friction")  # fmt: skip
    return np.asarray(drawn.signal, dtype=np.float64)
