"""Bursts and background from a lab's own, unlabelled recordings (``aemon adapt``).

1. **Harvest bursts.** Candidates are the neural events the current model finds with a high
   score (:data:`MODEL_SCORE`) and the hits of a conservative threshold detector
   (:data:`HIT_X_NOISE` × the noise RMS). A candidate is kept when its peak stands at least
   ``min_snr_db`` above the noise RMS of the stretch before it (by default
   :data:`MIN_SNR_DB`; site learning raises it above the loudest transients of the machine's
   background) and no other candidate lies within :data:`ISOLATION_S` before it (the earlier
   one would still ring under its onset). Candidates within :data:`SAME_BURST_S` of each other
   are one burst that both detectors saw. Its waveform runs from the onset until the envelope
   falls back to :data:`END_X_NOISE` × the noise RMS, at most :data:`MAX_BURST_S`, and stops
   :data:`GUARD_S` short of the next candidate, and where its envelope climbs back to near its
   peak after decaying (a second burst no detector separated), so a busy recording gives its
   bursts one at a time instead of overlapping pairs; one left shorter than
   :data:`MIN_BURST_S` is skipped. So is an electrical glitch (a spike of a few samples that
   the threshold hits see): a candidate whose envelope stays above :data:`GLITCH_X_NOISE` ×
   the noise RMS for less than :data:`MIN_RING_S` around its peak. A burst loud enough to
   harvest rings longer, and a background full of spikes would otherwise hand its spikes in as
   the site's bursts.
2. **Harvest background.** Stretches with no candidate at a sensitive setting (the model at
   :data:`QUIET_SCORE`, hits at :data:`QUIET_X_NOISE` × RMS) within :data:`GUARD_S` of them.
   On an impulsive machine no such stretch may be a window long; then a channel's background
   is what lies outside the guard around the conservative hits only, so the machine's own
   weaker transients are learnt as background (``background_rule`` ``"below-hits"`` in the
   card instead of ``"quiet"``).

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

from aemon.detect.backend import Detector
from aemon.detect.factory import make_hit_stream
from aemon.detect.options import DetectOptions
from aemon.detect.runner import DetectionRunner, HitList
from aemon.detect.signal_detection import detect_signal
from aemon.dsp.normalization import noise_floor
from aemon.errors import ConfigError
from aemon.io.file_readers import open_block_reader, read_volts
from aemon.train.labelled import match_rate
from aemon.types import ChannelInfo, StreamFormat

logger = logging.getLogger(__name__)

__all__ = ["Harvest", "harvest", "no_bursts_error", "recording_volts", "threshold_hit_onsets"]

MODEL_SCORE = 0.9
HIT_X_NOISE = 8.0
MIN_SNR_DB = 20.0
ISOLATION_S = 2e-3
SAME_BURST_S = 0.25e-3
END_X_NOISE = 2.0
MAX_BURST_S = 3e-3
MIN_BURST_S = 0.2e-3
ENVELOPE_S = 10e-6
RISE_AGAIN_DB = 12.0
RISE_AGAIN_OF_PEAK_DB = 6.0
MIN_RING_S = 15e-6
GLITCH_X_NOISE = 3.0
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
        onset_s: Where each burst starts in its recording (s from the recording's start).
        skipped_overlapping: Candidates skipped because another one rang under their onset
            or followed too closely.
        skipped_glitches: Candidates skipped as electrical glitches (see ``_is_glitch``).
    """

    bursts: list[npt.NDArray[np.float64]]
    labels: list[int]
    snr_db: list[float]
    background: list[npt.NDArray[np.float64]]
    rate_hz: float
    seconds: float
    background_rules: list[str] = field(default_factory=list)
    onset_s: list[float] = field(default_factory=list)
    skipped_overlapping: int = 0
    skipped_glitches: int = 0

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
            "skipped_overlapping": self.skipped_overlapping,
            "skipped_glitches": self.skipped_glitches,
        }


def recording_volts(path: str | Path, rate_hz: float) -> npt.NDArray[np.float64]:
    """A recording as ``(channels, n)`` volts at ``rate_hz`` (gaps left out).

    Raises:
        ConfigError: A rate the model cannot be brought to (the message names both rates).
    """
    reader = open_block_reader(path)
    try:
        rate = reader.format.sample_rate_hz
        x = read_volts(reader)
    finally:
        reader.close()
    return np.atleast_2d(match_rate(x, rate, rate_hz, str(path)))


def threshold_hit_onsets(
    x: npt.NDArray[np.float64], rate: float, k: float
) -> list[tuple[int, int, int]]:
    """(onset, channel, -1) of threshold hits at k × the running noise RMS."""
    fmt = StreamFormat(rate, x.shape[0], "float32", 1.0)
    channels = [ChannelInfo(f"ch{c}") for c in range(x.shape[0])]
    hits = make_hit_stream(DetectOptions(detector="threshold", x_noise=k), fmt, channels, onnx=None)
    events, step = HitList(), 1 << 16
    blocks = ((s, x[:, s : s + step].astype(np.float32)) for s in range(0, x.shape[1], step))
    DetectionRunner(hits, [events], first_sample=0, sample_rate_hz=rate).run(blocks)
    return [(e.sample_index, e.channel, -1) for e in events]


def harvest(
    detector: Detector, recordings: Sequence[str | Path], *, min_snr_db: float = MIN_SNR_DB
) -> Harvest:
    """Harvest isolated high-SNR bursts and burst-free background (see the module docstring)."""
    rate = detector.card.sample_rate_hz
    result = Harvest([], [], [], [], rate, 0.0)
    for path in recordings:
        x = recording_volts(path, rate)
        result.seconds += x.shape[1] / rate
        neural = [
            (e.sample_index, e.channel, detector.card.classes.index(e.type), e.score)
            for e in detect_signal(detector, x, rate).events
            if e.type in detector.card.classes
        ]  # one pass of the model per recording
        confident = sorted([(o, c, lab) for o, c, lab, s in neural if s >= MODEL_SCORE]
                           + threshold_hit_onsets(x, rate, HIT_X_NOISE))  # fmt: skip
        sensitive = sorted([(o, c, lab) for o, c, lab, s in neural if s >= QUIET_SCORE]
                           + threshold_hit_onsets(x, rate, QUIET_X_NOISE))  # fmt: skip
        for ch in range(x.shape[0]):
            _bursts_of_channel(result, x[ch], confident, ch, min_snr_db)
            _background_of_channel(result, x[ch], path, confident, sensitive, ch,
                                   detector.card.window)  # fmt: skip
    logger.info("harvest: %s", result.summary())
    return result


def _bursts_of_channel(
    result: Harvest,
    x: npt.NDArray[np.float64],
    candidates: list[tuple[int, int, int]],
    ch: int,
    min_snr_db: float,
) -> None:
    rate = result.rate_hz
    isolation, guard = int(ISOLATION_S * rate), int(GUARD_S * rate)
    span, longest, shortest = (
        int(NOISE_SPAN_S * rate),
        int(MAX_BURST_S * rate),
        int(MIN_BURST_S * rate),
    )
    groups = _same_bursts(sorted({(o, lab) for o, c, lab in candidates if c == ch}), rate)
    for i, group in enumerate(groups):
        onset = group[0][0]
        if i > 0 and onset - groups[i - 1][-1][0] < isolation:
            result.skipped_overlapping += 1
            continue
        if onset < span:
            continue
        noise = float(noise_floor(x[onset - span : onset]))
        room = (
            longest
            if i + 1 == len(groups)
            else min(longest, groups[i + 1][0][0] - onset - guard // 8)
        )
        wave = x[onset : onset + max(room, 0)]
        peak = float(np.max(np.abs(wave))) if wave.size else 0.0
        if noise <= 0 or peak <= 0 or 20 * np.log10(peak / noise) < min_snr_db:
            continue
        envelope = _envelope(wave, rate)
        if _is_glitch(envelope, noise, rate):
            result.skipped_glitches += 1
            continue
        wave = wave[: _second_onset(envelope, shortest)]
        loud = np.flatnonzero(np.abs(wave) > END_X_NOISE * noise)
        wave = wave[: int(loud[-1]) + 1]
        if wave.size < shortest:
            result.skipped_overlapping += 1
            continue
        result.bursts.append(wave.copy())
        result.snr_db.append(float(20 * np.log10(peak / noise)))
        label = next((lab for _, lab in group if lab >= 0), -1)  # the model's type, if it saw it
        result.labels.append(label if label >= 0 else _band_label(wave, rate))
        result.onset_s.append(onset / rate)


def _envelope(wave: npt.NDArray[np.float64], rate: float) -> npt.NDArray[np.float64]:
    """Mean absolute value of ``wave`` over :data:`ENVELOPE_S` around each sample."""
    width = max(1, int(ENVELOPE_S * rate))
    return np.convolve(np.abs(wave), np.ones(width) / width, mode="same")


def _is_glitch(envelope: npt.NDArray[np.float64], noise: float, rate: float) -> bool:
    """Whether a candidate is an electrical glitch rather than a burst: its ``envelope``
    (:func:`_envelope`) stays above :data:`GLITCH_X_NOISE` × the noise RMS (V) for less than
    :data:`MIN_RING_S` around its peak. A spike of a few samples stays there only about one
    envelope width; the shortest bursts ring for tens of µs."""
    peak = int(np.argmax(envelope))
    below = np.flatnonzero(envelope < GLITCH_X_NOISE * noise)
    start = int(below[below < peak].max()) + 1 if np.any(below < peak) else 0
    stop = int(below[below > peak].min()) if np.any(below > peak) else envelope.size
    return stop - start < MIN_RING_S * rate


def _same_bursts(candidates: list[tuple[int, int]], rate: float) -> list[list[tuple[int, int]]]:
    """``(onset, label)`` candidates of one channel, sorted, grouped into bursts: a candidate
    within :data:`SAME_BURST_S` of its group's first onset is the same burst seen by another
    detector (the model's onset and a threshold crossing a few µs apart), not a second one."""
    same = SAME_BURST_S * rate
    groups: list[list[tuple[int, int]]] = []
    for onset, label in candidates:
        if groups and onset - groups[-1][0][0] <= same:
            groups[-1].append((onset, label))
        else:
            groups.append([(onset, label)])
    return groups


def _second_onset(envelope: npt.NDArray[np.float64], own: int) -> int:
    """Where a second burst starts inside a wave (its length if none): its ``envelope``
    (:func:`_envelope`), after the peak, climbs :data:`RISE_AGAIN_DB` over its lowest point
    since and back to within :data:`RISE_AGAIN_OF_PEAK_DB` of the peak. Cut at that lowest
    point. A reflection arrives weaker and is kept; an overlapping burst that no detector
    separated is not. The first ``own`` samples are the burst's own (modes beating and early
    reflections dip and swell there): no cut before them."""
    peak = int(np.argmax(envelope))
    after = envelope[peak:]
    lowest = np.minimum.accumulate(after)
    again = (after > lowest * 10 ** (RISE_AGAIN_DB / 20)) & (
        after > envelope[peak] * 10 ** (-RISE_AGAIN_OF_PEAK_DB / 20)
    )
    start = max(own - peak, 0)
    again[:start] = False
    if not again.any():
        return envelope.size
    first = int(np.argmax(again))
    return peak + start + int(np.argmin(after[start : first + 1]))


def _background_of_channel(
    result: Harvest,
    x: npt.NDArray[np.float64],
    path: str | Path,
    confident: list[tuple[int, int, int]],
    sensitive: list[tuple[int, int, int]],
    ch: int,
    window: int,
) -> None:
    rate = result.rate_hz
    guard, longest = int(GUARD_S * rate), int(MAX_BURST_S * rate)
    quiet = _quiet_runs(x, _busy(sensitive, ch, x.size, guard, longest), window)
    rule = "quiet"
    if not quiet:  # an impulsive machine: only the conservative hits are kept out
        hits = [h for h in confident if h[2] == -1]  # the hits at HIT_X_NOISE
        quiet = _quiet_runs(x, _busy(hits, ch, x.size, guard, longest), window)
        rule = "below-hits"
        logger.warning(
            "%s ch%d: no quiet stretch a window long; background is what lies outside the "
            "hits at %g x the noise RMS (%.2f s)",
            path, ch, HIT_X_NOISE, sum(q.size for q in quiet) / rate,
        )  # fmt: skip
    result.background += quiet
    result.background_rules.append(rule)


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


def no_bursts_error(min_snr_db: float) -> ConfigError:
    """The one-line refusal when nothing was harvested."""
    return ConfigError(
        f"aemon adapt found no isolated burst at least {min_snr_db:.0f} dB above the noise; "
        "give recordings with clear bursts (a pencil-lead-break check)"
    )
