"""Fixtures shared by the driver tests: raw ZeroMQ sockets bound to free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import zmq


def _bound(kind: int) -> Iterator[tuple[zmq.Socket[bytes], str]]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    socket = context.socket(kind)
    socket.setsockopt(zmq.LINGER, 0)
    port = socket.bind_to_random_port("tcp://127.0.0.1")
    yield socket, f"tcp://127.0.0.1:{port}"
    socket.close()
    context.term()


@pytest.fixture
def sender() -> Iterator[tuple[zmq.Socket[bytes], str]]:
    """A raw PUSH socket bound to a random loopback port, and its endpoint."""
    yield from _bound(zmq.PUSH)


@pytest.fixture
def receiver() -> Iterator[tuple[zmq.Socket[bytes], str]]:
    """A raw PULL socket bound to a random loopback port, and its endpoint."""
    yield from _bound(zmq.PULL)
