"""The receiving socket of the DAQ feed: bounded memory, optional CURVE, exposure warning."""

from __future__ import annotations

import logging
import math
from typing import NamedTuple

import zmq

from aemon.drivers.protocol import HEADER_SIZE, FrameHeader
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
    """An open receiving socket, its context, CURVE authenticator and actual endpoint."""

    context: zmq.Context[zmq.Socket[bytes]]
    socket: zmq.Socket[bytes]
    curve_server: CurveServer | None
    endpoint: str


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
    socket.setsockopt(zmq.MAXMSGSIZE, max(max_frame_bytes, HEADER_SIZE))
    if pattern == "sub":
        socket.setsockopt(zmq.SUBSCRIBE, b"")
    server: CurveServer | None = None
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
            socket.connect(endpoint)
    except (zmq.ZMQError, ConfigError) as exc:
        socket.close()
        if server is not None:
            server.stop()
        context.term()
        if isinstance(exc, ConfigError):
            raise
        verb = "bind" if bind else "connect to"
        raise SourceError(f"cannot {verb} {endpoint}: {exc.strerror}") from exc
    return ReceiverSocket(context, socket, server, endpoint)


def check_expected_format(
    header: FrameHeader, endpoint: str, rate_hz: float | None, channels: int | None
) -> None:
    """Raise SourceError unless the first frame has the rate and channel count the user set."""
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
