"""Examples for the U-Net denoiser (training, evaluation): simulator bursts in background.

As the detector's data generator does (:class:`aemon.train.data.MixSource`), isolated bursts
are added to background windows, here with the clean burst kept as the target. Bursts are the
simulator's (:func:`aemon.sim.bursts.make_burst`, both types) or the randomised family
(:func:`aemon.sim.randomised.random_burst`); backgrounds are the fatigue-machine simulator's
(:func:`aemon.sim.simulator.make_background`: white noise, hum, friction, spikes; cut from a
bank rendered once per epoch) or the randomised ones (coloured noise, machinery, rubbing).

The input SNR of an example is ``20·log10(peak / RMS)``, the burst's peak amplitude over the
background's RMS in the window, as the simulator's ``BurstTruth.snr_db`` (which uses the
white-noise RMS alone).
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.sim.bursts import make_burst
from aemon.sim.randomised import random_burst
from aemon.sim.randomised_background import random_background
from aemon.sim.simulator import SimConfig, make_background

logger = logging.getLogger(__name__)

F64 = npt.NDArray[np.float64]

BANK_SAMPLES = 1 << 21
"""Samples of simulator background rendered per bank (1.3 s at 1.5625 MHz)."""


class DenoiseExample(NamedTuple):
    """One mixed window: ``noisy = clean + background``; ``onset``/``end`` of the burst."""

    noisy: F64
    clean: F64
    onset: int
    end: int


def scale_to_snr(
    burst: npt.NDArray[np.floating], background: npt.NDArray[np.floating], snr_db: float
) -> F64:
    """``burst`` scaled so its peak is ``snr_db`` over the background's RMS (see module)."""
    rms = float(np.sqrt(np.mean(np.square(background))))
    peak = max(float(np.max(np.abs(burst))) if burst.size else 0.0, 1e-30)
    return np.asarray(burst, dtype=np.float64) * (rms * 10 ** (snr_db / 20) / peak)


class DenoiseMixer:
    """Draw :class:`DenoiseExample` windows.

    Args:
        window_samples: Samples per example.
        sample_rate_hz: Sample rate (Hz) of bursts and background.
        snr_db_range: Input SNR range (dB), uniform.
        empty_fraction: Share of windows without a burst (the mask must close there too).
    """

    def __init__(
        self,
        window_samples: int = 4096,
        sample_rate_hz: float = 1_562_500.0,
        snr_db_range: tuple[float, float] = (0.0, 35.0),
        empty_fraction: float = 0.1,
    ) -> None:
        self.window_samples = int(window_samples)
        self.sample_rate_hz = float(sample_rate_hz)
        self.snr_db_range = snr_db_range
        self.empty_fraction = empty_fraction
        self._config = SimConfig(sample_rate_hz=self.sample_rate_hz)
        self._bank: F64 | None = None

    def new_bank(self, rng: np.random.Generator, samples: int = BANK_SAMPLES) -> None:
        """Render a fresh bank of simulator background (call once per epoch)."""
        self._bank = make_background(rng, max(samples, 2 * self.window_samples), self._config)[0]

    def background(self, rng: np.random.Generator) -> F64:
        """One background window: from the simulator bank or the randomised generator."""
        n = self.window_samples
        if rng.random() < 0.5:
            if self._bank is None:
                self.new_bank(rng)
            assert self._bank is not None
            start = int(rng.integers(0, self._bank.size - n))
            return self._bank[start : start + n].copy()
        return random_background(rng, n, self.sample_rate_hz).astype(np.float64)

    def burst(self, rng: np.random.Generator) -> F64:
        """One unit-peak burst: a simulator burst (either type) or a randomised one."""
        if rng.random() < 0.6:
            return make_burst(rng, int(rng.integers(2)), self.sample_rate_hz)
        kind = (None, "low", "high")[int(rng.integers(3))]
        return random_burst(rng, self.sample_rate_hz, kind).wave.astype(np.float64)

    def mix(
        self,
        rng: np.random.Generator,
        burst: F64,
        background: F64,
        snr_db: float,
        onset: int,
    ) -> DenoiseExample:
        """Place ``burst`` at ``onset`` into ``background`` at ``snr_db`` (cut at the end)."""
        n = background.size
        end = min(n, onset + burst.size)
        clean = np.zeros(n)
        clean[onset:end] = scale_to_snr(burst, background, snr_db)[: end - onset]
        if rng.random() < 0.5:
            clean = -clean
        return DenoiseExample(background + clean, clean, onset, end)

    def draw(self, rng: np.random.Generator) -> DenoiseExample:
        """One random example."""
        background = self.background(rng)
        n = self.window_samples
        if rng.random() < self.empty_fraction:
            return DenoiseExample(background, np.zeros(n), 0, 0)
        snr = float(rng.uniform(*self.snr_db_range))
        onset = int(rng.integers(n // 16, n // 2))
        return self.mix(rng, self.burst(rng), background, snr, onset)
