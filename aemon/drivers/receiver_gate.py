"""Count the receivers of a DAQ publisher's socket and, for a binding PUSH socket, admit only
as many as allowed.

PUSH deals frames round-robin among its receivers, so a second receiver silently takes half
of the frames. A :class:`ReceiverGate` watches the socket's monitor events (handshakes and
disconnects) on its own thread and counts the receivers. With a ``limit`` it is also the
socket's ZAP handler (ZeroMQ's authentication hook, used here with the NULL mechanism): a
peer that would exceed the limit fails the handshake ("too many receivers"), never gets a
frame, and a warning names its address. The count follows receivers that leave, so a
receiver that restarts is admitted again.

A socket with CURVE has pyzmq's authenticator as its ZAP handler (one per context): there
the keys decide who connects and the gate only counts and warns.
"""

from __future__ import annotations

import logging
import threading

import zmq
import zmq.utils.monitor

logger = logging.getLogger(__name__)

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
"""Where libzmq sends ZAP requests (RFC 27), per context."""

ZAP_DOMAIN = b"aemon-daq"
"""The ZAP domain of a gated socket (with the NULL mechanism ZeroMQ asks ZAP only if set)."""

_EVENTS = (
    zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_DISCONNECTED
)
_FAILED = (
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)


class ReceiverGate:
    """Count (and with ``limit``, limit) the peers of ``socket``; call before it binds.

    Args:
        context: The socket's context (the ZAP handler binds there).
        socket: A PUSH or PUB socket, before ``bind``/``connect``.
        limit: Most receivers at once (binding PUSH without CURVE); None: count only.
        what: How to name the socket in warnings, e.g. its endpoint.

    Attributes:
        receivers: Receivers connected now (handshake done, not yet gone).
        max_receivers: The most that were connected at once.
        refused: Peers refused because the limit was reached.
    """

    def __init__(
        self,
        context: zmq.Context[zmq.Socket[bytes]],
        socket: zmq.Socket[bytes],
        limit: int | None,
        what: str,
    ) -> None:
        self.limit = limit
        self.what = what
        self.receivers = 0
        self.max_receivers = 0
        self.refused = 0
        self._admitted = 0  # admitted by ZAP, handshake not yet seen to end
        self._denied = 0  # refused, their failed handshake not yet seen
        self._failed = 0  # failed handshakes whose disconnect is still to come
        self._socket = socket
        self._warn_shared = socket.type == zmq.PUSH  # PUB copies every frame to each
        self._monitor = socket.get_monitor_socket(_EVENTS)
        self._zap: zmq.Socket[bytes] | None = None
        if limit is not None:
            self._zap = context.socket(zmq.REP)
            self._zap.linger = 0
            self._zap.bind(ZAP_ENDPOINT)
            socket.zap_domain = ZAP_DOMAIN
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aemon-receiver-gate", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self._monitor, zmq.POLLIN)
        if self._zap is not None:
            poller.register(self._zap, zmq.POLLIN)
        while not self._stop.is_set():
            ready = dict(poller.poll(100))
            self._read_events()  # before any decision, so a receiver that left is gone
            if self._zap is not None and self._zap in ready:
                self._answer(self._zap.recv_multipart())

    def _read_events(self) -> None:
        while self._monitor.poll(0):
            event = zmq.utils.monitor.recv_monitor_message(self._monitor)["event"]
            if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self._admitted = max(self._admitted - 1, 0)
                self.receivers += 1
                self.max_receivers = max(self.max_receivers, self.receivers)
                if self.receivers > 1 and self._warn_shared:
                    logger.warning(
                        "%s: %d receivers connected; PUSH deals frames round-robin, so each "
                        "gets only part of the samples. Stop the extra receiver, or use "
                        "--pattern pub for displays",
                        self.what,
                        self.receivers,
                    )
            elif event & _FAILED:
                self._failed += 1
                if self._denied:
                    self._denied -= 1
                else:
                    self._admitted = max(self._admitted - 1, 0)
            elif event == zmq.EVENT_DISCONNECTED:
                if self._failed:
                    self._failed -= 1
                else:
                    self.receivers = max(self.receivers - 1, 0)

    def _answer(self, request: list[bytes]) -> None:
        """Reply to one ZAP request: admit the peer unless the limit is reached."""
        version, request_id, address = request[0], request[1], request[3]
        assert self._zap is not None and self.limit is not None
        if self.receivers + self._admitted < self.limit:
            self._admitted += 1
            self._zap.send_multipart([version, request_id, b"200", b"OK", b"receiver", b""])
            return
        self._denied += 1
        self.refused += 1
        logger.warning(
            "%s: refused a receiver from %s: %d connected already (the limit; PUSH would deal "
            "it part of the frames). Use --receivers N to allow more, or --pattern pub",
            self.what,
            address.decode(errors="replace"),
            self.receivers,
        )
        self._zap.send_multipart([version, request_id, b"400", b"too many receivers", b"", b""])

    def stop(self) -> None:
        """End the thread and close its sockets (before the socket and context close)."""
        self._stop.set()
        self._thread.join()
        self._socket.disable_monitor()
        self._monitor.close(linger=0)
        if self._zap is not None:
            self._zap.close(linger=0)
