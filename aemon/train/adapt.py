"""Self-training on a lab's own, unlabelled recordings (``aemon adapt``).

The thesis built its training data by mixing isolated real bursts into real background; this
module does that automatically from recordings nobody labelled:

1. **Harvest bursts.** Candidates are the neural events the current model finds with a high
   score (:data:`MODEL_SCORE`) and the hits of a conservative threshold detector
   (:data:`HIT_X_NOISE` × the noise RMS). A candidate is kept when its peak stands at least
   :data:`MIN_SNR_DB` above the noise RMS of the stretch before it and no other candidate
   lies within :data:`ISOLATION_S`. Its waveform runs from the onset until the envelope falls
   back to :data:`END_X_NOISE` × the noise RMS (at most :data:`MAX_BURST_S`).
2. **Harvest background.** Stretches with no candidate at a sensitive setting (the model at
   :data:`QUIET_SCORE`, hits at :data:`QUIET_X_NOISE` × RMS) within :data:`GUARD_S` of them.
   On an impulsive machine (bearing or gear impacts all the time, which the model may take
   for bursts) no such stretch may be a window long; then a channel's background is what
   lies outside the guard around the conservative hits (:data:`HIT_X_NOISE` × RMS) only, so
   the machine's own weaker transients are learnt as background (``background_rule``
   ``"below-hits"`` in the card instead of ``"quiet"``).
3. **Fine-tune** the model from its weights on windows that mix harvested bursts, scaled to
   random SNRs down to 0 dB, into harvested background (source ``adapt``), beside the
   simulator and randomised sources so it keeps what it knew.

Everything runs at the model's rate on volts; the live path finds the candidates
(:func:`~aemon.detect.signal_detection.detect_signal`), so what is harvested is what the
monitor would have seen.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from aemon.detect.factory import make_event_stream
from aemon.detect.onnx_runtime import OnnxDetector
from aemon.detect.options import DetectOptions
from aemon.detect.signal_detection import detect_signal
from aemon.dsp.normalization import noise_floor
from aemon.errors import ConfigError
from aemon.io.file_readers import open_block_reader, timeline
from aemon.train.data import Augmentation, MixSource
from aemon.train.data_sources import BackgroundBank
from aemon.train.labelled import match_rate
from aemon.types import ChannelInfo, Gap, StreamFormat

logger = logging.getLogger(__name__)

MODEL_SCORE = 0.9
HIT_X_NOISE = 8.0
MIN_SNR_DB = 20.0
ISOLATION_S = 2e-3
END_X_NOISE = 2.0
MAX_BURST_S = 3e-3
QUIET_SCORE = 0.3
QUIET_X_NOISE = 4.0
GUARD_S = 3e-3
NOISE_SPAN_S = 2e-3


@dataclass
class Harvest:
    """What was taken from the user's recordings.

    Attributes:
        bursts: Waveforms (V, model rate), onset at sample 0.
        labels: Class index of each burst (the model's type for it; the band for hits).
        snr_db: Peak over noise RMS of each burst as recorded (dB).
        background: Burst-free stretches (V, model rate).
        rate_hz: Model rate (Hz).
        seconds: Recording time searched (s).
        background_rules: How each channel's background was chosen: ``"quiet"`` or
            ``"below-hits"`` (see the module docstring).
    """

    bursts: list[npt.NDArray[np.float64]]
    labels: list[int]
    snr_db: list[float]
    background: list[npt.NDArray[np.float64]]
    rate_hz: float
    seconds: float
    background_rules: list[str] = field(default_factory=list)

    @property
    def background_s(self) -> float:
        """Seconds of background harvested (s)."""
        return sum(b.size for b in self.background) / self.rate_hz

    def summary(self) -> dict[str, float | int | str]:
        """Counts for the model card."""
        snr = np.asarray(self.snr_db) if self.snr_db else np.zeros(1)
        return {
            "bursts": len(self.bursts),
            "snr_db_min": round(float(snr.min()), 1),
            "snr_db_median": round(float(np.median(snr)), 1),
            "snr_db_max": round(float(snr.max()), 1),
            "background_s": round(self.background_s, 3),
            "searched_s": round(self.seconds, 3),
            "background_rule": ",".join(sorted(set(self.background_rules))) or "none",
        }


def read_volts(path: str | Path, rate_hz: float) -> npt.NDArray[np.float64]:
    """A recording as ``(channels, n)`` volts at ``rate_hz`` (gaps as zeros).

    Raises:
        ConfigError: A rate the model cannot be brought to.
    """
    reader = open_block_reader(path)
    try:
        fmt = reader.format
        n = reader.stop_sample - reader.first_sample
        x = np.zeros((fmt.channels, n))
        for item in timeline(reader, reader.first_sample, 1 << 20):
            if isinstance(item, Gap):
                continue
            first, block = item
            lo = first - reader.first_sample
            x[:, lo : lo + block.shape[1]] = block * fmt.volts_per_count
    finally:
        reader.close()
    return np.atleast_2d(match_rate(x, fmt.sample_rate_hz, rate_hz, str(path)))


def _neural_events(
    detector: OnnxDetector, x: npt.NDArray[np.float64], rate: float
) -> list[tuple[int, int, int, float]]:
    """(onset, channel, class, score) of every event the live neural stream finds."""
    return [
        (e.sample_index, e.channel, detector.card.classes.index(e.type), e.score)
        for e in detect_signal(detector, x, rate).events
        if e.type in detector.card.classes
    ]


def _hits(x: npt.NDArray[np.float64], rate: float, k: float) -> list[tuple[int, int, int]]:
    """(onset, channel, -1) of threshold hits at k × the running noise RMS."""
    fmt = StreamFormat(rate, x.shape[0], "float32", 1.0)
    channels = [ChannelInfo(f"ch{c}") for c in range(x.shape[0])]
    hits = make_event_stream(
        DetectOptions(detector="threshold", x_noise=k), fmt, channels, onnx=None
    )
    events = []
    for start in range(0, x.shape[1], 1 << 16):
        events += hits.push(start, x[:, start : start + (1 << 16)].astype(np.float32))
    events += hits.flush()
    return [(e.sample_index, e.channel, -1) for e in events]


def _candidates(
    neural: list[tuple[int, int, int, float]],
    x: npt.NDArray[np.float64],
    rate: float,
    score: float,
    k: float,
) -> list[tuple[int, int, int]]:
    """(onset, channel, class) of neural events scoring ≥ ``score`` and hits at k × RMS."""
    found = [(o, c, lab) for o, c, lab, sc in neural if sc >= score]
    return sorted(found + _hits(x, rate, k))


def harvest(
    detector: OnnxDetector, recordings: Sequence[str | Path], *, min_snr_db: float = MIN_SNR_DB
) -> Harvest:
    """Harvest isolated high-SNR bursts and burst-free background (see the module docstring)."""
    rate = detector.card.sample_rate_hz
    result = Harvest([], [], [], [], rate, 0.0)
    isolation, guard = int(ISOLATION_S * rate), int(GUARD_S * rate)
    span, longest = int(NOISE_SPAN_S * rate), int(MAX_BURST_S * rate)
    window = detector.card.window
    for path in recordings:
        x = read_volts(path, rate)
        result.seconds += x.shape[1] / rate
        neural = _neural_events(detector, x, rate)  # one pass of the model per recording
        confident = _candidates(neural, x, rate, MODEL_SCORE, HIT_X_NOISE)
        sensitive = _candidates(neural, x, rate, QUIET_SCORE, QUIET_X_NOISE)
        for ch in range(x.shape[0]):
            onsets = sorted({o for o, c, _ in confident if c == ch})
            labels = {o: lab for o, c, lab in confident if c == ch and lab >= 0}
            for i, onset in enumerate(onsets):
                near = [o for o in onsets[max(0, i - 1) : i + 2] if o != onset]
                if any(abs(o - onset) < isolation for o in near) or onset < span:
                    continue
                noise = float(noise_floor(x[ch, onset - span : onset]))
                wave = x[ch, onset : onset + longest]
                peak = float(np.max(np.abs(wave))) if wave.size else 0.0
                if noise <= 0 or 20 * np.log10(peak / noise) < min_snr_db:
                    continue
                loud = np.flatnonzero(np.abs(wave) > END_X_NOISE * noise)
                result.bursts.append(wave[: int(loud[-1]) + 1].copy())
                result.snr_db.append(float(20 * np.log10(peak / noise)))
                result.labels.append(labels.get(onset, _band_label(wave, rate)))
            quiet = _quiet_runs(x[ch], _busy(sensitive, ch, x.shape[1], guard, longest), window)
            rule = "quiet"
            if not quiet:  # an impulsive machine: only the conservative hits are kept out
                hits = [h for h in confident if h[2] == -1]  # the hits at HIT_X_NOISE
                quiet = _quiet_runs(x[ch], _busy(hits, ch, x.shape[1], guard, longest), window)
                rule = "below-hits"
                logger.warning(
                    "%s ch%d: no quiet stretch a window long; background is what lies "
                    "outside the hits at %g x the noise RMS (%.2f s)",
                    path, ch, HIT_X_NOISE, sum(q.size for q in quiet) / rate,
                )  # fmt: skip
            result.background += quiet
            result.background_rules.append(rule)
    logger.info("harvest: %s", result.summary())
    return result


def _busy(
    candidates: list[tuple[int, int, int]], channel: int, n: int, guard: int, longest: int
) -> npt.NDArray[np.bool_]:
    """Samples within ``guard`` of a candidate of ``channel`` (a candidate spans ``longest``)."""
    busy = np.zeros(n, bool)
    for onset, c, _ in candidates:
        if c == channel:
            busy[max(0, onset - guard) : onset + longest + guard] = True
    return busy


def _quiet_runs(
    x: npt.NDArray[np.float64], busy: npt.NDArray[np.bool_], shortest: int
) -> list[npt.NDArray[np.float64]]:
    edges = np.flatnonzero(np.diff(np.concatenate(([1], busy.astype(np.int8), [1]))))
    runs = zip(edges[::2], edges[1::2], strict=True)
    return [x[a:b].copy() for a, b in runs if b - a >= shortest]


def _band_label(wave: npt.NDArray[np.float64], rate: float) -> int:
    """Class of a hit the model did not type: 1 (high) above 300 kHz × rate/1.5625 MHz."""
    spectrum = np.abs(np.fft.rfft(wave)) ** 2
    freqs = np.fft.rfftfreq(wave.size, 1 / rate)
    centroid = float(np.sum(freqs * spectrum) / max(np.sum(spectrum), 1e-300))
    return int(centroid > 300e3 * rate / 1_562_500.0)


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
