"""A linWave emulator on free loopback ports, served from a thread, for the driver tests."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.drivers.linwave_emulator import LinWaveEmulator
from aemon.types import Gap


def free_port_triple() -> int:
    """A port P with P, P + 1 and P + 2 free on 127.0.0.1 a moment ago."""
    for _ in range(200):
        base = random.randrange(20000, 60000)
        socks = []
        try:
            for port in (base, base + 1, base + 2):
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no three consecutive free ports")


def ramp(first: int, n: int, channels: int = 2) -> npt.NDArray[np.int16]:
    """Counts that are a function of (absolute index, channel): alignment shows in them."""
    index = np.arange(first, first + n, dtype=np.int64)
    return np.stack([((index * 7 + c * 1000) % 30000) - 15000 for c in range(channels)]).astype(
        np.int16
    )


class RampBlock(NamedTuple):
    first_sample: int
    samples: npt.NDArray[np.int16]
    bursts: list[Any]


def ramp_signal(rate_hz: float, volts_per_count: float) -> Iterator[RampBlock]:
    """The emulator's signal: :func:`ramp` in 10 ms blocks, forever."""
    n = round(0.01 * rate_hz)
    first = 0
    while True:
        yield RampBlock(first, ramp(first, n), [])
        first += n


class EmulatorThread:
    """A :class:`LinWaveEmulator` listening on free ports, served by a thread of its own."""

    def __init__(self, **kwargs: Any) -> None:
        self.port = free_port_triple()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.emulator = LinWaveEmulator(ramp_signal, port=self.port, **kwargs)
        asyncio.run_coroutine_threadsafe(self.emulator.start(), self.loop).result(5)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.emulator.close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class ListSink:
    """Collects pushed blocks (copies) and gaps, in order."""

    def __init__(self) -> None:
        self.blocks: list[tuple[int, npt.NDArray[np.generic]]] = []
        self.gaps: list[Gap] = []
        self.order: list[str] = []

    def push(self, first_sample: int, samples: npt.NDArray[np.generic]) -> None:
        self.blocks.append((first_sample, samples.copy()))
        self.order.append("push")

    def gap(self, gap: Gap) -> None:
        self.gaps.append(gap)
        self.order.append("gap")
