"""A linWave on loopback: the device's TCP protocol as the ``waveline`` client speaks it.

Written from ``waveline.LinWave`` (``waveline`` 0.10): the client sends one ASCII command per
line on the **control port** (5432 on a device) and reads continuous data, raw little-endian
int16 counts without any framing, from one **stream port** per channel (control port + 1 for
channel 1, + 2 for channel 2). What the emulator answers:

======================================  =================================================
command                                 answer
======================================  =================================================
``get_info``                            ``fw_version``, ``channel_count``, ``input_range``,
                                        ``adc2uv`` (µV per count for each range), ...
``get_status``                          ``temp``, ``recording``, ``pulsing``,
                                        ``buffer_overflows`` (emulator's count)
``get_setup @C``                        ``adc_range``, ``adc2uv``, ``filter``, ``enabled``,
                                        ``tr_decimation``, ... of channel C
``get_ae_data`` / ``get_tr_data``       no records (an empty line): streaming only
``get_tr_snapshot N @C``                no records (an empty line)
``set_adc_range R @C``,                 stored, no answer (as on the device); ``@0`` means
``set_acq KEY VALUE @C``,               both channels
``set_filter HP LP ORDER @C``
``start_acq`` / ``stop_acq``            streaming starts / stops on the stream ports
``identify``, ``*_pulsing``             accepted, no answer
======================================  =================================================

The sample rate is 10 MHz / ``tr_decimation``. Samples come from ``signal(rate_hz,
volts_per_count)``, paced by the wall clock from the first ``start_acq``: blocks that fall
while acquisition is stopped (or after an overflow) are dropped, as a device does, so
the signal's time base stays the wall clock's. ``on_sent`` sees every block that went out.

Faults for tests: ``overflow_at_s`` stops acquisition that far into the signal, as a device
whose buffer overflowed (the stream stalls; ``get_status`` says ``recording=0`` and counts
the overflow) until the client starts it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

CONTROL_PORT = 5432
"""A linWave's control port; the stream ports are ``CONTROL_PORT + channel``."""
CLOCK_HZ = 10_000_000.0
"""linWave ADC clock (Hz): the stream rate is this over ``tr_decimation``."""
ADC_TO_MICROVOLTS = (1.5625, 156.25)
"""µV per count of the 50 mV and 5 V ranges (what a linWave reports as ``adc2uv``)."""
FIRMWARE = "2.13"
SEND_BUFFER_BYTES = 65536
"""Kernel send buffer of each stream connection (bytes)."""


class SignalBlock(Protocol):
    """What the emulator sends: int16 ``(channels, n)`` counts from an absolute index."""

    first_sample: int
    samples: npt.NDArray[np.int16]


Signal = Callable[[float, float], Iterator[Any]]
"""``signal(rate_hz, volts_per_count)`` → blocks (:class:`SignalBlock`), forever or to the end."""


@dataclass
class ChannelSetup:
    """One emulated channel's settings, as ``set_*`` commands leave them."""

    range_index: int = 0
    decimation: int = 1
    enabled: bool = True
    filter: str = "none-none kHz, order 0"
    acq: dict[str, str] = field(default_factory=dict)


class LinWaveEmulator:
    """Serves the linWave protocol on ``host``: control ``port``, streams ``port + 1, + 2``.

    Args:
        signal: Makes the sample blocks for a rate and a volts-per-count.
        host: Address to listen on (loopback by default).
        port: Control port; the stream ports follow it.
        channels: Channels the emulated device has (1 or 2).
        adc_to_microvolts: µV per count of each input range.
        fixed_decimation: The only decimation the signal exists at (a replayed file), or
            None to follow the client's ``tr_decimation``.
        overflow_at_s: Stop acquisition (buffer overflow) this far into the signal (s).
        on_sent: Called with every block sent.
        end_when_client_leaves: End :meth:`serve` when the control client disconnects after
            an acquisition (as ``aemon daq-sim`` ends when its receiver has gone).
    """

    def __init__(
        self,
        signal: Signal,
        *,
        host: str = "127.0.0.1",
        port: int = CONTROL_PORT,
        channels: int = 2,
        adc_to_microvolts: tuple[float, ...] = ADC_TO_MICROVOLTS,
        fixed_decimation: int | None = None,
        overflow_at_s: float | None = None,
        on_sent: Callable[[Any], None] | None = None,
        end_when_client_leaves: bool = False,
    ) -> None:
        if channels not in (1, 2):
            raise ValueError(f"a linWave has 1 or 2 channels, not {channels}")
        self.signal, self.host, self.port, self.channels = signal, host, port, channels
        self.adc_to_microvolts = adc_to_microvolts
        self.fixed_decimation = fixed_decimation
        self.overflow_at_s = overflow_at_s
        self.on_sent = on_sent
        self.end_when_client_leaves = end_when_client_leaves
        self.setup = {c: ChannelSetup() for c in range(1, channels + 1)}
        if fixed_decimation is not None:
            for setup in self.setup.values():
                setup.decimation = fixed_decimation
        self.recording = False
        self.overflows = 0
        self.blocks_sent = 0
        self.ended = asyncio.Event()
        self._streams: dict[int, asyncio.StreamWriter] = {}
        self._pacing: asyncio.Task[None] | None = None
        self._servers: list[asyncio.base_events.Server] = []

    # -- serving ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on the control and stream ports (OSError if one is taken)."""
        self._servers.append(await asyncio.start_server(self._control, self.host, self.port))
        for channel in self.setup:
            server = await asyncio.start_server(
                functools.partial(self._stream, channel), self.host, self.port + channel
            )
            self._servers.append(server)
        logger.info("linWave emulator on %s:%d (streams +1, +2)", self.host, self.port)

    async def serve(self) -> None:
        """Start, then serve until the signal ends (or the task is cancelled)."""
        await self.start()
        try:
            await self.ended.wait()
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        if self._pacing is not None:
            self._pacing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pacing
        for writer in self._streams.values():
            writer.close()
        self._streams.clear()
        for server in self._servers:
            server.close()
        self._servers.clear()

    async def _stream(
        self, channel: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        old = self._streams.get(channel)
        if old is not None:
            old.close()
        sock = writer.get_extra_info("socket")
        if sock is not None:  # hold little in flight, as a device does
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        self._streams[channel] = writer
        with contextlib.suppress(ConnectionError):
            await reader.read()  # the client never sends; returns when it closes
        if self._streams.get(channel) is writer:
            del self._streams[channel]
        writer.close()

    async def _control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                answer = self.answer(line.decode("ascii", errors="replace").strip())
                if answer is not None:
                    writer.write(answer.encode())
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            if self.end_when_client_leaves and self._pacing is not None:
                self.ended.set()  # the client acquired and went: the run is over

    # -- commands -----------------------------------------------------------------------------

    def answer(self, command: str) -> str | None:
        """The device's answer to one command line, or None for commands it does not answer."""
        words, channels = command.split(), list(self.setup)
        if words and words[-1].startswith("@"):
            target = int(words.pop()[1:])
            channels = list(self.setup) if target == 0 else [target]
        if not words:
            return None
        name, args = words[0], words[1:]
        if name == "get_info":
            return self._info()
        if name == "get_status":
            return (
                f"temp=42 °C\nrecording={int(self.recording)}\npulsing=0\n"
                f"buffer_overflows={self.overflows}\n\n"
            )
        if name == "get_setup":
            return self._setup(self.setup[channels[0]], channels[0])
        if name in ("get_ae_data", "get_tr_data", "get_tr_snapshot"):
            return "\n"
        if name == "start_acq":
            self._start_acquisition()
        elif name == "stop_acq":
            self.recording = False
        elif name in ("set_adc_range", "set_acq", "set_filter"):
            for channel in channels:
                self._set(self.setup[channel], name, args)
        elif name not in ("identify", "start_pulsing", "stop_pulsing"):
            logger.warning("linWave emulator: unknown command %r", command)
        return None

    def _info(self) -> str:
        ranges = ", ".join(("50 mV", "5 V")[: len(self.adc_to_microvolts)])
        adc2uv = " ".join(f"{v:g}" for v in self.adc_to_microvolts)
        return (
            f"hw_id=EMULATOR\nfw_version={FIRMWARE}\nfpga_version=3.1\n"
            f"channel_count={self.channels}\nrange_count={len(self.adc_to_microvolts)}\n"
            f"input_range={ranges}\nmax_sample_rate={CLOCK_HZ:.0f}\nadc2uv={adc2uv}\n\n"
        )

    def _setup(self, setup: ChannelSetup, channel: int) -> str:
        acq = setup.acq
        return (
            f"channel={channel}\ndsp\nadc_range={setup.range_index}\n"
            f"adc2uv={self.adc_to_microvolts[setup.range_index]:g}\nfilter={setup.filter}\n"
            f"ae\nenabled={int(setup.enabled)}\ncont={acq.get('cont', '0')}\n"
            f"thr={acq.get('thr', '1000')} uV\nddt={acq.get('ddt', '400')} us\n"
            f"status_interval={acq.get('status_interval', '1000')} ms\ntr\n"
            f"tr_enabled={acq.get('tr_enabled', '0')}\ntr_decimation={setup.decimation}\n"
            f"tr_pre_trig={acq.get('tr_pre_trig', '100')}\n"
            f"tr_post_dur={acq.get('tr_post_dur', '100')}\n\n"
        )

    def _set(self, setup: ChannelSetup, name: str, args: list[str]) -> None:
        try:
            if name == "set_adc_range":
                index = int(args[0])
                if 0 <= index < len(self.adc_to_microvolts):
                    setup.range_index = index
            elif name == "set_filter":
                hp, lp, order = args[0], args[1], args[2]
                setup.filter = f"{hp}-{lp} kHz, order {order}"
            elif args[0] == "enabled":
                setup.enabled = args[1] == "1"
            elif args[0] == "tr_decimation":
                wanted = max(1, int(args[1]))
                if self.fixed_decimation is not None and wanted != self.fixed_decimation:
                    logger.warning(
                        "linWave emulator: the replayed signal exists at decimation %d only; "
                        "ignoring tr_decimation %d", self.fixed_decimation, wanted,
                    )  # fmt: skip
                elif not self.recording:
                    setup.decimation = wanted
            else:
                setup.acq[args[0]] = " ".join(args[1:])
        except (IndexError, ValueError):
            logger.warning("linWave emulator: malformed %s %s", name, " ".join(args))

    # -- acquisition --------------------------------------------------------------------------

    def _start_acquisition(self) -> None:
        self.recording = True
        if self._pacing is None:
            first = self.setup[1]
            rate = CLOCK_HZ / first.decimation
            volts_per_count = self.adc_to_microvolts[first.range_index] * 1e-6
            blocks = self.signal(rate, volts_per_count)
            self._pacing = asyncio.create_task(self._pace(blocks, rate))

    async def _pace(self, blocks: Iterator[Any], rate: float) -> None:
        """Send each block when the wall clock reaches its end; drop it while not acquiring."""
        t0, first = time.monotonic(), None
        try:
            for block in blocks:
                if first is None:
                    first = block.first_sample
                end_s = (block.first_sample + block.samples.shape[1] - first) / rate
                await asyncio.sleep(max(0.0, t0 + end_s - time.monotonic()))
                if self.overflow_at_s is not None and end_s >= self.overflow_at_s:
                    self.overflow_at_s = None
                    if self.recording:
                        self.overflows += 1
                        self.recording = False
                        logger.warning("linWave emulator: buffer overflow at %.3f s", end_s)
                if self.recording:
                    await self._send(block)
        finally:
            self.ended.set()

    async def _send(self, block: Any) -> None:
        samples = np.asarray(block.samples, dtype="<i2")
        for channel, writer in list(self._streams.items()):
            if self.setup[channel].enabled and channel <= samples.shape[0]:
                writer.write(samples[channel - 1].tobytes())
        for channel, writer in list(self._streams.items()):
            try:
                await writer.drain()
            except ConnectionError:
                self._streams.pop(channel, None)
        self.blocks_sent += 1
        if self.on_sent is not None:
            self.on_sent(block)
