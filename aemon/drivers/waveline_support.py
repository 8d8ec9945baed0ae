"""What the linWave and spotWave sources share: importing ``waveline``, stream reading,
error wording."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Sequence
from typing import Any

from aemon.errors import ConfigError, SourceError
from aemon.stream.source import SourceStats
from aemon.types import RESTART, Gap, SampleSink

RECONNECT_INTERVAL_S = 0.5
"""Seconds between two tries to reach a device that went away."""


class DeviceChangedError(SourceError):
    """The device came back from a lost connection with another format."""


def import_waveline() -> Any:
    """The ``waveline`` package, or a one-line error saying how to install it."""
    try:
        import waveline
    except ImportError:
        raise ConfigError(
            "linwave:// and spotwave:// need the waveline package; install it with "
            "pip install 'aemon[waveline]'"
        ) from None
    return waveline


def report_gap(sink: SampleSink, stats: SourceStats, gap: Gap) -> None:
    """Hand ``gap`` to the sink and count it; a gap other than a restart (whose detail goes
    to ``/incidents`` with it) leaves its detail as a note for ``/incidents``."""
    sink.gap(gap)
    with stats.lock:
        stats.gaps += 1
        stats.samples_lost += gap.samples
        stats.restarts += gap.reason == RESTART
        if gap.reason != RESTART:
            stats.notes.append((gap.reason, gap.start_sample, gap.stop_sample, gap.detail))


def open_linwave(host: str, port: int) -> Any:
    """A ``waveline.LinWave`` for ``host`` whose control port is ``port`` (streams follow it).

    ``LinWave._readlines`` (``waveline`` 0.10) loops forever without yielding when the peer
    closes the connection (``readline`` returns ``b""`` at once), which freezes the event
    loop and every timeout with it, e.g. behind a proxy that accepts and closes. The
    subclass reads the same lines and raises ``ConnectionResetError`` at end of file instead.
    """
    waveline = import_waveline()

    class LinWave(waveline.LinWave):  # type: ignore[name-defined]
        PORT = port

        async def _readlines(self, return_emptyline: bool = False) -> list[bytes]:
            lines: list[bytes] = []
            while True:
                try:  # 1 s for the first line, then 0.1 s, as the library does
                    line = await asyncio.wait_for(self._reader.readline(), 0.1 if lines else 1.0)
                except TimeoutError:
                    return lines
                if not line:
                    raise ConnectionResetError("the device closed the connection")
                lines.append(line)
                if return_emptyline and line == b"\n":
                    return lines

    return LinWave(host)


async def next_blocks(streams: Sequence[Any]) -> list[Any]:
    """The next block of every channel's stream (raises what the first failure raised)."""
    tasks = [asyncio.ensure_future(s.__anext__()) for s in streams]
    try:
        results = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return [r[1] for r in results]


async def bound_receive_buffers(streams: Sequence[Any], size: int) -> None:
    """Limit the kernel receive buffer of each stream connection to ``size`` bytes."""
    for stream in streams:
        with contextlib.suppress(Exception):  # a failed connection shows on the first read
            _, writer = await stream.get_reader_writer()
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, max(size, 65536))


async def close_streams(streams: Sequence[Any]) -> None:
    """Close the stream connections, whatever state they are in."""
    for stream in streams:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(stream.aclose(), 1.0)


def error_reason(exc: BaseException) -> str:
    """A few words on why a connection failed, for one-line messages."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, StopAsyncIteration | asyncio.IncompleteReadError):
        return "the device closed the stream"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).lower() if isinstance(exc, OSError) else str(text)
