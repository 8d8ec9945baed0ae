"""Qt-free links from the display process to a running monitor: the monitor child process,
its event/status PUB (``aemon.event/1``) and its lossy raw-sample PUB (``aemon.display/1``).

Every receive is non-blocking (``poll``): the GUI timer takes what has arrived and returns.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import zmq

from aemon.events.hit import Hit
from aemon.io.display_publisher import DISPLAY_TOPIC, decode_display_frames
from aemon.io.event_publisher import EVENT_TOPIC, STATUS_TOPIC, event_from_message

logger = logging.getLogger(__name__)


def free_endpoint() -> str:
    """A ``tcp://127.0.0.1:PORT`` endpoint on a port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{sock.getsockname()[1]}"


class MonitorFeed:
    """Subscribes to a monitor's event and display endpoints.

    Args:
        events_endpoint: The monitor's ``--events-endpoint``.
        display_endpoint: The monitor's ``--display-endpoint``, or None for events only.
        rcvhwm: Display messages queued before ZeroMQ drops (small: the newest signal wins).
    """

    def __init__(
        self, events_endpoint: str, display_endpoint: str | None = None, rcvhwm: int = 16
    ) -> None:
        self._context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self._events = self._context.socket(zmq.SUB)
        self._events.setsockopt(zmq.LINGER, 0)
        self._events.setsockopt(zmq.SUBSCRIBE, EVENT_TOPIC)
        self._events.setsockopt(zmq.SUBSCRIBE, STATUS_TOPIC)
        self._events.connect(events_endpoint)
        self._display: zmq.Socket[bytes] | None = None
        if display_endpoint:
            self._display = self._context.socket(zmq.SUB)
            self._display.setsockopt(zmq.LINGER, 0)
            self._display.setsockopt(zmq.RCVHWM, rcvhwm)
            self._display.setsockopt(zmq.RCVBUF, 1 << 18)  # little kernel buffering: no lag
            self._display.setsockopt(zmq.SUBSCRIBE, DISPLAY_TOPIC)
            self._display.connect(display_endpoint)
        self.malformed = 0
        self.display_lost = 0

    def poll_events(self, limit: int = 10_000) -> tuple[list[Hit], dict[str, Any] | None]:
        """New events and the newest status message (None if none came)."""
        events: list[Hit] = []
        status = None
        for _ in range(limit):
            try:
                topic, payload = self._events.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                break
            except ValueError:
                self.malformed += 1
                continue
            try:
                message = json.loads(payload)
                if topic == EVENT_TOPIC:
                    events.append(event_from_message(message))
                else:
                    status = message
            except (ValueError, TypeError):
                self.malformed += 1
        return events, status

    def poll_display(
        self, max_messages: int = 2000
    ) -> list[tuple[dict[str, Any], npt.NDArray[np.generic]]]:
        """New display blocks ``(header, samples)``, oldest first."""
        blocks: list[tuple[dict[str, Any], npt.NDArray[np.generic]]] = []
        if self._display is None:
            return blocks
        for _ in range(max_messages):
            try:
                frames = self._display.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                break
            try:
                header, samples = decode_display_frames(frames)
            except (ValueError, KeyError):
                self.malformed += 1
                continue
            self.display_lost += int(header.get("lost", 0))
            blocks.append((header, samples))
        return blocks

    def close(self) -> None:
        """Close the sockets (idempotent)."""
        for sock in (self._events, self._display):
            if sock is not None and not sock.closed:
                sock.close()
        if not self._context.closed:
            self._context.term()


class MonitorProcess:
    """``aemon monitor`` as a child process, publishing events and a display feed.

    The window only reads what the child publishes; whatever happens to the window, the child
    keeps acquiring and recording (see ``docs/architecture.md``).

    Args:
        source: The monitor's SOURCE (``tcp://…``, ``sound:DEV`` or a file).
        out: Record raw signal and events to this ``.h5``, or None.
        extra: More ``aemon monitor`` arguments (detector, model, threshold, …).
    """

    def __init__(self, source: str, out: Path | None = None, extra: Sequence[str] = ()) -> None:
        self.source, self.out, self.extra = source, out, list(extra)
        self.events_endpoint = free_endpoint()
        self.display_endpoint = free_endpoint()
        command = [
            sys.executable, "-m", "aemon.cli", "monitor", source, "--quiet",
            "--events-endpoint", self.events_endpoint,
            "--display-endpoint", self.display_endpoint, *self.extra,
        ]  # fmt: skip
        if out is not None:
            command += ["--out", str(out)]
        self.command = command
        logger.info("starting %s", " ".join(command))
        # stderr to a file, not a pipe: a pipe nobody reads would block the monitor when full
        self._log = tempfile.TemporaryFile(prefix="aemon-monitor-", suffix=".log")  # noqa: SIM115 (lives as long as the child)
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self._log, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,  # Ctrl-C / a dying window do not signal the monitor
        )  # fmt: skip

    def running(self) -> bool:
        """True while the child runs."""
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> int | None:
        """Ask the monitor to finish (SIGINT: it closes its recording cleanly); its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("monitor did not stop in %.0f s; terminating it", timeout)
                self.process.terminate()
                self.process.wait(5)
            logger.info("monitor stopped (exit status %s)", self.process.returncode)
        return self.process.returncode

    def close(self) -> None:
        """Stop the child and drop its log."""
        self.stop()
        self._log.close()

    def error_text(self) -> str:
        """What the child wrote to stderr (only after it ended)."""
        if self.process.poll() is None or self._log.closed:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace").strip()
