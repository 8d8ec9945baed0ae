"""Acoustic-emission signal simulator with ground truth.

Renders what an AE sensor on a fatigue test machine records, in volts at the sensor: broadband
sensor/amplifier noise, hydraulic hum, friction episodes, electrical spikes, and crack bursts of
two types (see :mod:`aemon.sim.bursts`). Every burst comes with a :class:`BurstTruth` row;
friction episodes and spikes are *not* bursts (they are hard negatives for a detector) and are
listed separately as :class:`Disturbance` rows.

The output depends only on the :class:`SimConfig` (seed included), never on how it is split
into calls: rendering N samples at once is bit-identical to rendering them in any chunks.
Each channel and each kind of event has its own random stream, and events (bursts, friction)
are generated whole, so one that straddles a chunk boundary continues seamlessly.

Example:
    >>> sim = AESimulator(SimConfig(channels=2, seed=1))
    >>> block = sim.render(65536)      # (2, 65536) float32 volts
    >>> block.bursts                   # truth rows of bursts starting in this block
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from aemon.errors import ConfigError
from aemon.sim.background import (
    RenewalProcess,
    add_periodic,
    hum_table,
    make_friction,
    make_spike,
)
from aemon.sim.bursts import (
    BURST_TYPES,
    COINCIDENT_DELAY_S,
    MAX_BURST_OCCUPANCY,
    band_scale,
    burst_spacing_samples,
    make_burst,
)

logger = logging.getLogger(__name__)

_ATTENUATION_DB = (2.0, 15.0)  # extra attenuation of a coincident event at other channels

# Random stream identifiers (SeedSequence spawn keys), so channel c's noise does not change
# when channels are added.
_NOISE, _HUM, _BURSTS, _FRICTION, _SPIKES, _SHARED_BURSTS = range(6)


class BurstTruth(NamedTuple):
    """Ground truth of one burst on one channel.

    Attributes:
        onset_sample: Absolute sample index of the burst onset.
        end_sample: Absolute index one past the burst end (envelope below ~1 % of peak).
        channel: Channel index (0-based).
        burst_type: Index into :data:`BURST_TYPES`.
        peak_amplitude_v: Peak |amplitude| of the burst alone (V at the sensor).
        snr_db: ``20·log10(peak / noise RMS)`` (dB); noise RMS is ``SimConfig.noise_rms_v``.
    """

    onset_sample: int
    end_sample: int
    channel: int
    burst_type: int
    peak_amplitude_v: float
    snr_db: float

    @property
    def type_name(self) -> str:
        """The burst type's name (``BURST_TYPES[burst_type]``), as truth tables store it."""
        return BURST_TYPES[self.burst_type]


class Disturbance(NamedTuple):
    """A background event that is not a burst (hard negative for detectors).

    Attributes:
        start_sample: Absolute index of the first affected sample.
        end_sample: Absolute index one past the last affected sample.
        channel: Channel index (0-based).
        kind: ``"friction"`` (rubbing episode) or ``"spike"`` (1–2 sample electrical spike).
    """

    start_sample: int
    end_sample: int
    channel: int
    kind: str


@dataclass(frozen=True)
class SimConfig:
    """Settings of the simulator. Invalid values raise :class:`~aemon.errors.ConfigError`.

    Attributes:
        sample_rate_hz: Sample rate (Hz). Below 1.5625 MHz the AE bands are scaled into the
            available band (see :mod:`aemon.sim.bursts`).
        channels: Number of channels.
        burst_rate_hz: Mean bursts per second per channel (Poisson, with a minimum spacing of
            about 0.7 ms at 1.5625 MHz so bursts never overlap on a channel).
        snr_db_range: Range (dB) that each burst's SNR is drawn from, uniformly in dB.
        noise_rms_v: RMS (V) of the broadband sensor/amplifier noise; 10 µV = 20 dBAE.
        hum_amplitude_v: Peak amplitude (V) of the hum fundamental (50 Hz, harmonics to 1 kHz).
        friction_rate_hz: Mean friction episodes per second per channel (2–30 ms each).
        spike_rate_hz: Mean electrical spikes per second per channel.
        coincident_fraction: Probability that a burst also reaches the other channels with a
            5–80 µs delay and 2–15 dB attenuation (limited so arrivals stay in the SNR range).
            0 keeps channels independent.
        seed: Seed of every random stream; equal configs give bit-identical output.
    """

    sample_rate_hz: float = 1_562_500.0
    channels: int = 1
    burst_rate_hz: float = 20.0
    snr_db_range: tuple[float, float] = (15.0, 55.0)
    noise_rms_v: float = 10e-6
    hum_amplitude_v: float = 15e-6
    friction_rate_hz: float = 2.0
    spike_rate_hz: float = 5.0
    coincident_fraction: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.sample_rate_hz > 0 and math.isfinite(self.sample_rate_hz), "sample rate"),
            (self.noise_rms_v > 0 and math.isfinite(self.noise_rms_v), "noise RMS"),
        ]
        for ok, what in checks:
            if not ok:
                raise ConfigError(f"simulator {what} must be a positive number")
        if not isinstance(self.channels, int | np.integer) or self.channels < 1:
            raise ConfigError(
                f"simulator needs a whole number >= 1 of channels, got {self.channels}"
            )
        if not isinstance(self.seed, int | np.integer) or self.seed < 0:
            raise ConfigError(f"simulator seed must be a whole number >= 0, got {self.seed}")
        for name in ("burst_rate_hz", "hum_amplitude_v", "friction_rate_hz", "spike_rate_hz"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ConfigError(f"simulator {name} must be >= 0, got {value}")
        if not 0.0 <= self.coincident_fraction <= 1.0:
            raise ConfigError(
                f"coincident_fraction must be in [0, 1], got {self.coincident_fraction}"
            )
        low, high = self.snr_db_range
        if not (math.isfinite(low) and math.isfinite(high) and low <= high):
            raise ConfigError(f"SNR range must be min <= max, got {low}..{high} dB")
        spacing_s = burst_spacing_samples(self.sample_rate_hz) / self.sample_rate_hz
        max_rate = MAX_BURST_OCCUPANCY / spacing_s / self.process_rate_factor
        if self.burst_rate_hz > max_rate:
            raise ConfigError(
                f"burst rate {self.burst_rate_hz} /s is too high for non-overlapping bursts; "
                f"use at most {max_rate:.0f} /s per channel"
            )

    @property
    def shares_bursts(self) -> bool:
        """True when bursts come from one process shared by all channels (coincident mode)."""
        return self.coincident_fraction > 0 and self.channels > 1

    @property
    def process_rate_factor(self) -> float:
        """Burst process rate divided by ``burst_rate_hz`` (1 unless bursts are shared)."""
        if not self.shares_bursts:
            return 1.0
        return self.channels / (1.0 + self.coincident_fraction * (self.channels - 1))


class SimBlock(NamedTuple):
    """One rendered block.

    Attributes:
        first_sample: Absolute index of the first column.
        samples: C-ordered ``(channels, n)`` float32 array (V at the sensor).
        bursts: Truth rows of bursts whose onset lies in this block, by onset then channel.
        disturbances: Friction episodes and spikes that start in this block.
    """

    first_sample: int
    samples: np.ndarray
    bursts: list[BurstTruth]
    disturbances: list[Disturbance]


class _Event(NamedTuple):
    onset: int
    waveform: np.ndarray  # float32 or float64, volts
    channel: int
    truth: BurstTruth | Disturbance

    @property
    def end(self) -> int:
        return self.onset + self.waveform.size


_EventFactory = Callable[[np.random.Generator, int], list[_Event]]
_EventProcess = RenewalProcess[_Event]


def _burst_factory(config: SimConfig, channel: int | None) -> _EventFactory:
    """Bursts on ``channel``, or (``None``) on a random channel plus coincident arrivals."""
    fs = config.sample_rate_hz
    scale = band_scale(fs)
    low, high = config.snr_db_range

    def burst(onset: int, ch: int, kind: int, peak: float, wave: np.ndarray, snr: float) -> _Event:
        scaled = (wave * peak).astype(np.float32)
        truth = BurstTruth(onset, onset + scaled.size, ch, kind, peak, snr)
        return _Event(onset, scaled, ch, truth)

    def factory(rng: np.random.Generator, onset: int) -> list[_Event]:
        home = channel if channel is not None else int(rng.integers(config.channels))
        kind = int(rng.integers(len(BURST_TYPES)))
        snr = float(rng.uniform(low, high))
        peak = config.noise_rms_v * 10.0 ** (snr / 20.0)
        wave = make_burst(rng, kind, fs)
        events = [burst(onset, home, kind, peak, wave, snr)]
        if channel is None and config.channels > 1 and rng.random() < config.coincident_fraction:
            others = [c for c in range(config.channels) if c != home]
            delays = rng.uniform(*COINCIDENT_DELAY_S, len(others)) / scale * fs
            attenuations = rng.uniform(*_ATTENUATION_DB, len(others))
            for c, delay, att in zip(others, delays, attenuations, strict=True):
                att = min(float(att), snr - low)  # arrivals stay inside the SNR range
                arrival = onset + round(float(delay))
                events.append(burst(arrival, c, kind, peak * 10 ** (-att / 20), wave, snr - att))
        return events

    return factory


def _disturbance_factory(config: SimConfig, channel: int, kind: str) -> _EventFactory:
    fs, noise = config.sample_rate_hz, config.noise_rms_v

    def factory(rng: np.random.Generator, onset: int) -> list[_Event]:
        wave = make_friction(rng, fs, noise) if kind == "friction" else make_spike(rng, noise)
        truth = Disturbance(onset, onset + wave.size, channel, kind)
        return [_Event(onset, wave.astype(np.float32), channel, truth)]

    return factory


def _stream(config: SimConfig, stream: int, channel: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(stream, channel)))


class AESimulator:
    """Endless, seeded AE signal source with ground truth.

    Attributes:
        config: The settings.
        position: Absolute index of the next sample :meth:`render` produces.
    """

    def __init__(self, config: SimConfig) -> None:
        """Set up the random streams; nothing is rendered yet."""
        self.config = config
        self.position = 0
        fs = config.sample_rate_hz
        channels = range(config.channels)
        self._noise_rngs = [_stream(config, _NOISE, c) for c in channels]
        self._noise_rms = np.float32(config.noise_rms_v)
        self._hum = [
            hum_table(_stream(config, _HUM, c), fs, config.hum_amplitude_v).astype(np.float32)
            for c in channels
        ]
        spacing = burst_spacing_samples(fs)
        if config.shares_bursts:
            # One shared process keeps every channel overlap-free; its rate is chosen so each
            # channel still sees burst_rate_hz truth rows per second on average.
            rate = config.burst_rate_hz * config.process_rate_factor
            factory = _burst_factory(config, None)
            bursts = [_EventProcess(_stream(config, _SHARED_BURSTS), rate, fs, factory, spacing)]
        else:
            bursts = [
                _EventProcess(
                    _stream(config, _BURSTS, c),
                    config.burst_rate_hz,
                    fs,
                    _burst_factory(config, c),
                    spacing,
                )
                for c in channels
            ]
        friction = [
            _EventProcess(
                _stream(config, _FRICTION, c),
                config.friction_rate_hz,
                fs,
                _disturbance_factory(config, c, "friction"),
            )
            for c in channels
        ]
        spikes = [
            _EventProcess(
                _stream(config, _SPIKES, c),
                config.spike_rate_hz,
                fs,
                _disturbance_factory(config, c, "spike"),
            )
            for c in channels
        ]
        # Fixed order of addition (bursts, friction, spikes; each in generation order) keeps
        # the float32 sums identical however the stream is chunked.
        self._processes = [bursts, friction, spikes]
        self._active: list[list[_Event]] = [[], [], []]

    def render(self, n_samples: int) -> SimBlock:
        """Render the next ``n_samples`` samples per channel, continuing from :attr:`position`.

        Args:
            n_samples: Samples per channel (>= 0).

        Returns:
            A :class:`SimBlock` with a fresh ``(channels, n_samples)`` float32 array (V).
        """
        if n_samples < 0:
            raise ConfigError(f"cannot render a negative number of samples ({n_samples})")
        first = self.position
        stop = first + n_samples
        out = np.empty((self.config.channels, n_samples), dtype=np.float32)
        for c in range(self.config.channels):
            row = out[c]
            self._noise_rngs[c].standard_normal(dtype=np.float32, out=row)
            row *= self._noise_rms
            if self.config.hum_amplitude_v > 0:
                add_periodic(row, self._hum[c], first)
        bursts: list[BurstTruth] = []
        disturbances: list[Disturbance] = []
        for kind, processes in enumerate(self._processes):
            active = self._active[kind]
            for process in processes:
                active.extend(process.until(stop))
            for event in active:
                if first <= event.onset < stop:
                    if isinstance(event.truth, BurstTruth):
                        bursts.append(event.truth)
                    else:
                        disturbances.append(event.truth)
                lo, hi = max(event.onset, first), min(event.end, stop)
                if lo < hi:
                    out[event.channel, lo - first : hi - first] += event.waveform[
                        lo - event.onset : hi - event.onset
                    ]
            self._active[kind] = [e for e in active if e.end > stop]
        bursts.sort(key=lambda b: (b.onset_sample, b.channel))
        disturbances.sort(key=lambda d: (d.start_sample, d.channel))
        self.position = stop
        return SimBlock(first, out, bursts, disturbances)

    def chunks(self, chunk_samples: int) -> Iterator[SimBlock]:
        """Yield consecutive blocks of ``chunk_samples`` samples per channel, forever."""
        if chunk_samples < 1:
            raise ConfigError(f"chunk size must be at least 1 sample, got {chunk_samples}")
        while True:
            yield self.render(chunk_samples)


def make_background(
    rng: np.random.Generator, n_samples: int, config: SimConfig
) -> tuple[np.ndarray, list[Disturbance]]:
    """Render one channel of background (noise, hum, friction, spikes) without bursts.

    Uses ``config`` for the sample rate, noise RMS, hum amplitude and friction/spike rates;
    ``config.channels``, the burst settings and ``config.seed`` are ignored (``rng`` decides).

    Args:
        rng: Random generator; the result depends only on its state.
        n_samples: Length (samples).
        config: Simulator settings.

    Returns:
        ``(signal, disturbances)``: float64 volts of shape ``(n_samples,)`` and the friction
        episodes and spikes in it (channel 0, sample indices from 0, ends clipped to
        ``n_samples``).
    """
    if n_samples < 0:
        raise ConfigError(f"cannot render a negative number of samples ({n_samples})")
    fs = config.sample_rate_hz
    signal = rng.standard_normal(n_samples) * config.noise_rms_v
    if config.hum_amplitude_v > 0:
        add_periodic(signal, hum_table(rng, fs, config.hum_amplitude_v), int(rng.integers(1 << 30)))
    disturbances: list[Disturbance] = []
    for kind, rate in (("friction", config.friction_rate_hz), ("spike", config.spike_rate_hz)):
        process = _EventProcess(rng, rate, fs, _disturbance_factory(config, 0, kind))
        for event in process.until(n_samples):
            end = min(event.end, n_samples)
            signal[event.onset : end] += event.waveform[: end - event.onset]
            assert isinstance(event.truth, Disturbance)
            disturbances.append(event.truth._replace(end_sample=end))
    disturbances.sort(key=lambda d: d.start_sample)
    return signal, disturbances
