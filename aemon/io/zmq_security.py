"""ZeroMQ exposure checks and CURVE encryption/authentication (pyzmq's ``zmq.auth``).

Every aemon socket binds to 127.0.0.1 unless told otherwise; :func:`warn_if_exposed` logs a
warning when a socket is bound to another interface without CURVE. For remote DAQs and event
subscribers, CURVE encrypts the link and authenticates both ends with key pairs made by
``aemon keys`` (``NAME.key`` public, ``NAME.key_secret`` secret, the ``zmq.auth`` format):

* the binding end is the CURVE *server*: it holds its secret key and accepts only clients
  whose public key file is in an authorised-keys directory (checked by a
  ``zmq.auth.thread.ThreadAuthenticator``; other peers never complete the handshake, so
  none of their messages is ever received);
* the connecting end is the CURVE *client*: it holds its own secret key and the server's
  public key, and refuses a server with another key.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from aemon.errors import ConfigError

logger = logging.getLogger(__name__)

_LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$")


def is_loopback(endpoint: str) -> bool:
    """True for ``ipc://``/``inproc://`` and ``tcp://`` endpoints on a loopback address."""
    transport, _, rest = endpoint.partition("://")
    if transport in ("ipc", "inproc"):
        return True
    host = rest.rsplit(":", 1)[0]
    host = host.split(";")[-1]  # tcp://source;host:port
    return bool(_LOOPBACK.match(host))


def warn_if_exposed(endpoint: str, what: str, *, curve: bool) -> None:
    """Log a warning if ``endpoint`` is bound beyond this host without CURVE.

    Args:
        endpoint: The endpoint being bound.
        what: What the socket is, e.g. ``"DAQ receiver"``.
        curve: Whether CURVE protects the socket.
    """
    if curve or is_loopback(endpoint):
        return
    logger.warning(
        "%s bound to %s: reachable from other hosts without authentication; anyone who can "
        "reach it can connect. Bind 127.0.0.1, or use CURVE keys (`aemon keys`)",
        what,
        endpoint,
    )


def load_key_pair(path: str | os.PathLike[str]) -> tuple[bytes, bytes | None]:
    """``(public, secret)`` from a ``zmq.auth`` key file (secret is None in a ``.key`` file).

    Raises:
        ConfigError: A missing or unreadable key file.
    """
    try:
        public, secret = zmq.auth.load_certificate(os.fspath(path))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read CURVE key {path} ({exc}); make keys with `aemon keys DIR`"
        ) from None
    return public, secret


class CurveServer:
    """Make ``socket`` a CURVE server that accepts only the public keys in ``authorized``.

    Args:
        context: The socket's context (the authenticator runs there).
        socket: The socket, before it binds.
        secret_key_file: This end's ``.key_secret`` file.
        authorized: Directory of the ``.key`` files of the peers allowed to connect.

    Raises:
        ConfigError: A missing key file or directory.
    """

    def __init__(
        self,
        context: zmq.Context[zmq.Socket[bytes]],
        socket: zmq.Socket[bytes],
        secret_key_file: str | os.PathLike[str],
        authorized: str | os.PathLike[str],
    ) -> None:
        public, secret = load_key_pair(secret_key_file)
        if secret is None:
            raise ConfigError(f"{secret_key_file} holds no secret key; give the .key_secret file")
        if not Path(authorized).is_dir():
            raise ConfigError(f"{authorized}: no such directory of authorised public keys")
        self.authenticator = ThreadAuthenticator(context)
        self.authenticator.start()
        self.authenticator.configure_curve(domain="*", location=os.fspath(authorized))
        socket.curve_secretkey = secret
        socket.curve_publickey = public
        socket.curve_server = True

    def stop(self) -> None:
        """Stop the authenticator thread (before the context is terminated)."""
        if self.authenticator.is_alive():
            self.authenticator.stop()


def curve_client(
    socket: zmq.Socket[bytes],
    secret_key_file: str | os.PathLike[str],
    server_key_file: str | os.PathLike[str],
) -> None:
    """Make ``socket`` a CURVE client of the server whose public key is in ``server_key_file``.

    Raises:
        ConfigError: A missing key file, or a client key file without its secret key.
    """
    public, secret = load_key_pair(secret_key_file)
    if secret is None:
        raise ConfigError(f"{secret_key_file} holds no secret key; give the .key_secret file")
    server_public, _ = load_key_pair(server_key_file)
    socket.curve_secretkey = secret
    socket.curve_publickey = public
    socket.curve_serverkey = server_public
