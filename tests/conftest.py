"""Shared pytest set-up: headless Qt, free loopback ports."""

from __future__ import annotations

import os
import socket

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def free_endpoint() -> str:
    """A ``tcp://127.0.0.1:PORT`` endpoint on a port that was free a moment ago."""
    return f"tcp://127.0.0.1:{_free_tcp_port()}"
