"""Hand-over from an audio callback to a worker thread, and lost-sample detection.

:class:`CaptureQueue` is a single-producer single-consumer queue of sample frames whose
producer side is safe to call from a PortAudio callback: it copies into memory allocated up
front, never blocks, never logs, and when it is full it drops the block and counts exactly how
many frames it dropped. :class:`SampleClockCheck` compares the number of frames received with
the device's ADC timestamps to estimate samples that were lost before a block.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt


class BlockInfo(NamedTuple):
    """What the callback recorded about one block it queued.

    Attributes:
        frames: Frames (samples per channel) in the block.
        adc_time_s: ADC time of the block's first frame on the stream clock (s); 0 if the
            host API gave none.
        overflow: The host API reported lost input before this block (``paInputOverflow``).
        dropped_before: Frames the queue itself dropped right before this block because the
            worker was too slow; exact.
    """

    frames: int
    adc_time_s: float
    overflow: bool
    dropped_before: int


class CaptureQueue:
    """A lock-free frame queue between one audio callback and one worker thread.

    The producer calls :meth:`put`; the consumer looks at blocks with :meth:`peek`, accepts
    them in order with :meth:`accept`, and takes the accepted frames out with :meth:`take`.
    Counters are plain Python ints written by one side only; under the GIL their updates
    are atomic, and the producer publishes a block (``_put_blocks += 1``) only after its data
    and metadata are in place.

    Args:
        capacity_frames: Frames the queue holds.
        channels: Channels per frame.
        dtype: Sample dtype of the frames.
        max_blocks: Blocks the queue holds.
    """

    def __init__(self, capacity_frames: int, channels: int, dtype: str, max_blocks: int) -> None:
        if capacity_frames < 1 or channels < 1 or max_blocks < 1:
            raise ValueError("capacity_frames, channels and max_blocks must be >= 1")
        self.capacity_frames = capacity_frames
        self.channels = channels
        self.max_blocks = max_blocks
        self._data = np.zeros((capacity_frames, channels), dtype=dtype)
        self._frames = np.zeros(max_blocks, dtype=np.int64)
        self._times = np.zeros(max_blocks, dtype=np.float64)
        self._overflow = np.zeros(max_blocks, dtype=np.bool_)
        self._dropped = np.zeros(max_blocks, dtype=np.int64)
        # Producer-owned.
        self._put_frames = 0
        self._put_blocks = 0
        self._pending_drop = 0
        self._pending_overflow = False
        self.dropped_frames = 0
        # Consumer-owned: accepted (looked at) and released (taken out, space reusable).
        self._seen_frames = 0
        self._seen_blocks = 0
        self._got_frames = 0
        self._got_blocks = 0

    # ---------------------------------------------------------------- producer (callback)

    def put(self, frames_data: npt.NDArray[np.generic], adc_time_s: float, overflow: bool) -> bool:
        """Copy one ``(frames, channels)`` block in; called from the audio callback.

        Returns:
            False if the queue was full and the block was dropped (and counted).
        """
        frames = len(frames_data)
        capacity = self.capacity_frames
        if (
            frames > capacity - (self._put_frames - self._got_frames)
            or self._put_blocks - self._got_blocks >= self.max_blocks
        ):
            self._pending_drop += frames
            self.dropped_frames += frames
            self._pending_overflow = self._pending_overflow or overflow
            return False
        start = self._put_frames % capacity
        first = min(frames, capacity - start)
        self._data[start : start + first] = frames_data[:first]
        if first < frames:
            self._data[: frames - first] = frames_data[first:]
        slot = self._put_blocks % self.max_blocks
        self._frames[slot] = frames
        self._times[slot] = adc_time_s
        self._overflow[slot] = overflow or self._pending_overflow
        self._dropped[slot] = self._pending_drop
        self._pending_drop = 0
        self._pending_overflow = False
        self._put_frames += frames
        self._put_blocks += 1  # publishes the block
        return True

    # ---------------------------------------------------------------- consumer (worker)

    def peek(self) -> BlockInfo | None:
        """The oldest block not yet accepted, or None if there is none."""
        if self._seen_blocks >= self._put_blocks:
            return None
        slot = self._seen_blocks % self.max_blocks
        return BlockInfo(
            int(self._frames[slot]),
            float(self._times[slot]),
            bool(self._overflow[slot]),
            int(self._dropped[slot]),
        )

    def accept(self) -> int:
        """Accept the block :meth:`peek` returned; returns its frame count."""
        frames = int(self._frames[self._seen_blocks % self.max_blocks])
        self._seen_frames += frames
        self._seen_blocks += 1
        return frames

    @property
    def accepted_frames(self) -> int:
        """Frames accepted but not yet taken out."""
        return self._seen_frames - self._got_frames

    def take(self, keep_frames: int | None = None) -> npt.NDArray[np.generic]:
        """Take every accepted frame out, as a new C-ordered ``(channels, n)`` array.

        Args:
            keep_frames: Return only the first ``keep_frames`` frames (the rest are released
                and discarded); None returns all.
        """
        count = self._seen_frames - self._got_frames
        n = count if keep_frames is None else max(0, min(keep_frames, count))
        out = np.empty((self.channels, n), dtype=self._data.dtype)
        start = self._got_frames % self.capacity_frames
        first = min(n, self.capacity_frames - start)
        out[:, :first] = self._data[start : start + first].T
        if first < n:
            out[:, first:] = self._data[: n - first].T
        self._got_frames = self._seen_frames  # releases the space
        self._got_blocks = self._seen_blocks
        return out

    def take_pending_drop(self) -> int:
        """Frames dropped after the last queued block; call only once the stream stopped."""
        dropped, self._pending_drop = self._pending_drop, 0
        return dropped


class SampleClockCheck:
    """Estimates samples lost before a block from the device's ADC timestamps.

    An anchor ``(t_a, n_a)`` pairs an ADC time with the stream index of the frame captured
    then. For a block whose first frame has index ``n`` and ADC time ``t`` the deficit is
    ``(t - t_a) × rate - (n - n_a)``: samples the clock says were captured but never arrived.

    * With the host API's overflow flag set, the lost count is the deficit rounded, or, when
      the clock cannot tell (no timestamps, or a deficit below one sample), the length of the
      block itself: PortAudio discards whole host buffers, so one block is the smallest
      plausible loss.
    * Without the flag, a deficit above the tolerance (``tolerance_s`` or two blocks, whichever
      is longer) is reported as a loss of the deficit rounded. Smaller unflagged losses are
      indistinguishable from timestamp jitter and are not reported.
    * After a loss the anchor moves to the block, so errors do not accumulate; it also moves
      every ``reanchor_s`` of signal so the drift between sound-card and system clocks
      (typically < 100 ppm) never reaches the tolerance.
    * A device that delivers far more samples than its timestamps allow (virtual devices
      such as ALSA ``null``/``file`` PCMs have no sample clock) makes the check switch itself
      off after three consecutive such anchors; overflow flags are still honoured.

    Args:
        sample_rate_hz: Nominal sample rate (Hz).
        tolerance_s: Unflagged deficits up to this are treated as jitter (s).
        reanchor_s: Signal between anchor moves when nothing is lost (s).
        enabled: False to use the overflow flags only.
    """

    def __init__(
        self,
        sample_rate_hz: float,
        *,
        tolerance_s: float = 0.05,
        reanchor_s: float = 10.0,
        enabled: bool = True,
    ) -> None:
        self.rate = float(sample_rate_hz)
        self.tolerance_samples = tolerance_s * self.rate
        self.reanchor_samples = reanchor_s * self.rate
        self.enabled = enabled
        self.switched_off = False
        self._anchor: tuple[float, int] | None = None
        self._max_frames = 0
        self._fast_anchors = 0

    def lost_before(self, adc_time_s: float, first_index: int, frames: int, overflow: bool) -> int:
        """Samples lost right before a block.

        Args:
            adc_time_s: ADC time of the block's first frame (s); 0 or NaN if unknown.
            first_index: Stream index the block's first frame would have with no new loss.
            frames: Frames in the block.
            overflow: The host API flagged lost input before this block.

        Returns:
            The estimated number of lost samples per channel (0 if none).
        """
        self._max_frames = max(self._max_frames, frames)
        usable = self.enabled and math.isfinite(adc_time_s) and adc_time_s > 0
        deficit: float | None = None
        if usable and self._anchor is not None:
            t_a, n_a = self._anchor
            deficit = (adc_time_s - t_a) * self.rate - (first_index - n_a)
        tolerance = max(self.tolerance_samples, 2.0 * self._max_frames)
        lost = 0
        if overflow:
            lost = round(deficit) if deficit is not None and deficit >= 1.0 else frames
        elif deficit is not None and deficit > tolerance:
            lost = round(deficit)
        if not usable:
            return lost
        move = self._anchor is None or lost > 0
        if deficit is not None and deficit < -tolerance:
            self._fast_anchors += 1
            move = True
            if self._fast_anchors >= 3:
                self.enabled = False
                self.switched_off = True
        elif self._anchor is not None and first_index - self._anchor[1] >= self.reanchor_samples:
            self._fast_anchors = 0
            move = True
        if move:
            self._anchor = (adc_time_s, first_index + lost)
        return lost
