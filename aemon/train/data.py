"""Training windows: (signal window, binary map) pairs from mixed bursts or labelled recordings.

A :class:`WindowGenerator` draws each window from one of its sources:

* :class:`MixSource` mixes isolated bursts into background, 1–10 bursts per window (the
  configured range) at random, non-overlapping positions; bursts may start before the window
  or run past its end. Bursts and background come from the simulator (source a,
  :func:`~aemon.train.data_sources.simulator_mix`) or from a user's files (source b, both in
  :mod:`aemon.train.data_sources`).
* :class:`~aemon.train.data_sources.LabelledSource` cuts windows out of labelled recordings
  (source c).

Augmentation (probabilities in :class:`Augmentation`): burst gain ±15 dB, added white noise,
random burst polarity, reverberation (convolution with a random exponentially decaying
impulse response), and time shift (random positions in mixes, random crops of recordings).

Binary map: bin ``m`` of class ``e`` is 1 when a burst of class ``e`` covers the bin centre
``(m + 0.5) * decimation`` (onset inclusive, end exclusive); a burst shorter than a bin still
marks the bin holding its onset. Windows are normalised with :mod:`aemon.dsp.normalization`
exactly as
the live path does.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from aemon.dsp.normalization import normalize_window
from aemon.dsp.whitening import training_preroll, whiten_training_window
from aemon.errors import ConfigError
from aemon.sim.bursts import band_scale
from aemon.train.config import ModelConfig

logger = logging.getLogger(__name__)


class LabelledBurst(NamedTuple):
    """A labelled burst inside a window.

    Attributes:
        onset: Onset (samples from the window start; may be negative).
        end: One past the last sample of the burst (samples from the window start).
        label: Class index into the model's classes.
        channel: Input channel of the window that holds it.
    """

    onset: int
    end: int
    label: int
    channel: int = 0


class TrainingWindow(NamedTuple):
    """One raw window before normalisation: ``signal`` is ``(channels, n)`` float64."""

    signal: np.ndarray
    events: list[LabelledBurst]


class WindowSource(Protocol):
    """Anything that can draw a raw training window."""

    name: str

    def draw(self, rng: np.random.Generator, n: int, channels: int) -> TrainingWindow:
        """Return one window of ``n`` samples per channel."""
        ...

    def new_epoch(self, rng: np.random.Generator) -> None:
        """Renew anything cached per epoch (may do nothing)."""
        ...


@dataclass(frozen=True)
class Augmentation:
    """Augmentation probabilities and ranges.

    Attributes:
        gain_p: Probability of a random burst gain.
        gain_db: Gain range ±dB.
        noise_p: Probability of adding white noise to a window.
        noise_db: Range (dB re. the window's noise floor) of the added noise RMS.
        polarity_p: Probability of inverting a burst.
        reverb_p: Probability of convolving a burst with a decaying impulse response.
        reverb_decay_us: Range (µs at 1.5625 MHz, scaled like the simulator's bursts) of the
            impulse response decay time.
    """

    gain_p: float = 0.2
    gain_db: float = 15.0
    noise_p: float = 0.2
    noise_db: tuple[float, float] = (-10.0, 3.0)
    polarity_p: float = 0.5
    reverb_p: float = 0.2
    reverb_decay_us: tuple[float, float] = (20.0, 150.0)


NO_AUGMENTATION = Augmentation(gain_p=0.0, noise_p=0.0, polarity_p=0.0, reverb_p=0.0)


class Labelled(Protocol):
    """Anything with an onset, an end (samples) and a class index."""

    @property
    def onset(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def label(self) -> int: ...


def binary_map(events: Sequence[Labelled], n: int, decimation: int, classes: int) -> np.ndarray:
    """Ground-truth binary map of a window.

    Args:
        events: Bursts in the window (positions in samples from the window start).
        n: TrainingWindow length (samples).
        decimation: Samples per bin.
        classes: Number of classes (rows).

    Returns:
        float32 array ``(classes, n // decimation)`` of 0/1.
    """
    bins = n // decimation
    out = np.zeros((classes, bins), dtype=np.float32)
    for ev in events:
        first = math.ceil((ev.onset - decimation / 2) / decimation)
        last = math.ceil((ev.end - decimation / 2) / decimation)  # exclusive
        if last <= first:  # shorter than a bin: mark the bin holding the onset
            first, last = ev.onset // decimation, ev.onset // decimation + 1
        lo, hi = max(first, 0), min(last, bins)
        if lo < hi:
            out[ev.label, lo:hi] = 1.0
    return out


def reverb_impulse(
    rng: np.random.Generator, sample_rate_hz: float, decay_us: tuple[float, float]
) -> np.ndarray:
    """Random room/structure response: a direct path plus an exponentially decaying noise tail.

    The decay time is drawn log-uniformly from ``decay_us`` (µs at 1.5625 MHz, scaled by the
    sample rate like the simulator's bursts so the tail has the same length in samples below
    that rate). The direct-to-tail energy ratio is 0–12 dB.
    """
    scale = min(1.0, sample_rate_hz / 1_562_500.0)
    tau_s = math.exp(rng.uniform(math.log(decay_us[0]), math.log(decay_us[1]))) * 1e-6 / scale
    length = max(2, int(4 * tau_s * sample_rate_hz))
    t = np.arange(length)
    tail = rng.standard_normal(length) * np.exp(-t / (tau_s * sample_rate_hz))
    tail[0] = 0.0
    ratio_db = rng.uniform(0.0, 12.0)
    tail *= 10 ** (-ratio_db / 20) / max(float(np.sqrt(np.sum(tail**2))), 1e-12)
    tail[0] = 1.0
    return tail


def reverberate(wave: np.ndarray, impulse: np.ndarray) -> np.ndarray:
    """Convolve a burst with ``impulse``; trim the tail at 1 % of the new peak."""
    out = np.convolve(wave, impulse)
    level = 0.01 * np.max(np.abs(out))
    keep = int(np.flatnonzero(np.abs(out) >= level)[-1]) + 1 if level > 0 else wave.size
    return out[: max(keep, wave.size)]


BurstDraw = Callable[[np.random.Generator, int], np.ndarray]
BackgroundDraw = Callable[[np.random.Generator, int], np.ndarray]
SpannedBackgroundDraw = Callable[
    [np.random.Generator, int], tuple[np.ndarray, list[tuple[int, int]]]
]


class MixSource:
    """Mix isolated bursts into background windows (sources a and b).

    Args:
        name: Label for logs and the model card.
        draw_burst: ``(rng, class) -> waveform`` (any unit; scaled by ``amplitude``).
        draw_background: ``(rng, n) -> float64 array (n,)``.
        amplitude: ``(rng) -> peak`` for a burst, in the background's unit; None to use the
            waveform as drawn (user bursts recorded with the same chain as the background).
        classes: Number of classes.
        bursts_per_window: Inclusive range of bursts per window and channel.
        sample_rate_hz: Sample rate (Hz).
        augmentation: Augmentation settings.
        refresh: ``(rng) -> BackgroundDraw`` called by :meth:`new_epoch` to renew cached
            background (simulator banks); None keeps ``draw_background``.
        draw_background_spans: ``(rng, n) -> (background, disturbance spans)``; when given it
            replaces ``draw_background``, and each burst lands on a disturbance (onset 0.2 ms
            before to 1.5 ms after the disturbance's, at the reference rate) with probability
            ``on_disturbance_p``: real bursts overlap the machine's own transients.
        on_disturbance_p: See ``draw_background_spans``.
    """

    def __init__(
        self,
        name: str,
        draw_burst: BurstDraw,
        draw_background: BackgroundDraw,
        amplitude: Callable[[np.random.Generator], float] | None,
        classes: int,
        bursts_per_window: tuple[int, int],
        sample_rate_hz: float,
        augmentation: Augmentation,
        refresh: Callable[[np.random.Generator], BackgroundDraw] | None = None,
        draw_background_spans: SpannedBackgroundDraw | None = None,
        on_disturbance_p: float = 0.3,
    ) -> None:
        self.name = name
        self.draw_background_spans = draw_background_spans
        self.on_disturbance_p = on_disturbance_p
        self.refresh = refresh
        self.draw_burst = draw_burst
        self.draw_background = draw_background
        self.amplitude = amplitude
        self.classes = classes
        self.bursts_per_window = bursts_per_window
        self.sample_rate_hz = sample_rate_hz
        self.augmentation = augmentation

    def new_epoch(self, rng: np.random.Generator) -> None:
        """Renew cached background (simulator banks) at the start of an epoch or test set."""
        if self.refresh is not None:
            self.draw_background = self.refresh(rng)

    def _burst(self, rng: np.random.Generator, label: int) -> np.ndarray:
        aug = self.augmentation
        wave = np.asarray(self.draw_burst(rng, label), dtype=np.float64)
        if self.amplitude is not None:
            wave = wave * (self.amplitude(rng) / max(float(np.max(np.abs(wave))), 1e-30))
        if rng.random() < aug.gain_p:
            wave = wave * 10 ** (rng.uniform(-aug.gain_db, aug.gain_db) / 20)
        if rng.random() < aug.polarity_p:
            wave = -wave
        if rng.random() < aug.reverb_p:
            wave = reverberate(wave, reverb_impulse(rng, self.sample_rate_hz, aug.reverb_decay_us))
        return wave

    def draw(self, rng: np.random.Generator, n: int, channels: int) -> TrainingWindow:
        """Draw one mixed window (see class docstring)."""
        signal = np.empty((channels, n))
        events: list[LabelledBurst] = []
        guard = max(64, n // 512)
        scale = band_scale(self.sample_rate_hz)
        early, late = (
            int(200e-6 / scale * self.sample_rate_hz),
            int(1.5e-3 / scale * self.sample_rate_hz),
        )
        for ch in range(channels):
            spans: list[tuple[int, int]] = []
            if self.draw_background_spans is not None:
                signal[ch], spans = self.draw_background_spans(rng, n)
            else:
                signal[ch] = self.draw_background(rng, n)
            taken: list[tuple[int, int]] = []
            count = int(rng.integers(self.bursts_per_window[0], self.bursts_per_window[1] + 1))
            for _ in range(count):
                label = int(rng.integers(self.classes))
                wave = self._burst(rng, label)
                riding = bool(spans) and rng.random() < self.on_disturbance_p
                for _attempt in range(20):
                    if riding:
                        anchor = spans[int(rng.integers(len(spans)))][0]
                        onset = int(np.clip(anchor + rng.integers(-early, late + 1), 0, n - 8))
                    else:
                        onset = int(rng.integers(-wave.size // 2, n - 8))
                    end = onset + wave.size
                    if all(end + guard <= a or onset >= b + guard for a, b in taken):
                        break
                else:
                    continue  # window full: skip this burst
                taken.append((onset, end))
                lo, hi = max(onset, 0), min(end, n)
                signal[ch, lo:hi] += wave[lo - onset : hi - onset]
                events.append(LabelledBurst(onset, end, label, ch))
        events.sort()
        return TrainingWindow(signal, events)


class WindowGenerator:
    """Draw normalised training batches from weighted sources.

    Args:
        config: Model configuration (window, decimation, classes, normalisation).
        sources: Sources to draw from.
        window: Samples per window (defaults to ``training.window``).
        augmentation: TrainingWindow-level augmentation (added noise).
        weights: Relative probability of each source (equal by default).
    """

    def __init__(
        self,
        config: ModelConfig,
        sources: Sequence[WindowSource],
        window: int | None = None,
        augmentation: Augmentation = NO_AUGMENTATION,
        weights: Sequence[float] | None = None,
    ) -> None:
        if not sources:
            raise ConfigError("no training data sources")
        self.config = config
        self.sources = list(sources)
        self.window = window or config.training.window
        self.augmentation = augmentation
        w = np.asarray(weights if weights is not None else [1.0] * len(sources), dtype=float)
        self.weights = w / w.sum()
        self.params = config.normalization
        self.preroll = training_preroll(self.params)

    def new_epoch(self, rng: np.random.Generator) -> None:
        """Let every source renew its cached background."""
        for source in self.sources:
            source.new_epoch(rng)

    def raw(self, rng: np.random.Generator) -> TrainingWindow:
        """One raw (unnormalised) window with its events."""
        source = self.sources[int(rng.choice(len(self.sources), p=self.weights))]
        win = source.draw(rng, self.window + self.preroll, self.config.signal.channels)
        aug = self.augmentation
        if rng.random() < aug.noise_p:
            floor = np.median(np.abs(win.signal), axis=-1, keepdims=True) / 0.6745
            level = 10 ** (rng.uniform(*aug.noise_db) / 20)
            win.signal[...] += rng.standard_normal(win.signal.shape) * floor * level
        if not self.preroll:
            return win
        # the pre-whitener settles on the preroll, which is then dropped (as live, where the
        # filter has adapted long before): bursts keep their place relative to the window
        p = self.preroll
        signal = whiten_training_window(win.signal, self.params)
        events = [e._replace(onset=e.onset - p, end=e.end - p) for e in win.events if e.end > p]
        return TrainingWindow(signal, events)

    def batch(
        self, rng: np.random.Generator, size: int
    ) -> tuple[np.ndarray, np.ndarray, list[list[LabelledBurst]]]:
        """A batch: normalised float32 ``(B, C, N)``, map ``(B, E, M)`` and events per window."""
        xs, ys, evs = [], [], []
        classes = len(self.config.signal.classes)
        for _ in range(size):
            win = self.raw(rng)
            xs.append(normalize_window(win.signal, self.params))
            ys.append(binary_map(win.events, self.window, self.config.decimation, classes))
            evs.append(win.events)
        return np.stack(xs), np.stack(ys), evs
