"""Hits: from a detection (neural run or threshold crossing) to a full AE hit row.

A **hit** is one channel's detection; an **event** is a located group of hits of several
channels (:mod:`aemon.events.grouping`), as in vallenae and VisualAE. A detector proposes a
:class:`Detection` (channel, class, start and stop sample, score): the neural detector
through :mod:`aemon.events.segmentation` (probability map → runs), the threshold detector
through :mod:`aemon.detect.threshold_hits`. :class:`HitBuilder` turns it, with the raw signal
around it, into a :class:`Hit`: it refines the onset with the AIC picker of vallenae in a
window around the detector's onset, then computes the AE features
(:mod:`aemon.events.features`).

Files keep the names they were first written with: the hit rows are the "event CSV" and the
HDF5 ``/events`` table.

Column meanings and units: ``docs/events.md``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.dsp.normalization import noise_floor
from aemon.errors import ConfigError
from aemon.events.features import Band, check_bands, dbae_to_volts, hit_features
from aemon.events.records import Column
from aemon.types import ChannelInfo, StreamFormat
from aemon.utc import format_utc, parse_utc

logger = logging.getLogger(__name__)

AIC_EDGE_SAMPLES = 2
"""AIC picks this close to the start of the search window are treated as no pick."""
MIN_AIC_SAMPLES = 8
"""Shortest search window (samples) the AIC picker is run on; shorter keeps the raw onset."""
MIN_NOISE_SAMPLES = 64
"""Fewest samples before an event from which its noise RMS is estimated; with fewer, the
whole signal passed is used."""


class Detection(NamedTuple):
    """A detector's proposal, before onset refinement and features.

    Attributes:
        channel: Channel index (0-based).
        type: Event class, e.g. ``"burst"`` or ``"hit"``.
        start_sample: Absolute sample index of the detector's onset.
        stop_sample: Absolute index one past the detector's end.
        score: Detector confidence 0..1 (peak probability of the run; 1 for threshold hits).
    """

    channel: int
    type: str
    start_sample: int
    stop_sample: int
    score: float


class Hit(NamedTuple):
    """One hit (one channel's detection), as a row of the event CSV and the HDF5 ``/events``
    table.

    This is the one declaration of the row (:mod:`aemon.events.records`): each field's
    :class:`~aemon.events.records.Column` gives the numpy type of its HDF5 column (``utc`` is
    not stored there: it follows from ``time_s`` and the recording's start time) and the
    format of its CSV cell.

    Attributes:
        time_s: Refined onset (s) since the start of the input:
            ``(sample_index - first_sample) / sample_rate_hz``.
        utc: Refined onset as ISO-8601 UTC (``…Z``), "" when the start time is unknown.
        sample_index: Absolute sample index of the refined onset.
        channel: Channel index (0-based).
        type: Event class (``"hit"`` for the threshold detector).
        score: Detector confidence 0..1.
        detector: Detector name, e.g. ``"threshold"``, ``"cascade"``, a model name.
        onset_s: The detector's own onset before refinement (s since the start).
        duration_us: First to last feature-threshold crossing (µs).
        amplitude_V: Peak amplitude at the sensor (V).
        amplitude_dBAE: Peak amplitude (dBAE, 1 µV reference).
        rise_time_us: First crossing to peak (µs).
        counts: Positive feature-threshold crossings.
        energy_eu: ∫x² dt over the hit (eu, 1 eu = 1e-14 V²s).
        rms_V: RMS over the hit (V).
        signal_strength_nVs: ∫|x| dt over the hit (nV·s).
        peak_freq_kHz: Frequency of the spectral maximum (kHz).
        centroid_kHz: Spectral centroid (kHz).
        pp1_pct: Partial power in band 1 (%); bands in ``docs/events.md``.
        pp2_pct: Partial power in band 2 (%).
        pp3_pct: Partial power in band 3 (%).
        pp4_pct: Partial power in band 4 (%).
        event_id: Multi-channel event this hit belongs to (hits of one event share it;
            :mod:`aemon.events.grouping`); -1 when hits are not grouped.
        x_m: Located source position x (m); NaN when not located.
        y_m: Located source position y (m); 0 for linear location, NaN when not located.
        location_uncertainty_m: 1-sigma position error (m) from the onset uncertainty.
        location_residual_us: RMS arrival-time misfit of the location (µs).
        location_status: ``inside``, ``outside``, ``guard``, ``unlocated``; "" when no
            location was configured (:mod:`aemon.events.location`).
    """

    time_s: Annotated[float, Column("<f8", ".9f")]
    utc: Annotated[str, Column("")]
    sample_index: Annotated[int, Column("<i8", "d")]
    channel: Annotated[int, Column("<i2", "d")]
    type: Annotated[str, Column("S16")]
    score: Annotated[float, Column("<f4", ".4f")]
    detector: Annotated[str, Column("S32")]
    onset_s: Annotated[float, Column("<f8", ".9f")]
    duration_us: Annotated[float, Column("<f4", ".3f")]
    amplitude_V: Annotated[float, Column("<f4", ".6e")]  # noqa: N815
    amplitude_dBAE: Annotated[float, Column("<f4", ".2f")]  # noqa: N815
    rise_time_us: Annotated[float, Column("<f4", ".3f")]
    counts: Annotated[int, Column("<i4", "d")]
    energy_eu: Annotated[float, Column("<f4", ".6g")]
    rms_V: Annotated[float, Column("<f4", ".6e")]  # noqa: N815
    signal_strength_nVs: Annotated[float, Column("<f4", ".6g")]  # noqa: N815
    peak_freq_kHz: Annotated[float, Column("<f4", ".3f")]  # noqa: N815
    centroid_kHz: Annotated[float, Column("<f4", ".3f")]  # noqa: N815
    pp1_pct: Annotated[float, Column("<f4", ".2f")]
    pp2_pct: Annotated[float, Column("<f4", ".2f")]
    pp3_pct: Annotated[float, Column("<f4", ".2f")]
    pp4_pct: Annotated[float, Column("<f4", ".2f")]
    event_id: Annotated[int, Column("<i8", "d")] = -1
    x_m: Annotated[float, Column("<f4", ".5f")] = math.nan
    y_m: Annotated[float, Column("<f4", ".5f")] = math.nan
    location_uncertainty_m: Annotated[float, Column("<f4", ".5f")] = math.nan
    location_residual_us: Annotated[float, Column("<f4", ".3f")] = math.nan
    location_status: Annotated[str, Column("S16")] = ""


def us_to_samples(us: float, sample_rate_hz: float) -> int:
    """Convert a time (µs) to a whole number of samples (rounded, at least 0)."""
    return max(0, round(us * 1e-6 * sample_rate_hz))


def _per_channel(value: float | Sequence[float]) -> tuple[float, ...]:
    if isinstance(value, Sequence | np.ndarray):
        return tuple(float(v) for v in value)
    return (float(value),)


class HitBuilder:
    """Detections + raw signal → :class:`Hit` rows with refined onset and AE features.

    Amplitudes refer to the sensor: ``V = sample × volts_per_count / 10^(gain_db / 20)``.

    Args:
        sample_rate_hz: Sample rate (Hz).
        first_sample: Absolute sample index of ``time_s = 0`` (start of the input).
        start_time_utc: UTC of ``first_sample`` (datetime or ISO text); None leaves ``utc``
            empty.
        volts_per_count: Sample unit → volts at the ADC input; scalar or one per channel.
        gain_db: Preamplifier gain (dB) removed to refer to the sensor; scalar or per channel.
        threshold_dbae: Feature threshold (dBAE) for events that do not bring their own
            (neural detections). None: ``threshold_x_noise`` × noise RMS.
        threshold_x_noise: Feature threshold as a multiple of the noise RMS, which is given
            per call or estimated as ``median(|x|)/0.6745`` of the signal row passed.
        aic_pre_us: AIC search window before the detector onset (µs).
        aic_post_us: AIC search window after the detector onset (µs). 0 and 0 disable it.
        bands: Four partial-power bands ``(low, high)`` (Hz); default
            :func:`aemon.events.features.default_partial_power_bands`.
    """

    def __init__(
        self,
        sample_rate_hz: float,
        *,
        first_sample: int = 0,
        start_time_utc: datetime | str | None = None,
        volts_per_count: float | Sequence[float] = 1.0,
        gain_db: float | Sequence[float] = 0.0,
        threshold_dbae: float | None = None,
        threshold_x_noise: float = 5.0,
        aic_pre_us: float = 100.0,
        aic_post_us: float = 50.0,
        bands: Sequence[Band] | None = None,
    ) -> None:
        if not sample_rate_hz > 0 or not threshold_x_noise > 0:
            raise ConfigError("event builder needs a positive sample rate and threshold factor")
        self.sample_rate_hz = float(sample_rate_hz)
        self.first_sample = int(first_sample)
        self.start_time_utc = parse_utc(start_time_utc)
        gain = np.asarray(_per_channel(gain_db))
        vpc = np.asarray(_per_channel(volts_per_count))
        if gain.size != vpc.size and 1 not in (gain.size, vpc.size):
            raise ConfigError(
                f"{vpc.size} volts-per-count values but {gain.size} gains; give one per channel"
            )
        self._scale = vpc / 10.0 ** (gain / 20.0)
        self.threshold_dbae = threshold_dbae
        self.threshold_x_noise = float(threshold_x_noise)
        self.aic_pre = us_to_samples(aic_pre_us, sample_rate_hz)
        self.aic_post = us_to_samples(aic_post_us, sample_rate_hz)
        self.bands = None if bands is None else check_bands(bands, sample_rate_hz)

    @classmethod
    def for_stream(
        cls,
        fmt: StreamFormat,
        channels: Sequence[ChannelInfo] = (),
        **options: object,
    ) -> HitBuilder:
        """A builder for a stream: its rate and volts per count, gains from ``channels``."""
        gains = [ch.gain_db for ch in channels] or [0.0]
        return cls(
            fmt.sample_rate_hz,
            volts_per_count=fmt.volts_per_count,
            gain_db=gains,
            **options,  # type: ignore[arg-type]
        )

    def sensor_volts(self, channel: int, samples: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Samples of ``channel`` converted to volts at the sensor (float64)."""
        if self._scale.size > 1 and not 0 <= channel < self._scale.size:
            raise ConfigError(
                f"channel {channel} has no volts per count / gain; {self._scale.size} were given"
            )
        scale = self._scale[channel] if self._scale.size > 1 else self._scale[0]
        return np.asarray(samples, dtype=np.float64) * float(scale)

    def build(
        self,
        detection: Detection,
        signal: npt.ArrayLike,
        signal_first_sample: int,
        *,
        detector: str,
        threshold_v: float | None = None,
        noise_rms_v: float | None = None,
        peak_sample: int | None = None,
    ) -> Hit:
        """Refine the onset of ``detection`` and compute its features.

        Args:
            detection: What the detector found (absolute sample indices).
            signal: ``(channels, n)`` raw block (stream units) holding the detection and,
                ideally, the AIC pre-window and some noise before it.
            signal_first_sample: Absolute index of ``signal[:, 0]``.
            detector: Detector name for the ``detector`` column.
            threshold_v: Feature threshold (V at the sensor), e.g. the hit threshold;
                overrides the builder's. With it, features start at the detector's onset
                (a hit's first crossing); without it, at the earlier of the refined and
                the detector's onset.
            noise_rms_v: Noise RMS (V at the sensor) for the ×noise threshold.
            peak_sample: Absolute index of the peak if the detector defines it.

        Raises:
            ConfigError: The detection lies outside ``signal`` or the channel is missing.
        """
        later = threshold_v is None  # a neural run may start before its burst's arrival
        block, lo, a, volts, onset = self._onset(detection, signal, signal_first_sample, later)
        ch = detection.channel
        # A detector with its own threshold (a hit) starts at its first crossing: earlier
        # crossings (a previous hit's tail, the lockout) are not part of this event. A neural
        # detection is measured over its own extent, from the (refined) onset to its end.
        whole_span = threshold_v is None
        start = lo if threshold_v is not None else min(onset, lo)
        if threshold_v is None:
            threshold_v = self._threshold(ch, block[:, : max(start, 0)], block, noise_rms_v)
        peak = None if peak_sample is None else peak_sample - signal_first_sample - start
        feats = hit_features(
            volts[start - a :],
            self.sample_rate_hz,
            threshold_v,
            peak_index=peak,
            bands=self.bands,
            whole_span=whole_span,
        )
        time_s = (onset + signal_first_sample - self.first_sample) / self.sample_rate_hz
        utc = ""
        if self.start_time_utc is not None:
            utc = format_utc(self.start_time_utc + timedelta(seconds=time_s))
        pp = feats.partial_powers_pct
        return Hit(
            time_s=time_s,
            utc=utc,
            sample_index=onset + signal_first_sample,
            channel=ch,
            type=detection.type,
            score=float(detection.score),
            detector=detector,
            onset_s=(detection.start_sample - self.first_sample) / self.sample_rate_hz,
            duration_us=feats.duration_us,
            amplitude_V=feats.amplitude_v,
            amplitude_dBAE=feats.amplitude_dbae,
            rise_time_us=feats.rise_time_us,
            counts=feats.counts,
            energy_eu=feats.energy_eu,
            rms_V=feats.rms_v,
            signal_strength_nVs=feats.signal_strength_nvs,
            peak_freq_kHz=feats.peak_freq_khz,
            centroid_kHz=feats.centroid_khz,
            pp1_pct=pp[0],
            pp2_pct=pp[1],
            pp3_pct=pp[2],
            pp4_pct=pp[3],
        )

    def refined_onset(
        self, detection: Detection, signal: npt.ArrayLike, signal_first_sample: int
    ) -> int:
        """The onset as the AIC window picks it (absolute sample index), without features: a
        second look (the site classifier) judges an event at this onset before it is built.
        :meth:`build` moves a neural detection's onset on to a later arrival where this pick
        marks none (:mod:`aemon.events.later_arrival`).

        Args:
            detection: What the detector found (absolute sample indices), inside ``signal``.
            signal: ``(channels, n)`` raw block (stream units) as for :meth:`build`.
            signal_first_sample: Absolute index of ``signal[:, 0]``.

        Raises:
            ConfigError: The detection lies outside ``signal`` or the channel is missing.
        """
        return self._onset(detection, signal, signal_first_sample)[4] + signal_first_sample

    def _onset(
        self,
        detection: Detection,
        signal: npt.ArrayLike,
        signal_first_sample: int,
        later: bool = False,
    ) -> tuple[npt.NDArray[np.generic], int, int, npt.NDArray[np.float64], int]:
        """``(block, lo, a, volts, onset)``: the ``(channels, n)`` block, the detector's onset
        ``lo`` and the AIC window's start ``a`` in it, the window's volts from ``a`` to the
        detection's end, and the refined onset (AIC pick, or ``lo``; with ``later``, moved on
        to a later arrival where the pick marks none), all block-relative."""
        block = np.asarray(signal)
        block = block.reshape(1, -1) if block.ndim == 1 else block
        ch, n = detection.channel, block.shape[1]
        lo = detection.start_sample - signal_first_sample
        hi = max(detection.stop_sample - signal_first_sample, lo + 1)
        if not (0 <= ch < block.shape[0]) or lo < 0 or hi > n:
            raise ConfigError(
                f"detection on channel {ch} at samples {detection.start_sample}.."
                f"{detection.stop_sample} is outside the signal given ({block.shape[0]} "
                f"channels, samples {signal_first_sample}..{signal_first_sample + n})"
            )
        a = max(0, lo - self.aic_pre)
        volts = self.sensor_volts(ch, block[ch, a:hi])
        onset = lo
        b = min(lo + self.aic_post, hi) - a
        if b >= MIN_AIC_SAMPLES and (self.aic_pre or self.aic_post):
            from aemon.events._aic import aic_pick  # numba only where events are built

            picked = aic_pick(volts[:b])
            # A pick at the very start of the search window means the AIC found no change
            # of regime in it (low SNR, or the onset lies before the window): keep the
            # detector's own onset rather than the window edge.
            if picked > AIC_EDGE_SAMPLES:
                onset = a + picked
            if later:
                from aemon.events.later_arrival import later_arrival

                onset = a + later_arrival(volts, onset - a, lo - a, self.sample_rate_hz)
        return block, lo, a, volts, onset

    def _threshold(
        self,
        channel: int,
        before: npt.NDArray[np.generic],
        block: npt.NDArray[np.generic],
        noise: float | None,
    ) -> float:
        """The feature threshold (V): fixed, or × the noise RMS of the signal before the event
        (of the whole block when less than :data:`MIN_NOISE_SAMPLES` precede it)."""
        if self.threshold_dbae is not None:
            return dbae_to_volts(float(self.threshold_dbae))
        if noise is None:
            quiet = before if before.shape[1] >= MIN_NOISE_SAMPLES else block
            noise = float(noise_floor(self.sensor_volts(channel, quiet[channel])))
        # A silent signal (all zeros) still needs a positive threshold.
        return max(self.threshold_x_noise * noise, 1e-12)
