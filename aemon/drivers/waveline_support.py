"""What the linWave and spotWave sources share: importing ``waveline``, stream reading,
error wording."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Sequence
from typing import Any

from aemon.errors import ConfigError

RECONNECT_INTERVAL_S = 0.5
"""Seconds between two tries to reach a device that went away."""


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
