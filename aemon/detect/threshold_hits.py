"""Conventional AE hit detector (threshold, HDT, HLT, PDT, maximum duration), streaming.

What an AE system does in hardware (design.md §3, Vallen/MISTRAS practice), per channel:

- A hit **opens** at the first sample with ``|x| >= threshold`` once the channel is armed.
- The **peak** is updated while a larger ``|x|`` arrives within the peak definition time
  (PDT) of the current peak; a bigger maximum after the PDT has run out changes neither the
  peak amplitude nor the rise time.
- The hit **closes** when no threshold crossing occurred for the hit definition time (HDT,
  Vallen: duration discrimination time): crossings at most HDT apart belong to one hit. It
  ends at its last crossing (``stop_sample`` is one past it).
- The channel is then **locked** for the hit lockout time (HLT, rearm time), counted from the
  end of the HDT; crossings during the lockout are ignored.
- A hit that lasts the **maximum duration** is ended there (``truncated``); the next crossing
  opens a continuation hit without lockout.

The threshold is fixed in dBAE at the sensor, or a multiple of the noise RMS. The noise RMS is
``median(|x|)/0.6745`` per frame of ``noise_frame_s`` (frames aligned to the stream start),
smoothed in the log domain with ``noise_time_constant_s``; samples of frame k are compared
with the estimate of frames before k (frame 0 with its own). So the hits do not depend on
how the stream is cut into blocks, and scaling the input does not change them.

The scan is a numba kernel over ``(channels, n)`` int16/float32 blocks in stream units.
:class:`HitDetector` keeps the state between blocks (a hit spanning blocks is one hit):
``push(first_sample, block) -> list[ThresholdHit]`` and ``flush()``. To get full events with
features
use :class:`aemon.detect.threshold_hit_stream.ThresholdHitStream` or
:func:`aemon.detect.threshold_hit_stream.threshold_hits_to_hits`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from aemon.dsp.normalization import noise_floor
from aemon.errors import ConfigError
from aemon.events.features import dbae_to_volts
from aemon.events.hit import Detection, us_to_samples
from aemon.types import ChannelInfo, StreamFormat

logger = logging.getLogger(__name__)

_STATE_FIELDS = 5  # in_hit, start, last_crossing, peak_sample, armed_from
_ARMED = np.iinfo(np.int64).min // 2  # "armed since forever"
_NOISE_SUBSAMPLE = 4  # the median of every 4th sample of a frame estimates its noise


class HitDetectorConfig(NamedTuple):
    """Settings of the conventional hit detector.

    Attributes:
        threshold_dbae: Fixed threshold (dBAE at the sensor); used when
            ``threshold_x_noise`` is None.
        threshold_x_noise: Threshold as a multiple of the noise RMS; takes precedence.
        hdt_us: Hit definition time (µs).
        hlt_us: Hit lockout (rearm) time after the HDT (µs).
        pdt_us: Peak definition time (µs).
        max_duration_us: Longest hit (µs); longer ones are split.
        noise_frame_s: Frame length (s) of the noise RMS estimate (×noise mode).
        noise_time_constant_s: Smoothing time constant (s) of the noise RMS estimate.
    """

    threshold_dbae: float | None = 40.0
    threshold_x_noise: float | None = None
    hdt_us: float = 200.0
    hlt_us: float = 300.0
    pdt_us: float = 50.0
    max_duration_us: float = 50_000.0
    noise_frame_s: float = 0.04
    noise_time_constant_s: float = 1.0

    def check(self) -> None:
        """Raise :class:`ConfigError` for impossible settings."""
        if self.threshold_x_noise is None and self.threshold_dbae is None:
            raise ConfigError("hit detector needs threshold_dbae or threshold_x_noise")
        if self.threshold_x_noise is not None and not self.threshold_x_noise > 0:
            raise ConfigError(f"threshold × noise must be > 0, got {self.threshold_x_noise}")
        times = (self.hdt_us, self.hlt_us, self.pdt_us)
        if not all(t >= 0 and math.isfinite(t) for t in times) or not self.max_duration_us > 0:
            raise ConfigError(
                "HDT, HLT and PDT must be >= 0 µs and the maximum duration > 0 µs; got "
                f"{self.hdt_us}, {self.hlt_us}, {self.pdt_us}, {self.max_duration_us}"
            )
        if not (self.noise_frame_s > 0 and self.noise_time_constant_s > 0):
            raise ConfigError("noise_frame_s and noise_time_constant_s must be > 0")


class ThresholdHit(NamedTuple):
    """One conventional hit.

    Attributes:
        channel: Channel index (0-based).
        start_sample: Absolute index of the first threshold crossing.
        stop_sample: Absolute index one past the last threshold crossing.
        peak_sample: Absolute index of the peak (within the PDT rule).
        peak_V: Peak ``|x|`` (V at the sensor).
        threshold_V: Threshold in force (V at the sensor).
        truncated: True if the hit was ended by the maximum duration.
    """

    channel: int
    start_sample: int
    stop_sample: int
    peak_sample: int
    peak_V: float  # noqa: N815 (unit in the name)
    threshold_V: float  # noqa: N815
    truncated: bool

    def detection(self, kind: str = "hit", score: float = 1.0) -> Detection:
        """The hit as a :class:`~aemon.events.hit.Detection` (threshold hits have score 1)."""
        return Detection(self.channel, kind, self.start_sample, self.stop_sample, score)

    def window(self, length: int, pretrigger: int) -> tuple[int, int]:
        """Absolute ``[start, stop)`` of a ``length``-sample window starting ``pretrigger``
        samples before the hit (e.g. the input of a cascade classifier)."""
        start = self.start_sample - pretrigger
        return start, start + length


@numba.njit(cache=True, nogil=True)
def _scan(
    x: npt.NDArray[np.generic],
    first: int,
    thr: npt.NDArray[np.float64],
    hdt: int,
    hlt: int,
    pdt: int,
    maxdur: int,
    state: npt.NDArray[np.int64],
    peak_v: npt.NDArray[np.float64],
    out: npt.NDArray[np.int64],
    out_peak: npt.NDArray[np.float64],
) -> int:
    """Scan ``x`` (C, n) from absolute index ``first``; returns the number of hits in ``out``."""
    count = 0
    for c in range(x.shape[0]):
        in_hit, start, last, peak_s, armed = (
            state[c, 0],
            state[c, 1],
            state[c, 2],
            state[c, 3],
            state[c, 4],
        )
        pv = peak_v[c]
        th = thr[c]
        for i in range(x.shape[1]):
            t = first + i
            v = abs(float(x[c, i]))
            if in_hit:
                closed = t - last > hdt
                if closed or t - start >= maxdur:
                    out[count, 0] = c
                    out[count, 1] = start
                    out[count, 2] = last + 1
                    out[count, 3] = peak_s
                    out[count, 4] = 0 if closed else 1
                    out_peak[count] = pv
                    count += 1
                    in_hit = 0
                    armed = t + hlt if closed else t
            if in_hit:
                if v >= th:
                    last = t
                if v > pv and t - peak_s <= pdt:
                    pv = v
                    peak_s = t
            elif v >= th and t >= armed:
                in_hit, start, last, peak_s, pv = 1, t, t, t, v
        state[c, 0], state[c, 1], state[c, 2], state[c, 3], state[c, 4] = (
            in_hit,
            start,
            last,
            peak_s,
            armed,
        )
        peak_v[c] = pv
    return count


def _scale(value: float | Sequence[float], channels: int, what: str) -> npt.NDArray[np.float64]:
    arr = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if arr.size == 1:
        return np.full(channels, float(arr[0]))
    if arr.size != channels:
        raise ConfigError(f"{arr.size} values of {what} given for {channels} channels")
    return arr


class HitDetector:
    """Streaming conventional hit detector for a ``(channels, n)`` sample stream.

    Args:
        config: Thresholds and times.
        sample_rate_hz: Sample rate (Hz).
        channels: Number of channels.
        volts_per_count: Stream unit → volts at the ADC input (scalar or per channel).
        gain_db: Preamplifier gain (dB) between sensor and ADC (scalar or per channel); the
            dBAE threshold and the reported volts refer to the sensor.
    """

    def __init__(
        self,
        config: HitDetectorConfig,
        sample_rate_hz: float,
        channels: int,
        *,
        volts_per_count: float | Sequence[float] = 1.0,
        gain_db: float | Sequence[float] = 0.0,
    ) -> None:
        config.check()
        if not sample_rate_hz > 0 or channels < 1:
            raise ConfigError("hit detector needs a positive sample rate and >= 1 channel")
        self.config = config
        self.sample_rate_hz = float(sample_rate_hz)
        self.channels = channels
        gain = _scale(gain_db, channels, "gain_db")
        self._to_volts = _scale(volts_per_count, channels, "volts_per_count") / 10 ** (gain / 20)
        self._times = tuple(
            us_to_samples(us, sample_rate_hz)
            for us in (config.hdt_us, config.hlt_us, config.pdt_us)
        )
        self._maxdur = max(1, us_to_samples(config.max_duration_us, sample_rate_hz))
        self._frame = max(16, round(config.noise_frame_s * sample_rate_hz))
        self._weight = 1.0 - math.exp(-self._frame / sample_rate_hz / config.noise_time_constant_s)
        self._buffer = np.zeros((channels, self._frame))
        self._fill = 0
        self._log_noise: npt.NDArray[np.float64] | None = None
        self._thr = np.full(channels, np.inf)
        if config.threshold_x_noise is None:
            self._thr = dbae_to_volts(float(config.threshold_dbae or 0.0)) / self._to_volts
        self._state = np.zeros((channels, _STATE_FIELDS), dtype=np.int64)
        self._state[:, 4] = _ARMED
        self._peak = np.zeros(channels)
        self._next: int | None = None

    @classmethod
    def for_stream(
        cls, config: HitDetectorConfig, fmt: StreamFormat, channel_info: Sequence[ChannelInfo] = ()
    ) -> HitDetector:
        """A detector for a stream (rate, channels, volts per count; gains from channel_info)."""
        gains = [ch.gain_db for ch in channel_info] or [0.0]
        return cls(
            config,
            fmt.sample_rate_hz,
            fmt.channels,
            volts_per_count=fmt.volts_per_count,
            gain_db=gains,
        )

    @property
    def noise_rms_v(self) -> npt.NDArray[np.float64] | None:
        """Current noise RMS estimate per channel (V at the sensor); None before the first
        frame or in dBAE mode."""
        return None if self._log_noise is None else np.exp(self._log_noise) * self._to_volts

    @property
    def threshold_v(self) -> npt.NDArray[np.float64]:
        """Threshold in force per channel (V at the sensor); inf until it is known."""
        return np.asarray(self._thr * self._to_volts, dtype=np.float64)

    @property
    def settled_sample(self) -> int | None:
        """The earliest start a hit not yet returned can have: the start of an open hit, else
        the first sample not scanned yet; None before the first block."""
        if self._next is None:
            return None
        waiting = self._log_noise is None and self.config.threshold_x_noise is not None
        starts = [self._next - self._fill if waiting else self._next]
        starts += [int(self._state[c, 1]) for c in range(self.channels) if self._state[c, 0]]
        return min(starts)

    def push(self, first_sample: int, block: npt.ArrayLike) -> list[ThresholdHit]:
        """Scan a block; return the hits that ended (by ``start_sample``, then channel).

        A ``first_sample`` that does not follow the previous block (a gap) ends open hits at
        their last crossing and restarts the noise frame.
        """
        x = np.ascontiguousarray(block)
        if x.ndim != 2 or x.shape[0] != self.channels:
            raise ConfigError(f"hit detector expects ({self.channels}, n) blocks, got {x.shape}")
        if x.dtype.kind not in "iuf":
            raise ConfigError(f"hit detector needs integer or float samples, not {x.dtype}")
        hits = [] if self._next in (None, first_sample) else self._end_stream()
        self._next = first_sample + x.shape[1]
        if self.config.threshold_x_noise is None:
            return hits + self._run(first_sample, x)
        pos = 0
        while pos < x.shape[1]:
            take = min(x.shape[1] - pos, self._frame - self._fill)
            piece = x[:, pos : pos + take]
            if self._log_noise is not None:
                hits += self._run(first_sample + pos, piece)
            self._buffer[:, self._fill : self._fill + take] = piece
            self._fill += take
            pos += take
            if self._fill == self._frame:
                hits += self._end_frame(first_sample + pos - self._frame)
        return sorted(hits, key=lambda h: (h.start_sample, h.channel))

    def flush(self) -> list[ThresholdHit]:
        """End of stream: scan what is buffered and close open hits."""
        hits = self._end_stream()
        self._next = None
        return hits

    def _end_stream(self) -> list[ThresholdHit]:
        hits: list[ThresholdHit] = []
        if self._log_noise is None and self._fill > 0 and self.config.threshold_x_noise:
            self._update_noise(self._buffer[:, : self._fill])
            assert self._next is not None
            hits += self._run(self._next - self._fill, self._buffer[:, : self._fill])
        self._fill = 0
        for c in range(self.channels):
            if self._state[c, 0]:
                start, last, peak = (int(v) for v in self._state[c, 1:4])
                hits.append(self._hit(c, start, last + 1, peak, float(self._peak[c]), False))
        self._state[:] = 0
        self._state[:, 4] = _ARMED
        return sorted(hits, key=lambda h: (h.start_sample, h.channel))

    def _end_frame(self, frame_first: int) -> list[ThresholdHit]:
        first_frame = self._log_noise is None
        self._update_noise(self._buffer)
        self._fill = 0
        return self._run(frame_first, self._buffer) if first_frame else []

    def _update_noise(self, frame: npt.NDArray[np.float64]) -> None:
        noise = noise_floor(frame[:, ::_NOISE_SUBSAMPLE])
        silent = noise <= 0  # e.g. quantised silence: fall back to the mean |x|
        noise[silent] = np.mean(np.abs(frame[silent]), axis=-1) * math.sqrt(math.pi / 2)
        with np.errstate(divide="ignore"):
            log_noise = np.log(noise)
        if self._log_noise is None:
            self._log_noise = log_noise
        else:
            with np.errstate(invalid="ignore"):  # digital silence: log 0 = -inf on both sides
                step = np.where(np.isfinite(log_noise), log_noise - self._log_noise, 0.0)
            self._log_noise = np.where(
                np.isfinite(self._log_noise), self._log_noise + self._weight * step, log_noise
            )
        factor = float(self.config.threshold_x_noise or 0.0)
        self._thr = np.where(np.isfinite(self._log_noise), factor * np.exp(self._log_noise), np.inf)

    def _run(self, first: int, x: npt.NDArray[np.generic]) -> list[ThresholdHit]:
        if x.shape[1] == 0:
            return []
        hdt, hlt, pdt = self._times
        cap = x.shape[0] * (x.shape[1] // max(1, min(hdt + 1, self._maxdur)) + 2)
        out = np.empty((cap, 5), dtype=np.int64)
        out_peak = np.empty(cap)
        thr = np.ascontiguousarray(self._thr, dtype=np.float64)
        n = _scan(
            x, first, thr, hdt, hlt, pdt, self._maxdur, self._state, self._peak, out, out_peak
        )
        return [
            self._hit(int(r[0]), int(r[1]), int(r[2]), int(r[3]), float(p), bool(r[4]))
            for r, p in zip(out[:n], out_peak[:n], strict=True)
        ]

    def _hit(
        self, c: int, start: int, stop: int, peak: int, peak_in: float, trunc: bool
    ) -> ThresholdHit:
        scale = float(self._to_volts[c])
        return ThresholdHit(
            c, start, stop, peak, peak_in * scale, float(self._thr[c]) * scale, trunc
        )


def detect_hits(
    signal: npt.ArrayLike,
    config: HitDetectorConfig,
    sample_rate_hz: float,
    *,
    first_sample: int = 0,
    volts_per_count: float | Sequence[float] = 1.0,
    gain_db: float | Sequence[float] = 0.0,
) -> list[ThresholdHit]:
    """All hits of a whole ``(channels, n)`` (or 1-D) signal: one push and a flush."""
    x = np.asarray(signal)
    x = x.reshape(1, -1) if x.ndim == 1 else x
    det = HitDetector(
        config, sample_rate_hz, x.shape[0], volts_per_count=volts_per_count, gain_db=gain_db
    )
    hits = det.push(first_sample, x) + det.flush()
    return sorted(hits, key=lambda h: (h.start_sample, h.channel))
