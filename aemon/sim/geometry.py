"""Simulated sensor geometry: AE sources at positions, arriving at each sensor in turn.

:class:`GeometrySimulator` renders the background of :class:`~aemon.sim.simulator.AESimulator`
(noise, hum, friction, spikes; its own bursts switched off) and adds AE *sources*: each source
sits at a position, emits one burst at one instant, and the burst reaches every sensor
``distance / wave speed`` later (fractional-sample delays, applied in the frequency domain),
weakened by ``attenuation_db_per_m × distance``. Two kinds of source:

* ``crack``: uniformly inside the source region (between the outermost sensors on a line,
  the plate on a plate), at ``SimConfig.burst_rate_hz`` per second;
* ``grip``: grip noise, on a line only, 1–10 cm beyond one of the two outermost sensors, at
  ``SensorGeometry.grip_rate_hz`` per second.

With ``breaks_m`` set, crack sources are pencil-lead breaks at those positions instead: the
k-th stretch of ``break_segment_s`` seconds uses position ``k mod len(breaks_m)``.

Every arrival is a :class:`~aemon.sim.simulator.BurstTruth` row (its SNR is the SNR at the
sensor); every source is a :class:`SourceTruth` row with its position. As with the simulator,
output depends only on the configs, never on how rendering is chunked.

Example:
    >>> geometry = SensorGeometry.linear(2, spacing_m=0.2, wave_speed_m_s=5000.0)
    >>> sim = GeometrySimulator(SimConfig(channels=2, seed=1), geometry)
    >>> block, sources = sim.render_located(65536)
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.fft

from aemon.errors import ConfigError
from aemon.sim.background import RenewalProcess
from aemon.sim.bursts import BURST_TYPES, burst_spacing_samples, make_burst
from aemon.sim.simulator import AESimulator, BurstTruth, SimBlock, SimConfig

logger = logging.getLogger(__name__)

SOURCE_KINDS = ("crack", "grip")
"""Kinds of simulated source."""

_CRACK_STREAM, _GRIP_STREAM = 200, 201  # SeedSequence spawn keys, apart from the simulator's
_PAD = 32  # samples of zeros after a waveform for the fractional-delay shift


@dataclass(frozen=True)
class SensorGeometry:
    """Where the sensors sit and how the wave travels.

    Attributes:
        sensors_m: ``(x, y)`` of the sensor on each channel (m), one per channel.
        wave_speed_m_s: Propagation speed (m/s).
        attenuation_db_per_m: Amplitude loss along the path (dB/m).
        region_m: ``((x_low, x_high), (y_low, y_high))`` where crack sources lie (m).
        grip_rate_hz: Grip-noise sources per second (line geometries only; 0: none).
        grip_distance_m: Range (m) of a grip source's distance beyond the outermost sensor.
        breaks_m: Fixed crack positions ``(x, y)`` (m), one per stretch; empty: random.
        break_segment_s: Length (s) of the stretch for each break position.
    """

    sensors_m: tuple[tuple[float, float], ...]
    wave_speed_m_s: float = 5000.0
    attenuation_db_per_m: float = 20.0
    region_m: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.0), (0.0, 0.0))
    grip_rate_hz: float = 0.0
    grip_distance_m: tuple[float, float] = (0.01, 0.1)
    breaks_m: tuple[tuple[float, float], ...] = ()
    break_segment_s: float = 1.0

    def __post_init__(self) -> None:
        if len(self.sensors_m) < 2:
            raise ConfigError("a sensor geometry needs at least 2 sensors")
        if not (self.wave_speed_m_s > 0 and math.isfinite(self.wave_speed_m_s)):
            raise ConfigError(f"wave speed must be positive, got {self.wave_speed_m_s} m/s")
        if not (self.attenuation_db_per_m >= 0 and self.grip_rate_hz >= 0):
            raise ConfigError("attenuation and grip-noise rate must be >= 0")
        if self.grip_rate_hz > 0 and not self.is_linear:
            raise ConfigError("grip-noise sources need sensors on a line (use --sensor-spacing)")
        low, high = self.grip_distance_m
        if not 0 < low <= high:
            raise ConfigError("grip distance range must be 0 < low <= high (m)")
        if not self.break_segment_s > 0:
            raise ConfigError(f"break stretch must be positive, got {self.break_segment_s} s")

    @classmethod
    def linear(cls, channels: int, spacing_m: float, **options: object) -> SensorGeometry:
        """Sensors on a line at ``0, spacing, 2·spacing, …``; cracks between the outer two."""
        if not (spacing_m > 0 and math.isfinite(spacing_m)):
            raise ConfigError(f"sensor spacing must be positive, got {spacing_m} m")
        sensors = tuple((c * spacing_m, 0.0) for c in range(channels))
        region = ((0.0, (channels - 1) * spacing_m), (0.0, 0.0))
        return cls(sensors, region_m=region, **options)  # type: ignore[arg-type]

    @classmethod
    def plate(cls, channels: int, side_m: float, **options: object) -> SensorGeometry:
        """A square plate of ``side_m``; sensors evenly on a circle of radius 0.4 × side
        around its centre (4 sensors: near the corners); cracks anywhere on the plate."""
        if channels < 3 or not (side_m > 0 and math.isfinite(side_m)):
            raise ConfigError("a plate needs at least 3 channels and a positive side (m)")
        c, r = side_m / 2, 0.4 * side_m
        angles = [math.pi / 4 + 2 * math.pi * k / channels for k in range(channels)]
        sensors = tuple((c + r * math.cos(a), c + r * math.sin(a)) for a in angles)
        return cls(sensors, region_m=((0.0, side_m), (0.0, side_m)), **options)  # type: ignore[arg-type]

    @property
    def is_linear(self) -> bool:
        """True when every sensor has y = 0 (a line)."""
        return all(y == 0.0 for _, y in self.sensors_m)

    @property
    def max_delay_s(self) -> float:
        """Longest travel time (s) from any source to any sensor."""
        (x0, x1), (y0, y1) = self.region_m
        reach = self.grip_distance_m[1] if self.grip_rate_hz > 0 else 0.0
        corners = [(x, y) for x in (x0 - reach, x1 + reach) for y in (y0, y1)]
        corners += list(self.breaks_m)
        return (
            max(math.hypot(px - sx, py - sy) for px, py in corners for sx, sy in self.sensors_m)
            / self.wave_speed_m_s
        )


class SourceTruth(NamedTuple):
    """Ground truth of one AE source.

    Attributes:
        source_id: Running number (crack and grip sources each count from 0, see ``kind``).
        kind: ``"crack"`` or ``"grip"``.
        emission_sample: Absolute (fractional) sample index at which the source emitted.
        x_m: Position x (m).
        y_m: Position y (m).
        snr_db: SNR (dB) the burst would have at zero distance.
        first_channel: Channel the wave reaches first.
    """

    source_id: int
    kind: str
    emission_sample: float
    x_m: float
    y_m: float
    snr_db: float
    first_channel: int


class _Arrival(NamedTuple):
    onset: int
    waveform: np.ndarray
    channel: int
    truth: BurstTruth
    source: SourceTruth | None  # on the first arrival of a source only

    @property
    def end(self) -> int:
        return self.onset + self.waveform.size


def delayed(waveform: np.ndarray, fraction: float) -> np.ndarray:
    """``waveform`` delayed by ``fraction`` (0 ≤ fraction < 1) of a sample (FFT phase ramp);
    the result is :data:`_PAD` samples longer."""
    padded = np.concatenate([waveform, np.zeros(_PAD)])
    if fraction == 0.0:
        return padded
    n = padded.size
    spectrum = scipy.fft.rfft(padded)
    spectrum *= np.exp(-2j * np.pi * np.arange(spectrum.size) / n * fraction)
    return np.asarray(scipy.fft.irfft(spectrum, n))


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, 0)))


class GeometrySimulator:
    """The AE simulator with positioned sources (see the module docstring).

    Args:
        config: Simulator settings; ``channels`` must equal the number of sensors,
            ``burst_rate_hz`` is the crack-source rate, ``snr_db_range`` the source SNR at zero
            distance, ``coincident_fraction`` is ignored.
        geometry: Sensor positions, wave speed, attenuation, grip noise.
    """

    def __init__(self, config: SimConfig, geometry: SensorGeometry) -> None:
        if config.channels != len(geometry.sensors_m):
            raise ConfigError(
                f"{config.channels} channels but {len(geometry.sensors_m)} sensor positions"
            )
        self.config, self.geometry = config, geometry
        self._background = AESimulator(
            dataclasses.replace(config, burst_rate_hz=0.0, coincident_fraction=0.0)
        )
        fs = config.sample_rate_hz
        gap = burst_spacing_samples(fs) + math.ceil(geometry.max_delay_s * fs)
        self._processes = [
            RenewalProcess(_rng(config.seed, key), rate, fs, self._factory(kind), gap)
            for key, rate, kind in (
                (_CRACK_STREAM, config.burst_rate_hz, "crack"),
                (_GRIP_STREAM, geometry.grip_rate_hz, "grip"),
            )
        ]
        self._counts = {kind: 0 for kind in SOURCE_KINDS}
        self._active: list[_Arrival] = []

    @property
    def position(self) -> int:
        """Absolute index of the next sample :meth:`render` produces."""
        return self._background.position

    def _place(self, rng: np.random.Generator, kind: str, onset: int) -> tuple[float, float]:
        (x0, x1), (y0, y1) = self.geometry.region_m
        breaks = self.geometry.breaks_m
        if kind == "crack" and breaks:
            stretch = int(onset / self.config.sample_rate_hz / self.geometry.break_segment_s)
            return breaks[stretch % len(breaks)]
        if kind == "crack":
            return float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1))
        xs = [x for x, _ in self.geometry.sensors_m]
        beyond = float(rng.uniform(*self.geometry.grip_distance_m))
        return (min(xs) - beyond if rng.random() < 0.5 else max(xs) + beyond), 0.0

    def _factory(self, kind: str) -> Callable[[np.random.Generator, int], list[_Arrival]]:
        config, geometry = self.config, self.geometry
        fs, low, high = config.sample_rate_hz, *config.snr_db_range

        def factory(rng: np.random.Generator, onset: int) -> list[_Arrival]:
            x, y = self._place(rng, kind, onset)
            burst_type = int(rng.integers(len(BURST_TYPES)))
            snr = float(rng.uniform(low, high))
            wave = make_burst(rng, burst_type, fs)
            emission = onset + float(rng.random())
            distances = [math.hypot(x - sx, y - sy) for sx, sy in geometry.sensors_m]
            first = int(np.argmin(distances))
            source = SourceTruth(self._counts[kind], kind, emission, x, y, snr, first)
            self._counts[kind] += 1
            arrivals: list[_Arrival] = []
            for channel in sorted(range(len(distances)), key=lambda c: distances[c]):
                arrival = emission + distances[channel] / geometry.wave_speed_m_s * fs
                start = math.floor(arrival)
                loss_db = geometry.attenuation_db_per_m * distances[channel]
                peak = config.noise_rms_v * 10.0 ** ((snr - loss_db) / 20.0)
                samples = (delayed(wave, arrival - start) * peak).astype(np.float32)
                truth = BurstTruth(
                    round(arrival), start + samples.size, channel, burst_type, peak, snr - loss_db
                )
                arrivals.append(
                    _Arrival(start, samples, channel, truth, source if not arrivals else None)
                )
            return arrivals

        return factory

    def render_located(self, n_samples: int) -> tuple[SimBlock, list[SourceTruth]]:
        """Render the next ``n_samples``; returns the block and the sources emitting in it.

        The block's ``bursts`` are the arrivals whose onset lies in it, by onset then channel.
        """
        block = self._background.render(n_samples)
        first, stop = block.first_sample, block.first_sample + n_samples
        for process in self._processes:
            self._active.extend(process.until(stop))
        self._active.sort(key=lambda a: (a.onset, a.channel))
        bursts, sources = [], []
        for arrival in self._active:
            if first <= arrival.onset < stop:
                bursts.append(arrival.truth)
            if arrival.source is not None and first <= arrival.source.emission_sample < stop:
                sources.append(arrival.source)
            lo, hi = max(arrival.onset, first), min(arrival.end, stop)
            if lo < hi:
                block.samples[arrival.channel, lo - first : hi - first] += arrival.waveform[
                    lo - arrival.onset : hi - arrival.onset
                ]
        self._active = [a for a in self._active if a.end > stop]
        bursts.sort(key=lambda b: (b.onset_sample, b.channel))
        sources.sort(key=lambda s: s.emission_sample)
        return block._replace(bursts=bursts), sources

    def render(self, n_samples: int) -> SimBlock:
        """Render the next ``n_samples`` (sources: :meth:`render_located`)."""
        return self.render_located(n_samples)[0]
