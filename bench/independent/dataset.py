"""Benchmark files: bursts from :mod:`.bursts` in backgrounds from :mod:`.backgrounds`.

Burst SNR is ``20·log10(peak / noise_rms)`` in dB, where ``peak`` is the burst's largest
absolute sample (V) and ``noise_rms`` the RMS (V) of the background over the whole file
(:data:`NOISE_RMS_V`, 1 mV = 60 dBAE, unless given). SNR bands: :data:`SNR_BANDS`.

Bursts start at random times with at least :data:`MIN_SPACING_S` between onsets (longer than
the longest burst, so bursts never overlap) and :data:`BURST_RATE_HZ` per second on average.
The burst schedule and waveforms depend only on ``seed`` and the SNR band, the background only
on ``seed`` and the family: two families rendered with one seed hold the same bursts.
"""

from __future__ import annotations

import functools
import logging
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.signal

from .backgrounds import FAMILIES, background
from .bursts import MARGIN_SAMPLES, MAX_BURST_S, make_burst
from .rig import EPISODIC, RigRandom

logger = logging.getLogger(__name__)

FS_HZ = 1_562_500.0
"""Default sample rate (Hz)."""
NOISE_RMS_V = 1e-3
"""Default background RMS (V) at the sensor; 0 dBAE = 1 µV, so this is 60 dBAE."""
SNR_BANDS: dict[str, tuple[float, float]] = {"low": (3.0, 10.0), "mid": (10.0, 18.0),
                                             "high": (18.0, 30.0)}  # fmt: skip
"""SNR bands (dB): burst SNRs are drawn uniformly in the band."""
BURST_RATE_HZ = 30.0
"""Mean bursts per second."""
MIN_SPACING_S = 3e-3
"""Minimum distance (s) between burst onsets."""
LEAD_IN_S = 20e-3
"""No burst starts in the first 20 ms (detectors may need some history)."""


class TruthBurst(NamedTuple):
    """A true burst: onset and end sample (end exclusive) and its SNR (dB)."""

    onset_sample: int
    end_sample: int
    snr_db: float


@dataclass
class Rendered:
    """A rendered file split into its parts (V).

    Attributes:
        background: Background (V), RMS ``noise_rms_v``.
        bursts: Sum of the scaled bursts alone (V).
        truth: True bursts in time order.
        noise_rms_v: Background RMS (V) the SNRs refer to.
        sources: Source kind (``"plb"``/``"crack"``) of each burst, in truth order.
    """

    background: npt.NDArray[np.float32]
    bursts: npt.NDArray[np.float32]
    truth: list[TruthBurst]
    noise_rms_v: float
    sources: list[str] = field(default_factory=list)

    @property
    def signal(self) -> npt.NDArray[np.float32]:
        """Background plus bursts (V), float32."""
        return np.asarray(self.background + self.bursts, dtype=np.float32)


def _stream(seed: int, name: str) -> np.random.Generator:
    """An independent random stream per (seed, name) that is stable across runs."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def render_parts(
    family: str,
    snr_band: str | tuple[float, float],
    seed: int,
    duration_s: float = 5.0,
    fs: float = FS_HZ,
    noise_rms_v: float = NOISE_RMS_V,
    rig_seed: int | None = None,
) -> Rendered:
    """Render a benchmark file and keep its background and bursts apart.

    Args:
        family: Background family name (:data:`.backgrounds.FAMILIES`).
        snr_band: Band name in :data:`SNR_BANDS` or ``(low_db, high_db)``.
        seed: Random seed.
        duration_s: Length (s).
        fs: Sample rate (Hz).
        noise_rms_v: Background RMS (V).
        rig_seed: Take the background family's parameters from the plain rendering of this
            seed (the same rig: sensor, machine) and only its noise from ``seed``
            (:mod:`.rig`); None: both from ``seed``.

    Returns:
        The parts; ``signal`` is their sum.

    Raises:
        KeyError: Unknown family or band name.
    """
    band = SNR_BANDS[snr_band] if isinstance(snr_band, str) else snr_band
    n = round(duration_s * fs)
    rng: Any = _stream(seed, "background:" + family)
    if rig_seed is not None:
        rig = _stream(rig_seed, "background:" + family)
        rng = RigRandom(rig, rng, episodic=family in EPISODIC)
    bg = background(family, rng, n, fs) * noise_rms_v
    bursts, truth, sources = _burst_track(seed, (float(band[0]), float(band[1])), n, fs,
                                          noise_rms_v)  # fmt: skip
    logger.debug("%s/%s seed %d: %d bursts in %.2f s", family, band, seed, len(truth), n / fs)
    return Rendered(np.asarray(bg, np.float32), bursts, list(truth), noise_rms_v, list(sources))


@functools.lru_cache(maxsize=4)
def _burst_track(
    seed: int, band: tuple[float, float], n: int, fs: float, noise_rms_v: float
) -> tuple[npt.NDArray[np.float32], tuple[TruthBurst, ...], tuple[str, ...]]:
    """The bursts of a file alone (read-only, cached: every family of a seed shares them)."""
    rng = _stream(seed, f"bursts:{band[0]:g}-{band[1]:g}")
    out = np.zeros(n, dtype=np.float64)
    truth: list[TruthBurst] = []
    sources: list[str] = []
    spacing = round(MIN_SPACING_S * fs)
    extra_mean = max(fs / BURST_RATE_HZ - spacing, 1.0)
    pos = round(LEAD_IN_S * fs + rng.exponential(extra_mean))
    room = round(MAX_BURST_S * fs) + 2 * MARGIN_SAMPLES
    while pos + room < n:
        burst = make_burst(rng, fs)
        snr_db = float(rng.uniform(*band))
        start = pos - burst.onset
        wave = burst.waveform * (noise_rms_v * 10.0 ** (snr_db / 20.0))
        out[start : start + wave.size] += wave
        truth.append(TruthBurst(pos, pos + burst.end - burst.onset, snr_db))
        sources.append(burst.source)
        pos += spacing + round(rng.exponential(extra_mean))
    track = out.astype(np.float32)
    track.flags.writeable = False
    return track, tuple(truth), tuple(sources)


def render_file(
    family: str,
    snr_band: str | tuple[float, float],
    seed: int,
    duration_s: float = 5.0,
    fs: float = FS_HZ,
    noise_rms_v: float = NOISE_RMS_V,
) -> tuple[npt.NDArray[np.float32], list[TruthBurst]]:
    """Render a benchmark file: ``(signal float32 V, truth in time order)``.

    See :func:`render_parts` for the arguments.
    """
    parts = render_parts(family, snr_band, seed, duration_s, fs, noise_rms_v)
    return parts.signal, parts.truth


# -- the noise-only file with hard negatives -----------------------------------------------------


def _spike(rng: np.random.Generator, fs: float) -> np.ndarray:
    """An electrical glitch: 1 sample, a bipolar pair, or a 3-6 sample decaying discharge."""
    kind = rng.integers(0, 3)
    sign = rng.choice([-1.0, 1.0])
    if kind == 0:
        return np.array([sign])
    if kind == 1:
        return np.array([sign, -sign * rng.uniform(0.3, 1.0)])
    m = int(rng.integers(3, 7))
    return np.asarray(sign * np.exp(-np.arange(m) / rng.uniform(0.7, 2.0)))


def _rub(rng: np.random.Generator, fs: float) -> np.ndarray:
    """A friction burst: 3-40 ms, Hann (symmetric, emergent) envelope, 30-300 kHz noise."""
    m = int(rng.uniform(3e-3, 40e-3) * fs)
    lo = rng.uniform(30e3, 150e3)
    hi = min(lo * rng.uniform(1.5, 2.5), 300e3, 0.45 * fs)
    sos = scipy.signal.butter(2, [lo, hi], "bandpass", fs=fs, output="sos")
    x = scipy.signal.sosfilt(sos, rng.standard_normal(m)) * np.hanning(m)
    return np.asarray(x / np.max(np.abs(x)))


def _impact(rng: np.random.Generator, fs: float) -> np.ndarray:
    """A mechanical impact: a 50-300 µs half-sine contact force ringing 1-40 kHz modes."""
    contact_s = rng.uniform(50e-6, 300e-6)
    m_c = max(2, int(contact_s * fs))
    force = np.sin(np.pi * np.arange(m_c) / m_c)
    m = int(rng.uniform(2e-3, 8e-3) * fs)
    t = np.arange(m) / fs
    ring = np.zeros(m)
    for _ in range(int(rng.integers(1, 4))):
        f = rng.uniform(1e3, 40e3)
        ring += (
            rng.uniform(0.3, 1.0)
            * np.exp(-t / rng.uniform(0.3e-3, 2e-3))
            * np.sin(2 * np.pi * f * t)
        )
    x = scipy.signal.fftconvolve(force, ring)[:m]
    return np.asarray(x / np.max(np.abs(x)))


NEGATIVE_RATES_HZ: dict[str, float] = {"spike": 4.0, "rub": 1.0, "impact": 1.0}
"""Mean rate (per s) of each hard negative in the noise-only file."""
NEGATIVE_PEAK_DB: dict[str, tuple[float, float]] = {
    "spike": (20.0, 45.0),
    "rub": (6.0, 24.0),
    "impact": (10.0, 30.0),
}
"""Peak (dB over the nominal noise RMS) of each hard negative."""


def _band_rms(x: npt.NDArray[np.floating], fs: float) -> float:
    """RMS of ``x`` in the AE band 20-700 kHz (4th-order Butterworth, upper edge <= 0.45·fs)."""
    hi = min(700e3, 0.45 * fs)
    sos = scipy.signal.butter(4, [min(20e3, 0.5 * hi), hi], "bandpass", fs=fs, output="sos")
    return float(np.sqrt(np.mean(np.square(scipy.signal.sosfilt(sos, x)))))


class NoiseOnly(NamedTuple):
    """A noise-only file: its signal (V), its truth (always empty) and what it holds.

    Attributes:
        signal: Samples (V), float32.
        truth: True bursts: none.
        counts: How many of each hard negative (and level steps) were inserted.
        negatives: ``(kind, start, stop)`` of every hard negative (samples, stop exclusive).
        segments: ``(family, start, stop, level_db)`` of every background segment.
    """

    signal: npt.NDArray[np.float32]
    truth: list[TruthBurst]
    counts: dict[str, int]
    negatives: list[tuple[str, int, int]]
    segments: list[tuple[str, int, int, float]]


def render_noise_only(
    seed: int,
    duration_s: float = 20.0,
    fs: float = FS_HZ,
    noise_rms_v: float = NOISE_RMS_V,
    layout: Sequence[tuple[str, float, float]] | None = None,
) -> NoiseOnly:
    """Render a file with no bursts at all, full of hard negatives.

    The background is a sequence of 1-3 s segments of random families. Each segment is scaled
    so that its RMS in the AE band (20-700 kHz) is the nominal RMS times a level step of up to
    ±6 dB (abrupt steps between segments); a family with little AE-band content (``hum``,
    ``pink``) is therefore louder broadband. The peaks of the hard negatives are relative to
    the nominal RMS. On top come electrical spikes,
    friction (rubbing) bursts and low-frequency mechanical impacts at the rates and peaks in
    :data:`NEGATIVE_RATES_HZ` and :data:`NEGATIVE_PEAK_DB`.

    Args:
        seed: Random seed.
        duration_s: Length (s).
        fs: Sample rate (Hz).
        noise_rms_v: Nominal background RMS (V).
        layout: ``(family, seconds, level_db)`` of each segment, in order (repeated to the
            length), instead of drawing them: another recording of the same machine, whose
            families' parameters, noise and hard negatives the seed still draws
            (:func:`noise_only_layout` of a rendered file gives its layout).

    Returns:
        The signal (float32 V), an empty truth and the counts of what was inserted.
    """
    rng = _stream(seed, "noise-only")
    n = round(duration_s * fs)
    out = np.zeros(n)
    names = list(FAMILIES)
    pos = 0
    segments: list[tuple[str, int, int, float]] = []
    while pos < n:
        if layout:
            family, seconds, level_db = layout[len(segments) % len(layout)]
            m = min(n - pos, max(1, round(seconds * fs)))
        else:
            m = min(n - pos, int(rng.uniform(1.0, 3.0) * fs))
            family = names[int(rng.integers(0, len(names)))]
            level_db = float(rng.uniform(-6.0, 6.0))
        segment = background(family, rng, m, fs)
        out[pos : pos + m] = segment * (
            10.0 ** (level_db / 20.0) / max(_band_rms(segment, fs), 1e-12)
        )
        segments.append((family, pos, pos + m, level_db))
        pos += m
    counts = {"level_step": len(segments) - 1}
    negatives: list[tuple[str, int, int]] = []
    makers = {"spike": _spike, "rub": _rub, "impact": _impact}
    for kind, rate in NEGATIVE_RATES_HZ.items():
        k = int(rng.poisson(rate * duration_s))
        counts[kind] = k
        for _ in range(k):
            wave = makers[kind](rng, fs) * 10.0 ** (rng.uniform(*NEGATIVE_PEAK_DB[kind]) / 20.0)
            start = int(rng.integers(0, max(1, n - wave.size)))
            stop = min(n, start + wave.size)
            out[start:stop] += wave[: stop - start]
            negatives.append((kind, start, stop))
    negatives.sort(key=lambda e: e[1])
    signal = np.asarray(out * noise_rms_v, dtype=np.float32)
    return NoiseOnly(signal, [], counts, negatives, segments)


def noise_only_layout(noise: NoiseOnly, fs: float = FS_HZ) -> list[tuple[str, float, float]]:
    """``(family, seconds, level_db)`` of each segment of a noise-only file (its machine), for
    :func:`render_noise_only`'s ``layout``."""
    return [(family, (stop - start) / fs, level) for family, start, stop, level in noise.segments]


PLB_SNR_DB = (30.0, 45.0)
"""Peak (dB over the noise RMS) of the bursts of a pencil-lead-break check."""


def render_plb_check(
    background_v: npt.NDArray[np.floating],
    seed: int,
    n_bursts: int,
    fs: float = FS_HZ,
    noise_rms_v: float = NOISE_RMS_V,
) -> tuple[npt.NDArray[np.float32], list[TruthBurst]]:
    """A sensor check: ``n_bursts`` strong bursts spread evenly over ``background_v`` (V).

    As a technician breaks 10-20 leads on the specimen with the machine running: one burst
    every ``duration / n_bursts`` s (±20 % jitter), peaks :data:`PLB_SNR_DB` over the noise.
    """
    rng = _stream(seed, "plb-check")
    out = np.asarray(background_v, dtype=np.float64).copy()
    step = out.size / (n_bursts + 1)
    truth: list[TruthBurst] = []
    for k in range(n_bursts):
        burst = make_burst(rng, fs)
        pos = round((k + 1 + rng.uniform(-0.2, 0.2)) * step)
        snr = float(rng.uniform(*PLB_SNR_DB))
        wave = burst.waveform * (noise_rms_v * 10.0 ** (snr / 20.0))
        start = pos - burst.onset
        stop = min(out.size, start + wave.size)
        out[start:stop] += wave[: stop - start]
        truth.append(TruthBurst(pos, pos + burst.end - burst.onset, snr))
    return out.astype(np.float32), truth


def snr_db(peak_v: float, noise_rms_v: float) -> float:
    """SNR (dB) of a burst with peak ``peak_v`` (V) over noise RMS ``noise_rms_v`` (V)."""
    return 20.0 * math.log10(peak_v / noise_rms_v)
