"""``linwave://HOST``: continuous data from a Vallen linWave through the ``waveline`` library.

:class:`LinWaveSource` implements :class:`aemon.stream.source.Source`. It runs
``waveline.LinWave`` (asyncio) on a thread of its own: opening connects (retrying until
``connect_timeout_s``), applies the :class:`~aemon.drivers.waveline_settings.WaveLineSettings`
and reads back what the device set (``get_setup``: the decimation and the device's own
ADC-to-volts factor of each channel). ``start`` opens one stream per channel
(``LinWave.stream(raw=True)``: int16 counts as the device sent them), starts acquisition and
pushes ``(channels, n)`` int16 blocks; the format is the device's rate (10 MHz / decimation)
and volts per count.

Faults become recorded gaps, and acquisition goes on:

* **stream stalls** for ``stall_timeout_s`` (the library's documented sign of a device
  buffer overflow): the source asks ``get_status``, restarts acquisition and reports a gap of
  reason ``"overflow"`` (the device says it stopped recording) or ``"stall"``, with the
  device's status in the ``/incidents`` note;
* **connection lost** (device off, cable, emulator killed): reconnects every
  :data:`RECONNECT_INTERVAL_S` until it answers, re-applies the settings and reports a
  ``"restart"`` gap (a new recording segment) naming the cause and the down time.

The device's sample counter restarts with each acquisition, so both gaps are measured with
the host clock: from the arrival of the last block to the ``start_acq`` that follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np

from aemon.drivers.waveline_settings import DEFAULT_DECIMATION, WaveLineSettings
from aemon.drivers.waveline_support import (
    RECONNECT_INTERVAL_S,
    DeviceChangedError,
    bound_receive_buffers,
    close_streams,
    error_reason,
    import_waveline,
    next_blocks,
    open_linwave,
    report_gap,
)
from aemon.errors import ConfigError, SourceError
from aemon.stream.source import OpenStopContext, SourceStats, delivery_error
from aemon.types import RESTART, ChannelInfo, Gap, SampleSink, StreamFormat

logger = logging.getLogger(__name__)

LINWAVE_PORT = 5432
BLOCK_S = 0.02
"""Signal per block read from each stream (s)."""
RECEIVE_BUFFER_S = 0.1
"""Signal the kernel may hold for us per stream (s): when aemon falls behind, the device's
own buffer takes the lag (and reports an overflow) instead of megabytes of socket buffer."""


class _DeviceFault(NamedTuple):
    """Why the stream stopped: ``reason`` is the gap reason, ``detail`` one line for people."""

    reason: str
    detail: str


class LinWaveSource(OpenStopContext):
    """A linWave's continuous stream; implements ``aemon.stream.source.Source``.

    Args:
        host: The device's IP address (or host name).
        port: Control port (5432 on a device; the emulator may use another), streams on
            ``port + channel``.
        settings: Acquisition settings; None for the defaults (all channels, 50 mV range,
            no filters, decimation 5 = 2 MHz).
        channel_count: ``--channels N``: stream channels 1..N (if ``settings`` names none).
        duration_s: Stop by itself after this much signal (s).
        connect_timeout_s: How long opening (and each reconnection try) waits (s).
    """

    format: StreamFormat
    channel_info: list[ChannelInfo]

    def __init__(
        self,
        host: str,
        *,
        port: int = LINWAVE_PORT,
        settings: WaveLineSettings | None = None,
        channel_count: int | None = None,
        duration_s: float | None = None,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self.host, self.port = host, port
        self.settings = settings or WaveLineSettings()
        self.channel_count = channel_count
        self.duration_s = duration_s
        self.connect_timeout_s = connect_timeout_s
        self.stats = SourceStats()
        self.first_sample = 0
        self.start_time_utc: datetime | None = None
        self.channels: list[int] = []
        self.description = ""
        import_waveline()  # the one-line error now if waveline is not installed
        self._device: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None  # run by _loop_thread (open)
        self._loop_thread: threading.Thread | None = None
        self._task: Any = None
        self._done = threading.Event()
        self._ended_by_itself = False
        self._error: BaseException | None = None

    @property
    def address(self) -> str:
        """``HOST:PORT`` of the control connection."""
        return f"{self.host}:{self.port}"

    # -- opening ------------------------------------------------------------------------------

    def open(self) -> None:
        """Connect, configure, and learn the format. SourceError naming the address if the
        device does not answer within ``connect_timeout_s``."""
        if self._device is not None:
            return
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._loop_thread = threading.Thread(
                target=self._loop.run_forever, name=f"linwave {self.host}", daemon=True
            )
            self._loop_thread.start()
        try:
            self._run(self._connect(self.connect_timeout_s, first=True))
        except BaseException:
            self.close()
            raise

    def _run(self, coro: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def _connect(self, timeout_s: float, *, first: bool) -> None:
        """Connect (retrying refused connections until ``timeout_s``) and configure."""
        deadline = time.monotonic() + timeout_s
        why = "no answer"
        while True:
            device = open_linwave(self.host, self.port)
            try:
                await asyncio.wait_for(device.connect(), max(deadline - time.monotonic(), 0.1))
                break
            except (OSError, TimeoutError, RuntimeError, ValueError) as exc:
                why = error_reason(exc)
                with contextlib.suppress(Exception):
                    await device.close()
            left = deadline - time.monotonic()
            if left <= 0:
                raise SourceError(
                    f"no linWave answered at {self.address} within {timeout_s:g} s ({why}); "
                    "check the address (waveline.LinWave.discover() lists devices), that the "
                    "device is on and on this network, and that no other program is "
                    "connected to it"
                )
            await asyncio.sleep(min(RECONNECT_INTERVAL_S, left))
        self._device = device
        fmt, info, description = await self._configure(device)
        if first:
            self.format, self.description = fmt, description
            self.channel_info = [
                ChannelInfo(name=f"ch{c}", volts_per_count=v)
                for c, v in zip(self.channels, info, strict=True)
            ]
            logger.info("%s: %s", self.address, description)
            self.stats.notes.append(("device", 0, 0, description))
        elif fmt != self.format:
            raise DeviceChangedError(
                f"linWave at {self.address} came back as {fmt}, not {self.format}; start a "
                "new recording for the new settings"
            )

    async def _configure(self, device: Any) -> tuple[StreamFormat, list[float], str]:
        """Apply the settings; return the format, volts per count per channel and a line."""
        settings = self.settings
        info = await device.get_info()
        available = list(range(1, info.channel_count + 1))
        chans = list(settings.channels or available[: self.channel_count or len(available)])
        if self.channel_count is not None and len(chans) != self.channel_count:
            raise ConfigError(f"--channels {self.channel_count} but the settings name {chans}")
        missing = [c for c in chans if c not in available]
        if missing or not chans:
            raise ConfigError(
                f"linWave at {self.address} has channels {available}, not {missing or chans}"
            )
        range_index = settings.range_index(list(info.input_range))
        decimation = settings.resolve_decimation(device.MAX_SAMPLERATE, DEFAULT_DECIMATION)
        await device.set_channel(0, False)
        for channel in chans:
            await device.set_channel(channel, True)
        await device.set_range_index(0, range_index)
        await device.set_tr_decimation(0, decimation)
        if settings.highpass_hz or settings.lowpass_hz or settings.filter_order is not None:
            order = 8 if settings.filter_order is None else settings.filter_order
            await device.set_filter(0, settings.highpass_hz, settings.lowpass_hz, order)
        setups = [await device.get_setup(channel) for channel in chans]
        decimations = {s.tr_decimation for s in setups}
        if len(decimations) != 1:
            raise SourceError(f"linWave at {self.address} set decimations {sorted(decimations)}")
        actual = decimations.pop()
        if actual != decimation:
            logger.warning("%s: asked for decimation %d, the device set %d",
                           self.address, decimation, actual)  # fmt: skip
        rate = device.MAX_SAMPLERATE / actual
        volts = [float(s.adc_to_volts) for s in setups]
        self.channels = chans
        fmt = StreamFormat(rate, len(chans), "int16", volts[0])
        filters = setups[0]
        description = (
            f"linWave {info.hardware_id or '?'} fw {info.firmware_version} at {self.address}: "
            f"channels {chans}, {rate:g} Hz (decimation {actual}), range "
            f"{info.input_range[range_index]}, {volts[0] * 1e6:g} µV/count (device adc2uv), "
            f"filter {_hz(filters.filter_highpass_hz)}-{_hz(filters.filter_lowpass_hz)} "
            f"order {filters.filter_order}"
        )
        if len(set(volts)) > 1:
            raise SourceError(f"linWave at {self.address}: channels differ in V/count {volts}")
        return fmt, volts, description

    # -- streaming ----------------------------------------------------------------------------

    def start(self, sink: SampleSink) -> None:
        """Start acquisition, delivering to ``sink`` from the source's own thread."""
        if self._task is not None:
            raise RuntimeError("LinWaveSource.start() called twice")
        self.open()
        assert self._loop is not None
        self._task = asyncio.run_coroutine_threadsafe(self._acquire(sink), self._loop)

    async def _acquire(self, sink: SampleSink) -> None:
        rate = self.format.sample_rate_hz
        limit = None if self.duration_s is None else round(self.duration_s * rate)
        block = max(1, round(BLOCK_S * rate))
        next_index, last_block_at = 0, time.time()
        fault: _DeviceFault | None = None
        try:
            while True:
                device = self._device
                streams = [
                    device.stream(c, block, raw=True, timeout=self.settings.stall_timeout_s)
                    for c in self.channels
                ]
                await device.start_acquisition()
                started = time.time()
                await bound_receive_buffers(streams, round(RECEIVE_BUFFER_S * rate * 2))
                if fault is None:
                    self.start_time_utc = datetime.fromtimestamp(started, UTC)
                else:
                    down = started - last_block_at
                    next_index = self._gap(sink, next_index, down, rate, fault, limit)
                last_block_at = started  # the signal is there from here, block or not
                try:
                    while limit is None or next_index < limit:
                        blocks = await next_blocks(streams)
                        samples = np.stack(blocks)
                        if limit is not None:
                            samples = samples[:, : limit - next_index]
                        sink.push(next_index, samples)
                        next_index += samples.shape[1]
                        last_block_at = time.time()
                        with self.stats.lock:
                            self.stats.frames += 1
                            self.stats.samples += samples.shape[1]
                    self._ended_by_itself = True
                    return
                except TimeoutError:
                    fault = await self._stalled()
                except (StopAsyncIteration, OSError, asyncio.IncompleteReadError) as exc:
                    lost = f"connection to linWave {self.address} lost ({error_reason(exc)})"
                    fault = _DeviceFault(RESTART, lost)
                finally:
                    await close_streams(streams)
                logger.warning("%s: %s", self.address, fault.detail)
                if fault.reason == RESTART:
                    await self._reconnect()
        except asyncio.CancelledError:
            pass
        except BaseException as exc:
            self._error = exc
            logger.error("%s: acquisition stopped: %r", self.address, exc)
        finally:
            await self._disconnect()
            self._done.set()

    async def _stalled(self) -> _DeviceFault:
        """The stream stopped for ``stall_timeout_s``: ask the device why, stop acquisition."""
        device = self._device
        waited = f"no samples for {self.settings.stall_timeout_s:g} s"
        try:
            status = await asyncio.wait_for(device.get_status(), 5.0)
            await device.stop_acquisition()
        except (OSError, TimeoutError, RuntimeError) as exc:
            why = error_reason(exc)
            return _DeviceFault(RESTART, f"linWave {self.address}: {waited}, then {why}")
        said = ", ".join(f"{k}={v}" for k, v in status.extra.items())
        if not status.recording:
            return _DeviceFault(
                "overflow",
                f"linWave {self.address} stopped acquiring ({waited}; recording=0, {said}): "
                "device buffer overflow; acquisition restarted",
            )
        return _DeviceFault("stall", f"linWave {self.address}: {waited} ({said}); restarted")

    async def _reconnect(self) -> None:
        """Reconnect until the device answers (or the task is cancelled)."""
        await self._disconnect()
        while True:
            try:
                await self._connect(RECONNECT_INTERVAL_S * 4, first=False)
                logger.warning("%s: reconnected", self.address)
                return
            except DeviceChangedError:
                raise
            except SourceError:
                await asyncio.sleep(RECONNECT_INTERVAL_S)

    def _gap(
        self,
        sink: SampleSink,
        at: int,
        down_s: float,
        rate: float,
        fault: _DeviceFault,
        limit: int | None,
    ) -> int:
        """Report the down time as a gap at sample ``at`` (ending at ``limit`` at the latest:
        ``--duration``); return the next sample index."""
        samples = max(1, round(down_s * rate))
        if limit is not None:
            samples = max(min(samples, limit - at), 0)
            if samples == 0:
                return at
        detail = f"{fault.detail}; {down_s:.3f} s without samples (host clock)"
        report_gap(sink, self.stats, Gap(at, at + samples, fault.reason, detail))
        return at + samples

    async def _disconnect(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(device.close(), 2.0)

    # -- ending -------------------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> bool:
        """True once the source ended by itself (``duration_s``); raises if it failed."""
        if self._task is not None:
            self._done.wait(timeout)
        if self._error is not None:
            raise delivery_error(self._error, f"linwave://{self.host}: acquisition stopped")
        return self._done.is_set() and self._ended_by_itself

    def stop(self) -> None:
        """Stop acquisition and disconnect (idempotent)."""
        task = self._task
        if task is not None and self._loop is not None and not self._done.is_set():
            self._loop.call_soon_threadsafe(task.cancel)
            self._done.wait(10.0)
        self.close()

    def close(self) -> None:
        """Disconnect and end the source's thread."""
        loop, thread = self._loop, self._loop_thread
        if loop is None or thread is None:
            return
        if thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._disconnect(), loop).result(5.0)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5.0)
        if not thread.is_alive() and not loop.is_closed():
            loop.close()


def _hz(value: float | None) -> str:
    return "none" if value is None else f"{value / 1e3:g} kHz"
