"""Streaming preprocessing for the detector: volts, high-pass, decimation, normalisation.

Raw ``(channels, n)`` blocks (int16 counts or float32 volts) become normalised float32 samples
at the model's rate, in this order:

1. **Volts and high-pass** (Numba): ``x × volts_per_count`` through a 2nd-order Butterworth
   high-pass. The live input must look like the training input, so the corner is the one the
   model card names (``normalization.highpass_hz``, see :func:`card_highpass_hz`); a card that
   names none gets a 1 Hz DC block, which removes an ADC offset but leaves hum, friction
   and spike shapes as the model saw them in training. (A 20 kHz high-pass at 1.5625 MHz
   also removes hum, but it turns every spike into a slow negative tail; use it only for
   models trained with it.) The filter state starts at the
   first sample's steady state, so an offset causes no start-up transient. Non-finite input
   samples count as 0.
2. **Decimation** (Numba) when the source rate is an integer multiple ``D`` of the model rate:
   a linear-phase Kaiser FIR (60 dB stop band from the model's Nyquist frequency), delay
   compensated, so model sample ``m`` sits exactly on source sample ``origin + m × D``.
3. **Pre-whitening** (:class:`~aemon.dsp.whitening.PreWhitener`, models whose card sets
   ``normalization.whiten_order``): an adaptive prediction-error filter per channel makes
   stationary noise of any colour white, with coefficients that change only on a fixed grid of
   model samples and freeze while an event is on; training windows go through the same class
   (:func:`whiten_training_window`). Missing samples stay NaN.
4. **Normalisation** (:class:`~aemon.dsp.normalization.NoiseFloorTracker`): model samples are
   cut into
   segments on a fixed grid (the first ``first_segment`` samples, then every ``segment``
   samples); each segment updates the noise floor and is divided by it (and compressed).

Every stage keeps its state between blocks, and segment boundaries are fixed in absolute
sample indices, so the output does not depend on how the input was cut into blocks.

Missing samples (gaps) travel as NaN: they are not fed to the high-pass, the FIR marks every
output that depends on them, the noise tracker ignores them, and they leave as 0.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import numpy.typing as npt

from aemon.dsp.kernels import butter2_highpass, fir_decimate, scale_compress, volts, volts_highpass
from aemon.dsp.normalization import NoiseFloorTracker, NormalizationParams
from aemon.dsp.sample_fifo import SampleFifo
from aemon.dsp.whitening import make_whitener
from aemon.errors import ConfigError

logger = logging.getLogger(__name__)

START_SAMPLES = 64
"""Samples whose median sets the high-pass's initial state (the DC offset)."""
DC_BLOCK_HZ = 1.0
"""High-pass corner (Hz) for models whose card names none: removes only the DC offset."""

DECIMATION_STOPBAND_DB = 60.0
"""Anti-alias attenuation (dB) of the decimation filter at and above the model's Nyquist."""

DECIMATION_PASSBAND = 0.8
"""Pass band edge of the decimation filter as a fraction of the model's Nyquist frequency."""

F32 = npt.NDArray[np.float32]


def card_highpass_hz(normalization: dict[str, object]) -> float:
    """The high-pass corner (Hz) a model was trained with: its card's ``normalization``
    ``highpass_hz`` entry, else :data:`DC_BLOCK_HZ`."""
    value = normalization.get("highpass_hz")
    return DC_BLOCK_HZ if value is None else float(value)  # type: ignore[arg-type]


# -- stages ------------------------------------------------------------------------------------


class HighPass:
    """Counts/volts to float32 volts through a stateful 2nd-order Butterworth high-pass.

    Args:
        channels: Number of channels.
        sample_rate_hz: Rate of the samples it filters (Hz).
        corner_hz: −3 dB corner (Hz); 0 to only convert to volts.
        volts_per_count: Scale of the input samples (V per unit).
    """

    def __init__(
        self, channels: int, sample_rate_hz: float, corner_hz: float, volts_per_count: float
    ) -> None:
        if not 0 <= corner_hz < sample_rate_hz / 2:
            raise ConfigError(
                f"high-pass corner {corner_hz:g} Hz must lie between 0 and the Nyquist "
                f"frequency {sample_rate_hz / 2:g} Hz"
            )
        self.corner_hz = float(corner_hz)
        self.volts_per_count = float(volts_per_count)
        self._coef = np.zeros(5)
        if corner_hz > 0:
            self._coef = butter2_highpass(corner_hz, sample_rate_hz)
        self._state = np.zeros((channels, 2))
        self._started = False
        self._pending: list[np.ndarray] = []

    def reset(self) -> None:
        """Forget the filter state (the next sample starts a new stream)."""
        self._state[:] = 0.0
        self._started = False
        self._pending = []

    def process(self, block: np.ndarray) -> F32:
        """Filter a ``(channels, n)`` block; returns float32 volts.

        The first :data:`START_SAMPLES` samples of a stream are held back until they have all
        arrived: their median sets the initial state (no offset transient).
        """
        if self.corner_hz == 0:
            out = np.empty(block.shape, np.float32)
            volts(block, self.volts_per_count, out)
            return out
        if not self._started:
            self._pending.append(np.array(block))
            if sum(p.shape[1] for p in self._pending) < START_SAMPLES:
                return np.empty((block.shape[0], 0), np.float32)
            return self.flush()
        out = np.empty(block.shape, np.float32)
        volts_highpass(block, self.volts_per_count, self._coef, self._state, out)
        return out

    def flush(self) -> F32:
        """Filter the samples held back at the start of a stream (before a gap or the end)."""
        if self._started or not self._pending:
            return np.empty((self._state.shape[0], 0), np.float32)
        block = np.concatenate(self._pending, axis=1)
        self._pending = []
        # steady state for a constant input at the start's median: no offset transient
        head = np.nan_to_num(block[:, :START_SAMPLES].astype(np.float64) * self.volts_per_count)
        x0 = np.median(head, axis=1)
        self._state[:, 0] = -self._coef[0] * x0
        self._state[:, 1] = self._coef[2] * x0
        self._started = True
        return self.process(block)


class FirDecimator:
    """Keep every ``factor``-th sample after a linear-phase anti-alias FIR (stateful).

    Output ``m`` is centred on input ``m × factor`` (counted from the first input); the FIR's
    delay is compensated by waiting for ``half`` samples of look-ahead.

    Args:
        channels: Number of channels.
        factor: Decimation factor (≥ 2).
        input_rate_hz: Input sample rate (Hz).
    """

    def __init__(self, channels: int, factor: int, input_rate_hz: float) -> None:
        out_nyquist = input_rate_hz / factor / 2
        width = (1 - DECIMATION_PASSBAND) * out_nyquist / (input_rate_hz / 2)
        from scipy import signal as sps  # only when decimating: a slow import (~1 s)

        n_taps, beta = sps.kaiserord(DECIMATION_STOPBAND_DB, width)
        n_taps += 1 - n_taps % 2  # odd: integer delay
        cutoff = (1 + DECIMATION_PASSBAND) / 2 * out_nyquist
        self.taps = sps.firwin(n_taps, cutoff, window=("kaiser", beta), fs=input_rate_hz)[::-1]
        self.taps = np.ascontiguousarray(self.taps, dtype=np.float64)
        self.factor = int(factor)
        self.half = n_taps // 2
        self._buf = SampleFifo(channels, 4 * n_taps)
        self.restart(missing_before=False)

    def restart(self, *, missing_before: bool) -> None:
        """Start a new input run: the ``half`` samples before it are zeros or missing (NaN)."""
        channels = self._buf.data.shape[0]
        self._buf.clear()
        self._buf.append(np.full((channels, self.half), np.nan if missing_before else 0.0))

    def process(self, block: F32) -> F32:
        """Add input samples; return the outputs whose look-ahead is complete."""
        buf = self._buf
        buf.append(block)
        n_taps = self.taps.shape[0]
        count = (buf.size - n_taps) // self.factor + 1 if buf.size >= n_taps else 0
        out = np.empty((buf.data.shape[0], count), np.float32)
        if count:
            fir_decimate(buf.view, self.taps, self.factor, count, out)
            buf.drop(count * self.factor)
        return out

    def finish(self) -> F32:
        """End of input: the outputs still due, with zeros as look-ahead past the end."""
        pending = self._buf.size - self.half  # inputs not yet at an output position
        if pending <= 0:
            return np.empty((self._buf.data.shape[0], 0), np.float32)
        due = -(-pending // self.factor)  # outputs at positions inside the received input
        need = (due - 1) * self.factor + self.taps.shape[0] - self._buf.size
        zeros = np.zeros((self._buf.data.shape[0], max(need, 0)), np.float32)
        out = self.process(zeros)
        return out[:, :due]


class SegmentNormalizer:
    """Noise-floor normalisation on a fixed segment grid, with NaN for missing samples.

    Args:
        params: Normalisation parameters of the model.
        channels: Number of channels.
        sample_rate_hz: Rate of the samples (Hz).
        first_segment: Length of the first segment (samples).
        segment: Length of every later segment (samples).
    """

    def __init__(
        self,
        params: NormalizationParams,
        channels: int,
        sample_rate_hz: float,
        first_segment: int,
        segment: int,
    ) -> None:
        self.params = params
        self.tracker = NoiseFloorTracker(params, channels, sample_rate_hz)
        self.first_segment, self.segment = int(first_segment), int(segment)
        self._buf = SampleFifo(channels, first_segment + segment)
        self._due = self.first_segment  # samples needed before the next segment is complete

    def restart(self, *, reset_floor: bool) -> None:
        """Start a new segment grid (pending samples must have been finished)."""
        self._buf.clear()
        self._due = self.first_segment
        if reset_floor:
            self.tracker.reset()

    def process(self, block: F32) -> F32:
        """Add samples; return the normalised samples of every segment completed."""
        self._buf.append(block)
        parts: list[F32] = []
        while self._buf.size >= self._due:
            parts.append(self._normalise(self._due))
            self._due = self.segment
        return _concat(parts, self._buf.data.shape[0])

    def finish(self) -> F32:
        """Normalise the incomplete last segment."""
        out = (
            self._normalise(self._buf.size)
            if self._buf.size
            else _concat([], self._buf.data.shape[0])
        )
        self._due = self.first_segment
        return out

    def _normalise(self, n: int) -> F32:
        seg = self._buf.view[:, :n]
        out = np.empty(seg.shape, np.float32)
        if self.params.method == "none":
            scale_compress(seg, np.ones(seg.shape[0]), False, out)
        else:
            missing = np.isnan(seg).any(axis=0)
            valid = seg[:, ~missing] if missing.any() else seg
            current = self.tracker.floor
            if valid.shape[1]:
                floor = self.tracker.update(valid)
            else:  # nothing observed: keep the current floor (output is all zeros anyway)
                floor = np.ones(seg.shape[0]) if current is None else current
            inverse = 1.0 / np.maximum(floor, self.params.floor)
            scale_compress(seg, inverse, self.params.compress == "asinh", out)
        self._buf.drop(n)
        return out


def _concat(parts: list[F32], channels: int) -> F32:
    if not parts:
        return np.empty((channels, 0), np.float32)
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


class Preprocessor:
    """Raw blocks in, normalised model-rate samples out (all stages, stateful).

    Args:
        channels: Channels of the stream.
        source_rate_hz: Rate of the raw blocks (Hz).
        factor: Decimation factor (1 = model rate equals source rate).
        volts_per_count: Scale of the raw samples (V per unit).
        params: The model's normalisation.
        first_segment: First normalisation segment (model samples).
        segment: Later normalisation segments (model samples).
        highpass_hz: High-pass corner (Hz); None for :data:`DC_BLOCK_HZ`, 0 for none.
    """

    def __init__(
        self,
        channels: int,
        source_rate_hz: float,
        factor: int,
        volts_per_count: float,
        params: NormalizationParams,
        first_segment: int,
        segment: int,
        highpass_hz: float | None = None,
    ) -> None:
        model_rate = source_rate_hz / factor
        corner = DC_BLOCK_HZ if highpass_hz is None else highpass_hz
        self.channels = channels
        self.highpass = HighPass(channels, source_rate_hz, corner, volts_per_count)
        self.decimator = FirDecimator(channels, factor, source_rate_hz) if factor > 1 else None
        self.normalizer = SegmentNormalizer(params, channels, model_rate, first_segment, segment)
        self.whitener = make_whitener(params, channels)
        self.factor = factor

    @property
    def held_samples(self) -> int:  # taken, not yet returned: high-pass start, last segment
        return sum(p.shape[1] for p in self.highpass._pending) + self.normalizer._buf.size

    def process(self, block: np.ndarray) -> F32:
        """Preprocess a raw ``(channels, n)`` block."""
        return self._after_highpass(self.highpass.process(block))

    def missing(self, n: int) -> F32:
        """``n`` source samples never arrived: they travel on as NaN (high-pass untouched)."""
        held = self._after_highpass(self.highpass.flush())
        nan = self._after_highpass(np.full((self.channels, n), np.nan, np.float32))
        return _concat([held, nan], self.channels)

    def finish(self) -> F32:
        """End of a run of input: emit everything still held (zeros past the end)."""
        parts = [self._after_highpass(self.highpass.flush())]
        if self.decimator is not None:
            parts.append(self.normalizer.process(self._whiten(self.decimator.finish())))
        parts.append(self.normalizer.finish())
        return _concat(parts, self.channels)

    def restart(self, *, reset_floor: bool) -> None:
        """Start a new run after :meth:`finish` (the samples just before it are missing)."""
        if self.decimator is not None:
            self.decimator.restart(missing_before=True)
        self.normalizer.restart(reset_floor=reset_floor)

    def reset(self) -> None:
        """Forget everything: the next block starts a new, independent stream."""
        self.highpass.reset()
        if self.decimator is not None:
            self.decimator.restart(missing_before=False)
        self.normalizer.restart(reset_floor=True)
        if self.whitener is not None:
            self.whitener.reset()

    def _after_highpass(self, x: F32) -> F32:
        if self.decimator is not None:
            x = self.decimator.process(x)
        return self.normalizer.process(self._whiten(x))

    def _whiten(self, x: F32) -> F32:
        if self.whitener is None or not x.shape[1]:
            return x
        y = self.whitener.process(x)
        missing = np.isnan(x)
        if missing.any():
            y[missing] = np.nan  # the normaliser ignores missing samples
        return y


def decimation_factor(source_rate_hz: float, model_rate_hz: float) -> int | None:
    """``D`` when ``source_rate_hz == D × model_rate_hz`` for a whole ``D ≥ 1``, else None."""
    ratio = source_rate_hz / model_rate_hz
    factor = round(ratio)
    if factor >= 1 and math.isclose(ratio, factor, rel_tol=1e-9, abs_tol=0.0):
        return int(factor)
    return None
