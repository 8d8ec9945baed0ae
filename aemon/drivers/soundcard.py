"""Soundcard capture through PortAudio (``sounddevice``), and the ``aemon devices`` command.

``sounddevice`` is imported only when a soundcard is used, so the rest of aemon works on a
machine without PortAudio. The audio callback only copies ``indata`` into a preallocated
:class:`~aemon.drivers.capture_queue.CaptureQueue`; a worker thread turns the queued frames into
``(channels, n)`` blocks for the sink and turns losses into gaps:

* ``"queue-overflow"``: blocks the queue dropped because the worker (or the sink behind it)
  was too slow; exact.
* ``"overflow"``: input PortAudio reports as lost (``status.input_overflow``), or that the
  device's ADC timestamps show never arrived; estimated as described in
  :class:`~aemon.drivers.capture_queue.SampleClockCheck`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from types import ModuleType
from typing import Any

import numpy as np

from aemon.drivers.audio_devices import (
    InputDevice,
    find_input_device,
    import_sounddevice,
    list_input_devices,
)
from aemon.drivers.capture_queue import BlockInfo, CaptureQueue, SampleClockCheck
from aemon.errors import ConfigError, SourceError
from aemon.stream.source import OpenStopContext, SourceStats, delivery_error
from aemon.types import ChannelInfo, Gap, SampleSink, StreamFormat

logger = logging.getLogger(__name__)

__all__ = [
    "InputDevice",
    "SoundcardSource",
    "find_input_device",
    "list_input_devices",
]

SUPPORTED_DTYPES = ("int16", "float32")
POLL_S = 0.005
"""How often the worker looks for new frames (s)."""
MAX_PUSH_S = 0.1
"""Longest block handed to the sink in one push (s of signal)."""
LOG_INTERVAL_S = 5.0


class SoundcardSource(OpenStopContext):
    """Capture from a soundcard; implements :class:`aemon.stream.source.Source`.

    Blocks are ``int16`` counts (``format.volts_per_count`` = ``volts_per_count``) or
    ``float32`` volts (PortAudio's normalised ±1 values × ``volts_per_count``;
    ``format.volts_per_count`` = 1). Sample indices start at 0 with the first captured frame.

    Args:
        device: Device index, name substrings (see :func:`find_input_device`), or None for
            the default input.
        sample_rate_hz: Sample rate (Hz).
        channels: Input channels (the device's first ``channels``).
        blocksize: Frames per callback; 0 lets PortAudio choose (best for glitch-free input).
        volts_per_count: Volts at the sensor per sample unit (V): per count for int16, per
            full scale for float32.
        duration_s: Stop by itself after exactly ``round(duration_s × rate)`` sample indices
            (delivered samples plus gaps); None runs until :meth:`stop`.
        dtype: ``"float32"`` or ``"int16"``.
        latency: PortAudio latency, ``"high"`` (large host buffers, safest for recording),
            ``"low"`` or seconds.
        queue_s: Signal the callback-to-worker queue holds (s).
        clock_check: Also detect unflagged losses from the ADC timestamps.
    """

    def __init__(
        self,
        device: str | int | None,
        *,
        sample_rate_hz: float,
        channels: int = 1,
        blocksize: int = 0,
        volts_per_count: float = 1.0,
        duration_s: float | None = None,
        dtype: str = "float32",
        latency: float | str = "high",
        queue_s: float = 2.0,
        clock_check: bool = True,
    ) -> None:
        if not (math.isfinite(sample_rate_hz) and sample_rate_hz > 0):
            raise ConfigError(f"sample rate must be a positive number of Hz, not {sample_rate_hz}")
        if channels < 1:
            raise ConfigError(f"channel count must be at least 1, not {channels}")
        if dtype not in SUPPORTED_DTYPES:
            raise ConfigError(f"soundcard sample format must be int16 or float32, not {dtype!r}")
        if blocksize < 0:
            raise ConfigError(f"device blocksize must be 0 (automatic) or more, not {blocksize}")
        if not (math.isfinite(volts_per_count) and volts_per_count > 0):
            raise ConfigError(f"volts per count must be positive, not {volts_per_count}")
        if duration_s is not None and not (math.isfinite(duration_s) and duration_s > 0):
            raise ConfigError(f"duration must be a positive number of seconds, not {duration_s}")
        if not queue_s > 0:
            raise ConfigError(f"queue length must be positive, not {queue_s} s")
        self.device = device
        self.blocksize = blocksize
        self.latency = latency
        self.duration_s = duration_s
        self.queue_s = queue_s
        self.clock_check = clock_check
        self._volts_per_count = volts_per_count
        scale = volts_per_count if dtype == "int16" else 1.0
        self.format = StreamFormat(float(sample_rate_hz), channels, dtype, scale)
        self.channel_info = [
            ChannelInfo(f"ch{i + 1}", volts_per_count=scale) for i in range(channels)
        ]
        self.first_sample = 0
        self.stats = SourceStats()
        self.input_device: InputDevice | None = None
        self._sd: ModuleType | None = None
        self._stream: Any = None
        self._stream_lock = threading.Lock()
        self._queue: CaptureQueue | None = None
        self._thread: threading.Thread | None = None
        self._user_stop = threading.Event()  # stop() was called
        self._halted = threading.Event()  # stop() stopped the stream: no more callbacks
        self._stream_finished = threading.Event()  # PortAudio ended the stream
        self._done = threading.Event()
        self._ended_by_itself = False
        self._error: BaseException | None = None
        self._end = None if duration_s is None else max(1, round(duration_s * sample_rate_hz))
        self._callback_frames = 0
        self._next = 0
        self._last_log = -math.inf
        self._unlogged = 0

    # ------------------------------------------------------------------ opening

    def open(self) -> None:
        """Find the device, check the settings and open (not start) the stream."""
        if self._stream is not None:
            return
        sd = self._sd = import_sounddevice()
        fmt = self.format
        dev = self.input_device = find_input_device(self.device)
        if fmt.channels > dev.max_input_channels:
            raise SourceError(
                f"audio input {dev.name!r} has {dev.max_input_channels} input channel(s), "
                f"{fmt.channels} requested; use fewer channels or another device (`aemon devices`)"
            )
        what = f"{fmt.channels} channel(s) of {fmt.dtype} at {fmt.sample_rate_hz:g} Hz"
        try:
            sd.check_input_settings(
                device=dev.index, channels=fmt.channels, dtype=fmt.dtype,
                samplerate=fmt.sample_rate_hz,
            )  # fmt: skip
        except sd.PortAudioError as exc:
            raise SourceError(
                f"audio input {dev.name!r} cannot capture {what} ({_pa_reason(exc)}); try its "
                f"default {dev.default_samplerate_hz:g} Hz or see `aemon devices`"
            ) from None
        capacity = max(round(self.queue_s * fmt.sample_rate_hz), 16 * self.blocksize, 1024)
        self._queue = CaptureQueue(capacity, fmt.channels, fmt.dtype, max_blocks=8192)
        try:
            self._stream = sd.InputStream(
                device=dev.index,
                channels=fmt.channels,
                samplerate=fmt.sample_rate_hz,
                dtype=fmt.dtype,
                blocksize=self.blocksize,
                latency=self.latency,
                callback=self._callback,
                finished_callback=self._stream_finished.set,
            )
        except sd.PortAudioError as exc:
            raise SourceError(
                f"cannot open audio input {dev.name!r} for {what} ({_pa_reason(exc)}); is "
                "another program using it? (`aemon devices` lists inputs)"
            ) from None
        logger.info("soundcard %r (%s): %s", dev.name, dev.hostapi, what)

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio callback: copy into the queue, note the flags; nothing else."""
        adc_time = time_info.inputBufferAdcTime or time_info.currentTime
        self._queue.put(indata, adc_time, status.input_overflow)  # type: ignore[union-attr]
        self._callback_frames += frames
        if self._end is not None and self._callback_frames >= self._end:
            raise self._sd.CallbackStop  # type: ignore[union-attr]

    # ------------------------------------------------------------------ running

    def start(self, sink: SampleSink) -> None:
        """Start capturing into ``sink`` (opens the device first if needed)."""
        if self._thread is not None:
            raise SourceError("soundcard source already started; open a new one")
        self.open()
        self._thread = threading.Thread(
            target=self._run, args=(sink,), name="aemon-soundcard", daemon=True
        )
        self._thread.start()
        try:
            with self._stream_lock:  # the worker may stop the stream as soon as it runs
                self._stream.start()
        except self._sd.PortAudioError as exc:  # type: ignore[union-attr]
            self._user_stop.set()
            self._halted.set()
            self._thread.join()
            raise SourceError(f"cannot start audio input: {_pa_reason(exc)}") from None

    def _run(self, sink: SampleSink) -> None:
        try:
            self._ended_by_itself = self._deliver(sink)
        except BaseException as exc:
            self._error = exc
            logger.error("soundcard delivery stopped: %r", exc)
        finally:
            if self._ended_by_itself or self._error is not None:
                self._halt_stream()
            self._done.set()

    def _deliver(self, sink: SampleSink) -> bool:
        """Move queued frames to the sink until the end; True if it ended by itself."""
        queue = self._queue
        assert queue is not None
        clock = SampleClockCheck(self.format.sample_rate_hz, enabled=self.clock_check)
        max_push = max(1, round(MAX_PUSH_S * self.format.sample_rate_hz))
        while True:
            info = queue.peek()
            if info is None:
                self._flush(sink)
                if self._halted.is_set() or self._stream_finished.is_set():
                    if queue.peek() is not None:
                        continue
                    dropped = queue.take_pending_drop()
                    if dropped:
                        self._emit_gap(
                            sink, Gap(self._next, self._next + dropped, "queue-overflow")
                        )
                    if self._end is not None and self._next >= self._end:
                        return True
                    if self._user_stop.is_set():
                        return False
                    raise SourceError(
                        "audio input stopped by itself (device removed or failed?); check it "
                        "with `aemon devices` and start again"
                    )
                time.sleep(POLL_S)
                continue
            gaps = self._losses(info, clock)
            if gaps:
                self._flush(sink)
                for gap in gaps:
                    if self._emit_gap(sink, gap):
                        return True
            frames = queue.accept()
            self._next += frames
            with self.stats.lock:
                self.stats.frames += 1
            if self._end is not None and self._next >= self._end:
                self._flush(sink)
                return True
            if queue.accepted_frames >= max_push:
                self._flush(sink)

    def _losses(self, info: BlockInfo, clock: SampleClockCheck) -> list[Gap]:
        gaps, start = [], self._next
        if info.dropped_before:
            gaps.append(Gap(start, start + info.dropped_before, "queue-overflow"))
            start += info.dropped_before
        was_on = clock.enabled
        lost = clock.lost_before(info.adc_time_s, start, info.frames, info.overflow)
        if was_on and clock.switched_off:
            logger.info(
                "soundcard delivers samples faster than its timestamps allow (a virtual "
                "device?); losses are now detected from PortAudio's overflow flags only"
            )
        if lost:
            gaps.append(Gap(start, start + lost, "overflow"))
        return gaps

    def _flush(self, sink: SampleSink) -> None:
        queue = self._queue
        assert queue is not None
        count = queue.accepted_frames
        if not count:
            return
        first = self._next - count
        keep = None if self._end is None else self._end - first
        block = queue.take(keep)
        if self.format.dtype == "float32" and self._volts_per_count != 1.0:
            np.multiply(block, np.float32(self._volts_per_count), out=block)
        if block.shape[1]:
            sink.push(first, block)
            with self.stats.lock:
                self.stats.samples += block.shape[1]

    def _emit_gap(self, sink: SampleSink, gap: Gap) -> bool:
        """Report ``gap`` (clipped to the end); True if the end is reached."""
        stop = gap.stop_sample if self._end is None else min(gap.stop_sample, self._end)
        if stop > gap.start_sample:
            gap = Gap(gap.start_sample, stop, gap.reason)
            sink.gap(gap)
            with self.stats.lock:
                self.stats.gaps += 1
                self.stats.samples_lost += gap.samples
            self._log_gap(gap)
        self._next = max(self._next, stop)
        return self._end is not None and self._next >= self._end

    def _log_gap(self, gap: Gap) -> None:
        now = time.monotonic()
        if now - self._last_log < LOG_INTERVAL_S:
            self._unlogged += 1
            return
        more = f" (+{self._unlogged} more since the last report)" if self._unlogged else ""
        logger.warning(
            "soundcard lost %d samples at %d (%s)%s; total %d gaps",
            gap.samples, gap.start_sample, gap.reason, more, self.stats.gaps,
        )  # fmt: skip
        self._last_log, self._unlogged = now, 0

    # ------------------------------------------------------------------ ending

    def _halt_stream(self) -> None:
        with self._stream_lock:
            if self._stream is not None and not self._stream.closed:
                try:
                    self._stream.stop()
                except self._sd.PortAudioError as exc:  # type: ignore[union-attr]
                    logger.warning("stopping audio input failed: %s", _pa_reason(exc))

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the capture to end.

        Returns:
            True once it ended by itself (``duration_s`` reached); False on timeout or after
            :meth:`stop`.

        Raises:
            SourceError: If delivery stopped because the sink raised or the device failed.
        """
        if self._thread is None:
            return False
        self._done.wait(timeout)
        if self._error is not None:
            raise delivery_error(self._error, "soundcard delivery stopped")
        return self._done.is_set() and self._ended_by_itself

    def stop(self) -> None:
        """Stop the stream, deliver what was captured, and close (idempotent)."""
        self._user_stop.set()
        self._halt_stream()  # no more callbacks; everything captured is in the queue
        self._halted.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._stream_lock:
            if self._stream is not None and not self._stream.closed:
                self._stream.close(ignore_errors=True)


def _pa_reason(exc: BaseException) -> str:
    """PortAudio's error text without the error code."""
    return str(exc.args[0]) if exc.args else str(exc)
