"""Shared pytest set-up: headless Qt, free loopback ports, a small real tmpfs."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

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


@pytest.fixture
def new_free_endpoint() -> Callable[[], str]:
    """Makes ``tcp://127.0.0.1:PORT`` endpoints on ports that were free a moment ago."""
    return lambda: f"tcp://127.0.0.1:{_free_tcp_port()}"


def _mounted_tmpfs(tmp_path: Path, size: str) -> Iterator[Path]:
    mount_point = tmp_path / f"tmpfs-{size}"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill up (needs root): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 10 MiB tmpfs mounted on a fresh directory (needs root: skipped otherwise)."""
    yield from _mounted_tmpfs(tmp_path, "10m")


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs mounted on a fresh directory (needs root: skipped otherwise)."""
    yield from _mounted_tmpfs(tmp_path, "64k")
