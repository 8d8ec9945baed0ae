"""Streaming neural burst detection: raw blocks in, stitched probability maps out.

::

    push(first, block) ─► Preprocessor ─► WindowScheduler ─► Detector ─────► stitch ─► chunks
                          (volts, high-pass,   (window, hop,     (batches of      (centre bins
                           decimate, noise      margin on the     windows × all    of every
                           floor, Numba)        model's grid)     channels)        window)

Windows overlap: window ``k`` covers model samples ``[k·hop − margin, k·hop + hop + margin)``
and keeps only its centre ``[k·hop, (k+1)·hop)``; ``margin = margin_bins × bin_samples`` from
the model card. When the model's receptive field fits in the margin, the stitched map equals
the map of one pass over the whole (normalised) signal, and a burst on a window edge appears
once. ``hop`` and ``margin`` are whole bins, so bin ``b`` always covers the absolute source
samples ``[origin + b·B, origin + (b+1)·B)``, ``B`` = bin samples at the source rate and
``origin`` = the stream's first sample.

Gaps: up to one window of missing samples is filled (the missing samples are ignored by the
noise floor and enter the model as zeros) and the map stays contiguous. A longer gap ends
the current tiling (its last windows are padded like at the end of the stream) and starts a
new one on the same bin grid; the next chunk then starts later than the previous one ended.
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.detect.backend import Detector
from aemon.detect.model_card import CARD_FILE, ModelCard, read_model_card
from aemon.detect.onnx_runtime import OnnxDetector, default_model_path
from aemon.detect.windows import Window, WindowScheduler
from aemon.dsp.preprocess import Preprocessor, card_highpass_hz, decimation_factor
from aemon.errors import ConfigError
from aemon.types import Gap, StreamFormat

logger = logging.getLogger(__name__)

__all__ = [
    "OnnxDetector",
    "ProbabilityChunk",
    "ProbabilityMapStream",
    "default_model_path",
    "rate_mismatch_error",
]

BATCH_SECONDS = 0.05
"""Default signal per inference batch (s): bounds the latency that batching adds."""
MAX_BATCH_WINDOWS = 16


class _BatchSpan(NamedTuple):
    """Where a batch of windows lies: its window count, first core start (model samples from
    the origin) and the length of its last (maybe cut) core."""

    windows: int
    first_core: int
    last_core: int


class ProbabilityChunk(NamedTuple):
    """A stretch of the stitched probability map.

    Attributes:
        first_bin_sample: Absolute source sample index where bin 0 starts.
        bin_samples: Source samples per bin.
        probabilities: float32 ``(channels, classes, bins)``; ``channels`` is the stream's
            channel count for a one-channel model, 1 for a model that sees all channels.
    """

    first_bin_sample: int
    bin_samples: int
    probabilities: npt.NDArray[np.float32]

    @property
    def stop_sample(self) -> int:
        """Absolute source index one past the last bin."""
        return self.first_bin_sample + self.probabilities.shape[-1] * self.bin_samples


def rate_mismatch_error(card: ModelCard, source_rate_hz: float) -> ConfigError:
    """The one-line error for a source whose rate the model cannot take."""
    hint = ""
    alt = default_model_path(source_rate_hz)
    if (alt / CARD_FILE).is_file() and alt.name != card.name:
        alt_rate = read_model_card(alt).sample_rate_hz
        if decimation_factor(source_rate_hz, alt_rate):
            hint = f" or --model {_display(alt)}"
    rate = f"{source_rate_hz:.0f}"
    return ConfigError(
        f"model {card.name} expects {card.sample_rate_hz:.0f} Hz but the source delivers "
        f"{rate} Hz; use a model trained for {rate} Hz (aemon train CONFIG --rate {rate} …)"
        f"{hint}"
    )


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class ProbabilityMapStream:
    """Push raw blocks, get the stitched probability map (Friture-style DSP block).

    Args:
        detector: The model, in any backend (:class:`~aemon.detect.backend.Detector`).
        fmt: Format of the stream (rate, channels, dtype, volts per count).
        first_sample: Absolute index of the stream's first sample (bin 0 starts there).
        batch_windows: Windows per inference batch (each window counts once for all channels);
            None for about 50 ms of signal, at most 16. Larger batches run faster and add
            latency: a window waits until its batch is full (or :meth:`flush`).
        highpass_hz: High-pass corner (Hz); None for the one the model was trained with
            (:func:`~aemon.dsp.preprocess.card_highpass_hz`), 0 for none.
        overlap: Run each batch on a worker thread while the next blocks are preprocessed
            (the model releases the GIL): faster on several cores, and the batch's chunk
            comes back one batch later (from a later :meth:`push`, or :meth:`flush`). The
            map is the same.

    Raises:
        ConfigError: The source rate is not the model rate or a whole multiple of it, the
            channel counts do not fit the model, or the card's geometry is inconsistent.
    """

    def __init__(
        self,
        detector: Detector,
        fmt: StreamFormat,
        *,
        first_sample: int = 0,
        batch_windows: int | None = None,
        highpass_hz: float | None = None,
        overlap: bool = False,
    ) -> None:
        card = detector.card
        factor = decimation_factor(fmt.sample_rate_hz, card.sample_rate_hz)
        if factor is None:
            raise rate_mismatch_error(card, fmt.sample_rate_hz)
        if card.channels not in (1, fmt.channels):
            raise ConfigError(
                f"model {card.name} takes {card.channels} channels at once but the stream has "
                f"{fmt.channels}; use a one-channel model or a stream with {card.channels}"
            )
        b = card.bin_samples
        self.margin = card.margin_bins * b
        self.hop = card.hop // b * b
        if self.hop < b or self.hop > card.window - 2 * self.margin:
            raise ConfigError(
                f"model card {card.name}: hop {card.hop} does not fit window {card.window} with "
                f"{card.margin_bins} margin bins of {b} samples; fix the card"
            )
        if batch_windows is None:
            batch_windows = round(BATCH_SECONDS * card.sample_rate_hz / self.hop)
            batch_windows = min(max(batch_windows, 1), MAX_BATCH_WINDOWS)
        if batch_windows < 1:
            raise ConfigError(f"batch size must be at least 1 window, not {batch_windows}")
        self.detector, self.card, self.format = detector, card, fmt
        self.factor = factor
        self.batch_windows = batch_windows
        self.origin = int(first_sample)
        self.bin_samples = b * factor  # source samples per bin
        self._preprocessor = Preprocessor(
            fmt.channels,
            fmt.sample_rate_hz,
            factor,
            fmt.volts_per_count,
            card.normalization_params(),
            first_segment=self.hop + self.margin,
            segment=self.hop,
            highpass_hz=card_highpass_hz(card.normalization)
            if highpass_hz is None
            else highpass_hz,
        )
        self._next = self.origin  # absolute index one past the newest sample received
        self._cursor = self.origin  # absolute index the preprocessor expects next
        self._model_next = 0  # model-rate index (from origin) of the next preprocessed sample
        self._scheduler = WindowScheduler(card.window, self.hop, self.margin, first_sample=0)
        self._pending: list[Window] = []
        self._ready: list[ProbabilityChunk] = []
        self.windows_run = 0
        self.overlap = overlap
        self._worker: ThreadPoolExecutor | None = None
        self._running: deque[tuple[Future[npt.NDArray[np.float32]], _BatchSpan]] = deque()
        self._before_origin = 0  # preprocessed samples still due from before the origin

    @property
    def next_sample(self) -> int:
        """Absolute source index of the next sample :meth:`push` expects."""
        return self._next

    @property
    def latency_samples(self) -> int:
        """Source samples a bin waits, at most, before it is reported (window and batching)."""
        held = self.hop * self.batch_windows * (2 if self.overlap else 1) + self.margin
        return held * self.factor + (
            self._preprocessor.decimator.half if self._preprocessor.decimator else 0
        )

    @property
    def preprocessor(self) -> Preprocessor:
        """The preprocessing state (high-pass, decimation, whitening, noise floor)."""
        return self._preprocessor

    def continue_from(self, preprocessor: Preprocessor) -> None:
        """Take over the preprocessing state of a stream that was fed every sample before this
        stream's first one (``aemon reanalyse`` starts a chunk with the state a sequential pass
        has there). Call before the first :meth:`push`. The result equals the sequential
        stream's when this stream's first sample lies on that stream's window grid and the
        rate is the model's (no decimation, whose filter delay would shift the samples).

        Raises:
            ConfigError: The stream decimates, or the preprocessor is for other channels.
        """
        if self.factor != 1 or preprocessor.channels != self.format.channels:
            raise ConfigError(
                "a preprocessing state carries over only between streams at the model's rate "
                "with the same channels"
            )
        self._preprocessor = preprocessor
        self._before_origin = preprocessor.held_samples  # they precede the first window

    def push(self, first_sample: int, block: npt.NDArray[np.generic]) -> list[ProbabilityChunk]:
        """Add a raw ``(channels, n)`` block (counts or volts); return finished map chunks.

        A block that starts after :attr:`next_sample` implies a gap (``"missing"``).

        Raises:
            ValueError: Wrong shape or channel count, or a block overlapping earlier ones.
        """
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[0] != self.format.channels:
            raise ValueError(
                f"expected a ({self.format.channels}, n) block, got shape {block.shape}"
            )
        first_sample, n = int(first_sample), block.shape[1]
        if first_sample < self._next:
            raise ValueError(
                f"block at sample {first_sample} overlaps samples already pushed "
                f"(next expected: {self._next})"
            )
        self._next = first_sample + n
        skip = min(max(self._cursor - first_sample, 0), n)  # padding of a flushed last bin
        if skip:
            block, first_sample = block[:, skip:], first_sample + skip
        elif first_sample > self._cursor:
            self.gap(Gap(self._cursor, first_sample, "missing"))
        if block.shape[1]:
            self._feed(self._preprocessor.process(block))
            self._cursor = first_sample + block.shape[1]
        return self._take_ready()

    def gap(self, gap: Gap) -> None:
        """Note missing samples; their chunks come with the next :meth:`push`/:meth:`flush`."""
        start, stop = self._cursor, int(gap.stop_sample)
        if stop <= start:
            return
        self._next = max(self._next, stop)
        if stop - start <= self.card.window * self.factor:
            self._feed(self._preprocessor.missing(stop - start))
            self._cursor = stop
            return
        logger.info("detector: %d samples missing at %d; new window tiling", stop - start, start)
        self._finish_tiling()
        grid = self.bin_samples  # restart on the bin grid at or before the end of the gap
        self._restart(self.origin + (stop - self.origin) // grid * grid, reset_floor=True)
        if stop > self._cursor:
            self._feed(self._preprocessor.missing(stop - self._cursor))
            self._cursor = stop

    def flush(self) -> list[ProbabilityChunk]:
        """End of stream: process everything held back (the last windows zero-padded).

        A later :meth:`push` continues on the same bin grid with a new tiling; samples that
        fall into the (padded) last bin already reported are skipped.
        """
        self._finish_tiling()
        grid = self.bin_samples
        self._restart(self.origin + -(-(self._cursor - self.origin) // grid) * grid, False)
        self._collect(wait_all=True)
        if self._worker is not None:
            self._worker.shutdown()
            self._worker = None
        return self._take_ready()

    # -- internals -----------------------------------------------------------------------------

    def _restart(self, cursor: int, reset_floor: bool) -> None:
        """New tiling whose first core starts at ``cursor`` (on the bin grid)."""
        self._cursor = cursor
        self._model_next = (cursor - self.origin) // self.factor
        self._scheduler = WindowScheduler(
            self.card.window, self.hop, self.margin, first_sample=self._model_next
        )
        self._preprocessor.restart(reset_floor=reset_floor)

    def _feed(self, samples: npt.NDArray[np.float32]) -> None:
        if self._before_origin and samples.shape[1]:
            cut = min(self._before_origin, samples.shape[1])
            samples, self._before_origin = samples[:, cut:], self._before_origin - cut
        if samples.shape[1]:
            self._pending += self._scheduler.push(self._model_next, samples)
            self._model_next += samples.shape[1]
        while len(self._pending) >= self.batch_windows:
            self._run(self._pending[: self.batch_windows])
            del self._pending[: self.batch_windows]

    def _finish_tiling(self) -> None:
        tail = self._preprocessor.finish()
        if tail.shape[1]:
            self._pending += self._scheduler.push(self._model_next, tail)
            self._model_next += tail.shape[1]
        self._pending += self._scheduler.flush()
        while self._pending:
            self._run(self._pending[: self.batch_windows])
            del self._pending[: self.batch_windows]

    def _run(self, windows: list[Window]) -> None:
        """Infer a batch of consecutive windows; its chunk is stitched when it is done."""
        card = self.card
        x = np.stack([w.samples for w in windows])  # (n, channels, window): a copy
        last = windows[-1]
        span = _BatchSpan(len(windows), windows[0].core_start, last.core_stop - last.core_start)
        self.windows_run += len(windows)
        if card.channels == 1:
            x = x.reshape(x.shape[0] * x.shape[1], 1, card.window)
        if not self.overlap:
            self._stitch(self.detector.infer(x), span)
            return
        self._collect(wait_all=True)  # one batch in flight while the next one fills
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="aemon-infer")
        self._running.append((self._worker.submit(self.detector.infer, x), span))

    def _collect(self, wait_all: bool) -> None:
        """Stitch the batches in flight: all of them, or all but the newest (waiting for it)."""
        while len(self._running) > (0 if wait_all else 1) or (
            self._running and self._running[0][0].done()
        ):
            future, span = self._running.popleft()
            self._stitch(future.result(), span)

    def _stitch(self, probs: npt.NDArray[np.float32], span: _BatchSpan) -> None:
        """Keep the centre bins of a batch's windows as one chunk."""
        card, b, n = self.card, self.card.bin_samples, span.windows
        if card.channels == 1:
            probs = probs.reshape(n, -1, len(card.classes), card.output_bins)
        else:
            probs = probs[:, None]
        lo = card.margin_bins
        kept = probs[:, :, :, lo : lo + self.hop // b]  # (n, groups, classes, hop bins)
        stitched = np.ascontiguousarray(kept.transpose(1, 2, 0, 3)).reshape(
            kept.shape[1], kept.shape[2], -1
        )
        cut = -(-span.last_core // b)  # bins in the last (maybe cut) core
        total = (n - 1) * (self.hop // b) + cut
        first = self.origin + span.first_core * self.factor
        self._ready.append(ProbabilityChunk(first, self.bin_samples, stitched[:, :, :total]))

    def _take_ready(self) -> list[ProbabilityChunk]:
        self._collect(wait_all=False)
        ready, self._ready = self._ready, []
        return ready
