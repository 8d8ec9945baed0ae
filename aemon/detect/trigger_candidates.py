"""Trigger candidates: bursts the network did not propose, for the site classifier to judge.

The network misses some bursts that a conventional trigger sees: bursts buried in a rub or in
band-limited noise that it scores under the candidate probability. Where a site classifier
judges the candidates, a recursive STA/LTA (the classic seismic and AE trigger: the
short-term over the long-term mean of the squared, high-passed signal, as ObsPy's
``recursive_sta_lta``) proposes more of them, and only where the network proposed nothing:
no run of its map (at the candidate probability) starts from :data:`COVER_S` before the
trigger's onset to :data:`COVER_S` after it. A burst inside a longer run (a rub's) is still
proposed. The classifier, trained on the same mix of candidates, decides.

The STA/LTA runs on the **pre-whitened** signal (:class:`~aemon.dsp.whitening.PreWhitener`,
the network's own whitening, adapted per channel and frozen while an event is on): in
coloured noise (pink, band-limited, a resonant sensor's ringing) a raw trigger is either deaf
or fires on the noise's own peaks, while whitened noise has one level across the band. At ratio
2 on the 2 s low-SNR files (3-10 dB) of ``bench/bench_generalisation.py``, together with the
network's candidates from 0.1, whitened triggers reach 0.51 of the ``ar_bandpass`` bursts and
0.93 of the resonant sensor's, against 0.25 and 0.64 for raw triggers at ratio 3, and propose
76 candidates in the resonant sensor's 2 s of background instead of 1320. Classifiers learnt
before this carry ``whitened=False`` (:class:`~aemon.detect.trigger_setting.Triggers`) and
keep the raw triggers they learnt.

:class:`TriggerCandidates` runs per channel on the raw blocks (``push``), holds each trigger
until the probability map has covered its surroundings, then returns it as a
:class:`~aemon.events.hit.Detection` scored by the map's peak over its span (``judge``).
Everything is streaming: the result does not depend on how the stream is cut into blocks.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.detect.probability_map import ProbabilityChunk
from aemon.detect.trigger_setting import Triggers
from aemon.dsp.whitening import PreWhitener
from aemon.events.hit import Detection

logger = logging.getLogger(__name__)

__all__ = ["COVER_S", "TriggerCandidates", "sta_lta"]

STA_S = 20e-6
"""Short-term averaging time (s)."""
LTA_S = 2e-3
"""Long-term averaging time (s)."""
HIGHPASS_HZ = 20e3
"""High-pass corner (Hz) of the triggered signal: the AE band's lower edge (at most a tenth
of the rate)."""
COVER_S = 300e-6
"""A trigger is proposed only where the network's map stays under the candidate probability
this long (s) before and after its onset."""
REARM_S = 200e-6
"""Dead time (s) after a trigger closes before the next can open."""
MAX_SPAN_S = 2e-3
"""Longest span (s) a trigger candidate is given (its features are measured over it)."""
WARMUP_S = 2 * LTA_S
"""Time (s) after the start of the stream or a gap before triggers may open (the long-term
mean settles)."""


class _Trigger(NamedTuple):
    channel: int
    onset: int
    stop: int | None  # None while the trigger is still open


def sta_lta(
    x: npt.NDArray[np.float64], sta: int, lta: int, state: npt.NDArray[np.float64] | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Recursive STA/LTA of one channel's squared samples; returns ``(ratio, state)``.

    Args:
        x: High-passed samples of one channel.
        sta: Short-term averaging length (samples).
        lta: Long-term averaging length (samples).
        state: The ``(2,)`` state a previous call returned (None at the start).
    """
    import scipy.signal  # not at import: it costs `aemon detect` a second at startup

    power = np.square(x)
    zi = np.zeros(2) if state is None else state
    short, zs = scipy.signal.lfilter([1.0 / sta], [1.0, 1.0 / sta - 1.0], power, zi=zi[:1])
    long_, zl = scipy.signal.lfilter([1.0 / lta], [1.0, 1.0 / lta - 1.0], power, zi=zi[1:])
    ratio = np.asarray(short) / np.maximum(np.asarray(long_), 1e-300)
    return ratio, np.concatenate([zs, zl])


class TriggerCandidates:
    """STA/LTA triggers per channel, proposed where the network's map shows nothing.

    Args:
        channels: Channels of the stream.
        sample_rate_hz: Rate of the raw samples (Hz).
        triggers: Ratio, and raw or whitened signal.
        candidate_probability: The network probability at which it proposes candidates.
        group_of_channel: The map row of each channel (one per channel, or all 0 for a
            model that sees every channel).
        kind: Event class the candidates are given (the model's first).
        first_sample: Absolute index of the first raw sample.
    """

    def __init__(
        self,
        channels: int,
        sample_rate_hz: float,
        triggers: Triggers,
        candidate_probability: float,
        group_of_channel: list[int],
        kind: str,
        first_sample: int = 0,
    ) -> None:
        self.rate, self.ratio, self.on = sample_rate_hz, triggers.ratio, candidate_probability
        self._whitener = PreWhitener(channels) if triggers.whitened else None
        self.groups, self.kind = group_of_channel, kind
        self._channels = channels
        self._sta = max(2, round(STA_S * sample_rate_hz))
        self._lta = max(self._sta + 1, round(LTA_S * sample_rate_hz))
        self._cover = max(1, round(COVER_S * sample_rate_hz))
        self._rearm = round(REARM_S * sample_rate_hz)
        self._max_span = max(1, round(MAX_SPAN_S * sample_rate_hz))
        import scipy.signal  # not at import: it costs `aemon detect` a second at startup

        corner = min(HIGHPASS_HZ, 0.1 * sample_rate_hz)
        self._sos = scipy.signal.butter(4, corner, "highpass", fs=sample_rate_hz, output="sos")
        self._restart(first_sample)

    def _restart(self, first_sample: int) -> None:
        """Forget everything; triggers may open again after the warm-up."""
        if self._whitener is not None:
            self._whitener.reset()
        self._filter = [np.zeros((self._sos.shape[0], 2)) for _ in range(self._channels)]
        self._ratio_state: list[npt.NDArray[np.float64] | None] = [None] * self._channels
        self._open: list[int | None] = [None] * self._channels
        self._armed = [first_sample + round(WARMUP_S * self.rate)] * self._channels
        self._pending: list[_Trigger] = []
        self._map_first: int | None = None  # absolute sample of the held map tail's first bin
        self._map: npt.NDArray[np.float64] = np.zeros((max(self.groups, default=0) + 1, 0))
        self._bin = 1

    @property
    def earliest_pending(self) -> int | None:
        """Onset of the earliest trigger not yet judged (None when none)."""
        return min((t.onset for t in self._pending), default=None)

    def push(self, first_sample: int, block: npt.NDArray[np.generic]) -> None:
        """Scan a raw ``(channels, n)`` block for triggers (any units: the ratio is scale-free)."""
        import scipy.signal

        # the whitener takes the block as it comes (float32 out; sosfilt returns float64)
        white = self._whitener
        x = np.asarray(block, np.float64) if white is None else white.process(block)
        for ch in range(self._channels):
            filtered, self._filter[ch] = scipy.signal.sosfilt(self._sos, x[ch], zi=self._filter[ch])
            ratio, self._ratio_state[ch] = sta_lta(
                filtered, self._sta, self._lta, self._ratio_state[ch]
            )
            self._scan(ch, first_sample, ratio)

    def _scan(self, ch: int, first: int, ratio: npt.NDArray[np.float64]) -> None:
        """Open and close the triggers of one channel in a block's ratio."""
        ups = np.flatnonzero(ratio > self.ratio)
        downs = np.flatnonzero(ratio < 0.5 * self.ratio)
        pos = 0
        while pos < ratio.size:
            opened = self._open[ch]
            if opened is None:
                start = max(pos, self._armed[ch] - first)
                i = int(np.searchsorted(ups, start))
                if i >= ups.size:
                    return
                onset = first + int(ups[i])
                self._open[ch] = onset
                self._pending.append(_Trigger(ch, onset, None))
                pos = int(ups[i]) + 1
            else:
                j = int(np.searchsorted(downs, pos))
                if j >= downs.size:
                    return
                stop = first + int(downs[j])
                self._close(ch, opened, stop)
                pos = int(downs[j]) + 1

    def _close(self, ch: int, onset: int, stop: int) -> None:
        self._open[ch] = None
        self._armed[ch] = stop + self._rearm
        self._pending = [
            t._replace(stop=stop) if t.channel == ch and t.onset == onset and t.stop is None
            else t
            for t in self._pending
        ]  # fmt: skip

    def judge(self, chunk: ProbabilityChunk) -> list[Detection]:
        """Add a stretch of the map; return the triggers it now shows no candidate around."""
        events = np.asarray(chunk.probabilities, dtype=np.float64).max(axis=1)  # (groups, bins)
        self._bin = chunk.bin_samples
        if self._map_first is None or self._map_first + self._map.shape[1] * self._bin != (
            chunk.first_bin_sample
        ):
            self._map_first, self._map = chunk.first_bin_sample, events
        else:
            self._map = np.concatenate([self._map, events], axis=1)
        end = self._map_first + self._map.shape[1] * self._bin
        out = self._ready(end)
        keep_from = end - 2 * self._cover - self._max_span - self._bin  # the next ones' span
        drop = max(0, (keep_from - self._map_first) // self._bin)
        if drop:
            self._map, self._map_first = self._map[:, drop:], self._map_first + drop * self._bin
        return out

    def flush(self) -> list[Detection]:
        """End of stream: judge what the map covers of the triggers still held."""
        if self._map_first is None:
            self._pending = []
            return []
        end = self._map_first + self._map.shape[1] * self._bin
        self._pending = [t._replace(stop=t.stop or min(end, t.onset + self._max_span))
                         for t in self._pending]  # fmt: skip
        return self._ready(end, final=True)

    def gap(self, restart_sample: int) -> None:
        """Missing samples: the triggers held are dropped, and new ones wait for the warm-up
        after ``restart_sample``."""
        self._restart(restart_sample)

    def _ready(self, end: int, final: bool = False) -> list[Detection]:
        """The held triggers whose surroundings the map up to ``end`` covers, judged."""
        out: list[Detection] = []
        held: list[_Trigger] = []
        for t in self._pending:
            stop = t.stop
            if stop is None and end >= t.onset + self._max_span:
                stop = t.onset + self._max_span  # still open: its span is capped
            covered = end >= max(t.onset + self._cover, (stop or end + 1))
            if not covered and not final:
                held.append(t)
                continue
            if stop is None:
                continue
            stop = min(stop, t.onset + self._max_span)
            detection = self._judged(t.channel, t.onset, max(stop, t.onset + 1))
            if detection is not None:
                out.append(detection)
        self._pending = held
        return out

    def _judged(self, ch: int, onset: int, stop: int) -> Detection | None:
        """The trigger as a detection, or None where a network run starts near it (a burst
        inside a longer run, a rub's, is still proposed)."""
        assert self._map_first is not None
        row = self._map[self.groups[ch]]
        lo = max(0, (onset - self._cover - self._map_first) // self._bin)
        hi = max(lo, -(-(onset + self._cover - self._map_first) // self._bin))
        above = row[max(0, lo - 1) : hi] >= self.on  # with the bin before, where held
        if lo == 0:
            above = np.concatenate([[False], above])
        if np.any(above[1:] & ~above[:-1]):  # a run starts here
            return None
        a = max(0, (onset - self._map_first) // self._bin)
        b = max(a + 1, -(-(stop - self._map_first) // self._bin))
        score = float(row[a:b].max()) if row[a:b].size else 0.0
        return Detection(ch, self.kind, onset, stop, score)
