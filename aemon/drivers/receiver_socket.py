"""The receiving socket of the DAQ feed: bounded memory, optional CURVE, exposure warning, and
recovery from connections that ZeroMQ drops for good.

ZeroMQ closes a connection whose peer sends a message part over ``ZMQ_MAXMSGSIZE`` (or breaks
the ZMTP framing) and, for such a *protocol error*, never reconnects: a connecting receiver
would wait forever. :class:`DroppedConnectionWatch` notices it from the socket's monitor events
(a disconnect after a completed handshake that ZeroMQ does not follow with a reconnect
attempt) and connects again.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import zmq
import zmq.utils.monitor

from aemon.drivers.protocol import (
    MAX_HEADER_BYTES,
    MAX_PAYLOAD_BYTES,
    FrameHeader,
    MalformedFrame,
)
from aemon.errors import ConfigError, SourceError
from aemon.io.zmq_security import CurveServer, curve_client, warn_if_exposed

logger = logging.getLogger(__name__)


class CurveOptions(NamedTuple):
    """CURVE key files of a receiver (all None: no CURVE).

    Attributes:
        key: This end's secret key file (``NAME.key_secret`` from ``aemon keys``).
        server_key: The DAQ's public key file, for a connecting receiver.
        clients: Directory of public keys allowed to send, for a binding receiver.
    """

    key: str | None = None
    server_key: str | None = None
    clients: str | None = None


class ReceiverSocket(NamedTuple):
    """An open receiving socket, its context, CURVE authenticator, actual endpoint and (when
    it connects) the watch that reconnects it after ZeroMQ dropped the connection."""

    context: zmq.Context[zmq.Socket[bytes]]
    socket: zmq.Socket[bytes]
    curve_server: CurveServer | None
    endpoint: str
    watch: DroppedConnectionWatch | None


def open_receiver_socket(
    endpoint: str,
    *,
    pattern: str,
    bind: bool,
    rcvhwm: int,
    max_frame_bytes: int,
    curve: CurveOptions,
) -> ReceiverSocket:
    """Create a PULL (or SUB) socket with ``ZMQ_MAXMSGSIZE`` and ``ZMQ_RCVHWM`` set, apply CURVE,
    then bind or connect it.

    Raises:
        ConfigError: Inconsistent or missing CURVE keys.
        SourceError: The endpoint cannot be bound or connected.
    """
    if curve.key is not None and (curve.clients if bind else curve.server_key) is None:
        need = "authorised client keys (a directory)" if bind else "the DAQ's public key"
        raise ConfigError(f"CURVE needs {need} as well as {curve.key}")
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    socket = context.socket(zmq.PULL if pattern == "pull" else zmq.SUB)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.RCVHWM, rcvhwm)
    socket.setsockopt(zmq.MAXMSGSIZE, max(max_frame_bytes, MAX_HEADER_BYTES))
    if pattern == "sub":
        socket.setsockopt(zmq.SUBSCRIBE, b"")
    server: CurveServer | None = None
    watch: DroppedConnectionWatch | None = None
    try:
        if curve.key is not None and bind:
            assert curve.clients is not None
            server = CurveServer(context, socket, curve.key, curve.clients)
        elif curve.key is not None:
            assert curve.server_key is not None
            curve_client(socket, curve.key, curve.server_key)
        if bind:
            warn_if_exposed(endpoint, "DAQ receiver", curve=curve.key is not None)
            socket.bind(endpoint)
            endpoint = socket.getsockopt_string(zmq.LAST_ENDPOINT)
        else:
            # Watch from before the first handshake, so that its drop is seen too.
            watch = DroppedConnectionWatch(socket, endpoint, max_frame_bytes)
            socket.connect(endpoint)
    except (zmq.ZMQError, ConfigError) as exc:
        if watch is not None:
            watch.close()
        socket.close()
        if server is not None:
            server.stop()
        context.term()
        if isinstance(exc, ConfigError):
            raise
        verb = "bind" if bind else "connect to"
        raise SourceError(f"cannot {verb} {endpoint}: {exc.strerror}") from exc
    return ReceiverSocket(context, socket, server, endpoint, watch)


RETRY_GRACE_S = 0.3
"""How long after a disconnect ZeroMQ must show a reconnect attempt before the watch takes
the connection as dropped for good (s); ZeroMQ logs its attempt within a millisecond."""

_WATCHED_EVENTS = zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED | zmq.EVENT_CONNECT_RETRIED


class DroppedConnectionWatch:
    """Reconnect a connecting socket whose connection ZeroMQ dropped without retrying.

    Call :meth:`check` regularly from the thread that receives on ``socket``; it reads the
    socket's monitor events without blocking. A binding socket needs no watch: there the
    sending peer connects again by itself.

    Args:
        socket: The connecting receiver socket.
        endpoint: The endpoint it connected to.
        max_frame_bytes: The socket's ``ZMQ_MAXMSGSIZE`` (bytes), for the message.
    """

    def __init__(self, socket: zmq.Socket[bytes], endpoint: str, max_frame_bytes: int) -> None:
        self._socket = socket
        self._endpoint = endpoint
        self._max_frame_bytes = max_frame_bytes
        self._monitor = socket.get_monitor_socket(_WATCHED_EVENTS)
        self._connected = 0  # connections with a completed handshake
        self._dropped_at: float | None = None  # disconnect not yet followed by a retry
        self.reconnects = 0

    def check(self, reject: Callable[[MalformedFrame], None]) -> bool:
        """Read pending events; if a connection was dropped for good, connect again, pass
        ``reject`` the rejection to count (kind ``"too large"``) and return True."""
        while self._monitor.poll(0):
            event = zmq.utils.monitor.recv_monitor_message(self._monitor)["event"]
            if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self._connected += 1
            elif event == zmq.EVENT_DISCONNECTED and self._connected:
                self._connected -= 1
                self._dropped_at = time.monotonic()
            elif event == zmq.EVENT_CONNECT_RETRIED:
                self._dropped_at = None  # ZeroMQ reconnects by itself (the peer went away)
        if self._dropped_at is None or time.monotonic() - self._dropped_at < RETRY_GRACE_S:
            return False
        self._dropped_at = None
        self._socket.disconnect(self._endpoint)
        self._socket.connect(self._endpoint)
        self.reconnects += 1
        reason = (
            f"ZeroMQ closed the connection: a message part over {self._max_frame_bytes} bytes "
            f"(ZMQ_MAXMSGSIZE; the protocol allows {MAX_PAYLOAD_BYTES}) or broken ZMTP "
            "framing; connected again"
        )
        reject(MalformedFrame(reason, "too large"))
        return True

    def close(self) -> None:
        """Stop monitoring (before the socket is closed)."""
        if not self._monitor.closed:
            self._socket.disable_monitor()
            self._monitor.close(linger=0)


def check_expected_format(
    header: FrameHeader,
    endpoint: str,
    rate_hz: float | None,
    channels: int | None,
    channel_names: Sequence[str] | None = None,
) -> None:
    """Raise SourceError unless the first frame has the rate and channel count the user set
    (and as many channels as names given)."""
    rate = header.sample_rate_hz
    if rate_hz is not None and not math.isclose(rate, rate_hz, rel_tol=1e-9):
        raise SourceError(
            f"{endpoint} streams {rate:g} Hz but {rate_hz:g} Hz was expected: set the DAQ or "
            "the configured sample rate so they match"
        )
    if channels is not None and header.channels != channels:
        raise SourceError(
            f"{endpoint} streams {header.channels} channels but {channels} were expected: "
            "check the DAQ's channel setup"
        )
    if channel_names is not None and len(channel_names) != header.channels:
        raise SourceError(
            f"{len(channel_names)} channel names given but {endpoint} streams "
            f"{header.channels} channels"
        )


def no_frames_error(
    endpoint: str, timeout_s: float, malformed: int, last_error: str
) -> SourceError:
    """The error when no valid first frame arrived within ``timeout_s`` (s)."""
    if malformed:
        return SourceError(
            f"no valid frames from {endpoint} within {timeout_s:g} s ({malformed} malformed, "
            f"last: {last_error})"
        )
    return SourceError(
        f"no frames from {endpoint} within {timeout_s:g} s: is `aemon daq-sim` or the DAQ "
        "bridge running?"
    )
