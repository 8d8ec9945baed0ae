"""``spotwave://PORT``: continuous data from a Vallen spotWave through the ``waveline`` library.

A spotWave (one channel, 2 MHz clock) has no raw stream port: :class:`SpotWaveSource` puts
it in continuous mode with transient recording on, so the device cuts the signal into
records of ``ddt`` (about 50 000 samples each, a quarter of its buffer), and polls
``get_tr_data(raw=True)`` every :data:`POLL_INTERVAL_S`. Each record carries its time ``T``
in clock ticks since ``start_acq``, so:

* a **buffer overflow** (records the device had to drop) shows as a jump of ``T`` and
  becomes an exact gap of reason ``"overflow"``;
* a **lost port** (USB unplugged, emulator gone) is retried every 0.5 s; acquisition is
  restarted and the down time (host clock) is a ``"restart"`` gap.

Samples are the device's int16 counts; volts per count is the device's ``adc2uv``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np

from aemon.drivers.waveline_settings import WaveLineSettings
from aemon.drivers.waveline_support import (
    RECONNECT_INTERVAL_S,
    DeviceChangedError,
    import_waveline,
    report_gap,
)
from aemon.errors import ConfigError, SourceError
from aemon.stream.source import OpenStopContext, SourceStats, delivery_error
from aemon.types import RESTART, ChannelInfo, Gap, SampleSink, StreamFormat

logger = logging.getLogger(__name__)

CLOCK_HZ = 2_000_000.0
POLL_INTERVAL_S = 0.01
RECORD_TICKS = 50_000
"""Clock ticks per continuous-mode record (25 ms): ``ddt = 25 000 µs × decimation``."""


class SpotWaveSource(OpenStopContext):
    """A spotWave's continuous signal; implements ``aemon.stream.source.Source``.

    Args:
        port: Serial port (``/dev/ttyACM0``, ``COM6``, or the emulator's ``/dev/pts/N``).
        settings: Acquisition settings (filters, decimation); None for the defaults.
        channel_count: ``--channels``: must be 1 if given.
        duration_s: Stop by itself after this much signal (s).
        connect_timeout_s: How long opening keeps trying the port (s).
    """

    format: StreamFormat
    channel_info: list[ChannelInfo]

    def __init__(
        self,
        port: str,
        *,
        settings: WaveLineSettings | None = None,
        channel_count: int | None = None,
        duration_s: float | None = None,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self.port = port
        self.settings = settings or WaveLineSettings()
        if channel_count not in (None, 1) or self.settings.channels not in (None, (1,)):
            raise ConfigError("a spotWave has one channel; drop --channels or use 1")
        self.duration_s, self.connect_timeout_s = duration_s, connect_timeout_s
        self.stats = SourceStats()
        self.first_sample = 0
        self.start_time_utc: datetime | None = None
        self.description = ""
        self._waveline = import_waveline()
        self._device: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._ended_by_itself = False
        self._error: BaseException | None = None

    def open(self) -> None:
        """Open the port and configure the device; SourceError naming the port on failure."""
        if self._device is not None:
            return
        self._connect(self.connect_timeout_s)
        self.stats.notes.append(("device", 0, 0, self.description))

    def _connect(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                device = self._waveline.SpotWave(self.port)
                break
            except (OSError, RuntimeError, ValueError, AssertionError) as exc:
                why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if time.monotonic() >= deadline or self._stop.is_set():
                raise SourceError(
                    f"no spotWave answered on {self.port} within {timeout_s:g} s ({why}); check "
                    "the port (waveline.SpotWave.discover() lists spotWaves), the USB cable, "
                    "and that no other program has the port open"
                )
            time.sleep(RECONNECT_INTERVAL_S)
        fmt = self._configure(device)
        if self._device is None and not hasattr(self, "format"):
            self.format = fmt
            self.channel_info = [ChannelInfo("ch1", volts_per_count=fmt.volts_per_count)]
        elif fmt != self.format:
            device.close()
            raise DeviceChangedError(
                f"spotWave on {self.port} came back as {fmt}, not {self.format}; start a new "
                "recording for the new settings"
            )
        self._device = device

    def _configure(self, device: Any) -> StreamFormat:
        settings = self.settings
        info = device.get_info()
        settings.range_index(list(info.input_range))  # a spotWave has one range: check it
        decimation = settings.resolve_decimation(CLOCK_HZ, 1)
        device.set_continuous_mode(True)
        device.set_ddt(RECORD_TICKS * decimation // 2)
        device.set_status_interval(0)
        device.set_tr_enabled(True)
        device.set_tr_decimation(decimation)
        device.set_tr_pretrigger(0)
        device.set_tr_postduration(0)
        if settings.highpass_hz or settings.lowpass_hz or settings.filter_order is not None:
            order = 4 if settings.filter_order is None else settings.filter_order
            device.set_filter(settings.highpass_hz, settings.lowpass_hz, order)
        setup = device.get_setup()
        self._decimation = setup.tr_decimation
        rate = CLOCK_HZ / self._decimation
        self.description = (
            f"spotWave fw {info.firmware_version} on {self.port}: {rate:g} Hz (decimation "
            f"{self._decimation}), range {info.input_range[0] if info.input_range else '?'}, "
            f"{setup.adc_to_volts * 1e6:g} µV/count (device adc2uv), filter "
            f"{setup.filter_highpass_hz or 'none'}-{setup.filter_lowpass_hz or 'none'} Hz "
            f"order {setup.filter_order}"
        )
        return StreamFormat(rate, 1, "int16", float(setup.adc_to_volts))

    def start(self, sink: SampleSink) -> None:
        """Start acquisition; records are polled and delivered on the source's own thread."""
        if self._thread is not None:
            raise RuntimeError("SpotWaveSource.start() called twice")
        self.open()
        self._thread = threading.Thread(target=self._run, args=(sink,), name="spotwave")
        self._thread.start()

    def _run(self, sink: SampleSink) -> None:
        rate = self.format.sample_rate_hz
        limit = None if self.duration_s is None else round(self.duration_s * rate)
        offset, expected, last_at = 0, 0, time.time()
        try:
            while not self._stop.is_set():
                self._device.start_acquisition()
                started = time.time()
                if self.start_time_utc is None:
                    self.start_time_utc = datetime.fromtimestamp(started, UTC)
                elif last_at:
                    down_s = started - last_at
                    down = max(1, round(down_s * rate))
                    detail = (f"spotWave on {self.port} lost ({self._why}); "
                              f"{down_s:.3f} s without samples (host clock)")  # fmt: skip
                    self._gap(sink, Gap(expected, expected + down, RESTART, detail))
                    offset = expected = expected + down
                try:
                    while not self._stop.is_set():
                        self._device.get_ae_data()  # the hit of each record: not needed
                        for record in self._device.get_tr_data(raw=True):
                            index = offset + round(record.time * CLOCK_HZ) // self._decimation
                            expected = self._deliver(sink, index, record.data, expected, limit)
                            last_at = time.time()
                            if limit is not None and expected >= limit:
                                self._ended_by_itself = True
                                return
                        time.sleep(POLL_INTERVAL_S)
                except (OSError, ValueError, AssertionError) as exc:  # the port went away
                    self._why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    logger.warning("%s: %s; reconnecting", self.port, self._why)
                    with contextlib.suppress(Exception):
                        self._device.close()
                    self._device = None
                    while self._device is None and not self._stop.is_set():
                        try:
                            self._connect(2.0)
                        except DeviceChangedError:
                            raise
                        except SourceError:
                            continue
        except BaseException as exc:
            self._error = exc
            logger.error("%s: acquisition stopped: %r", self.port, exc)
        finally:
            self._disconnect()
            self._done.set()

    def _deliver(
        self, sink: SampleSink, index: int, data: Any, expected: int, limit: int | None
    ) -> int:
        counts = np.ascontiguousarray(np.asarray(data, dtype=np.int16)[None, :])
        if index < expected:  # overlaps what was delivered: keep the new part only
            counts, index = counts[:, expected - index :], expected
        stop = index if limit is None else min(index, limit)  # a gap ends at --duration too
        if stop > expected:
            detail = (f"spotWave on {self.port}: records of {index - expected} samples lost "
                      "(device buffer overflow; exact, from the record times)")  # fmt: skip
            self._gap(sink, Gap(expected, stop, "overflow", detail))
        if limit is not None:
            counts = counts[:, : max(limit - index, 0)]
        if counts.shape[1]:
            sink.push(index, counts)
            with self.stats.lock:
                self.stats.frames += 1
                self.stats.samples += counts.shape[1]
        return index + counts.shape[1]

    def _gap(self, sink: SampleSink, gap: Gap) -> None:
        logger.warning("%s: %s", self.port, gap.detail)
        report_gap(sink, self.stats, gap)

    _why = "no answer"

    def _disconnect(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            with contextlib.suppress(Exception):
                device.stop_acquisition()
                device.close()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the source ended by itself (``duration_s``); raises if it failed."""
        if self._thread is not None:
            self._done.wait(timeout)
        if self._error is not None:
            raise delivery_error(self._error, f"spotwave://{self.port}: acquisition stopped")
        return self._done.is_set() and self._ended_by_itself

    def stop(self) -> None:
        """Stop acquisition and close the port (idempotent)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10.0)
        self._disconnect()
