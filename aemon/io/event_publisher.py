"""Live events on a ZeroMQ PUB socket, as JSON (schema ``aemon.event/1``).

Each message has two frames: the topic (``b"event"`` or ``b"status"``) and one UTF-8 JSON
object. Subscribers filter by topic (``SUBSCRIBE b"event"``). PUB never blocks the monitor:
a subscriber that falls behind loses messages, the monitor does not.

``event`` objects carry every event CSV column (``docs/events.md``) plus:

* ``schema``: ``"aemon.event/1"``;
* ``end_sample``: absolute index one past the event's last sample;
* ``published_unix_ns``: wall clock when the message was sent (ns since 1970, UTC);
* ``latency_ms``: ``published`` minus the DAQ time of the event's last sample (ms), or null
  when the source gives no DAQ clock.

``status`` objects (about once a second) carry the monitor's status line fields
(:class:`aemon.monitor.MonitorStatus`).

The PUB socket only sends: it accepts no commands (ZeroMQ PUB sockets ignore what peers send
besides subscriptions). It binds 127.0.0.1 by default; binding another interface logs a
warning unless CURVE (``curve_key`` + ``curve_clients``, keys from ``aemon keys``) restricts
the subscribers.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import zmq

from aemon.errors import ConfigError
from aemon.io.zmq_security import CurveServer, warn_if_exposed

if TYPE_CHECKING:
    from aemon.events.hit import Hit

logger = logging.getLogger(__name__)

SCHEMA = "aemon.event/1"
EVENT_TOPIC = b"event"
STATUS_TOPIC = b"status"


def event_message(event: Hit, sample_rate_hz: float, **extra: Any) -> dict[str, Any]:
    """The JSON-ready dict of one event (NaN becomes null, which JSON can carry)."""
    message: dict[str, Any] = {"schema": SCHEMA}
    for name, value in event._asdict().items():
        message[name] = None if isinstance(value, float) and math.isnan(value) else value
    duration_samples = 0.0 if math.isnan(event.duration_us) else event.duration_us
    message["end_sample"] = event.sample_index + round(duration_samples * 1e-6 * sample_rate_hz)
    message.update(extra)
    return message


def event_from_message(message: Mapping[str, Any]) -> Hit:
    """The event of an ``event`` message (:func:`event_message`'s inverse): every column of
    the hit row, null or missing ones as the row's defaults (NaN, -1, "")."""
    from aemon.events.hit import Hit
    from aemon.events.records import missing_value, record_columns

    values: dict[str, Any] = {}
    for name, column in record_columns(Hit).items():
        value = message.get(name)
        if value is None:
            value = Hit._field_defaults.get(name, missing_value(column))
        values[name] = value
    return Hit(**values)


class EventPublisher:
    """Publishes events and status on a bound PUB socket.

    Args:
        endpoint: Where to bind, e.g. ``tcp://127.0.0.1:5556`` (``tcp://127.0.0.1:*`` picks
            a free port; :attr:`endpoint` then names it).
        sndhwm: Messages queued per subscriber before PUB drops for that subscriber.
        curve_key: CURVE secret key file of this publisher (encrypt, authenticate).
        curve_clients: Directory of the subscribers' public keys allowed to connect.

    Raises:
        ConfigError: If the endpoint cannot be bound, or CURVE keys are missing.
    """

    def __init__(
        self,
        endpoint: str,
        sndhwm: int = 10_000,
        curve_key: str | None = None,
        curve_clients: str | None = None,
    ) -> None:
        self._context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self._socket = self._context.socket(zmq.PUB)
        self._socket.setsockopt(zmq.LINGER, 500)
        self._socket.setsockopt(zmq.SNDHWM, sndhwm)
        self._curve: CurveServer | None = None
        try:
            if curve_key is not None:
                if curve_clients is None:
                    raise ConfigError("CURVE for events needs a directory of subscriber keys")
                self._curve = CurveServer(self._context, self._socket, curve_key, curve_clients)
            warn_if_exposed(endpoint, "event publisher", curve=curve_key is not None)
            self._socket.bind(endpoint)
        except ConfigError:
            self.close()
            raise
        except zmq.ZMQError as exc:
            self.close()
            raise ConfigError(
                f"cannot publish events on {endpoint}: {exc.strerror}; choose another "
                "--events-endpoint"
            ) from exc
        self.endpoint = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.published = 0

    def publish_events(
        self,
        events: Sequence[Hit],
        sample_rate_hz: float,
        latencies_ms: Sequence[float | None] | None = None,
    ) -> None:
        """Send one message per event (never blocks)."""
        for i, event in enumerate(events):
            latency = None if latencies_ms is None else latencies_ms[i]
            message = event_message(
                event,
                sample_rate_hz,
                published_unix_ns=time.time_ns(),
                latency_ms=latency,
            )
            self._send(EVENT_TOPIC, message)
            self.published += 1

    def publish_status(self, status: Mapping[str, Any]) -> None:
        """Send one status message."""
        self._send(STATUS_TOPIC, {"schema": SCHEMA, **status})

    def _send(self, topic: bytes, message: Mapping[str, Any]) -> None:
        payload = json.dumps(message, separators=(",", ":")).encode()
        try:
            self._socket.send_multipart([topic, payload], flags=zmq.NOBLOCK)
        except zmq.Again:  # a slow subscriber; PUB drops by design
            logger.debug("event subscriber queue full; message dropped")

    def close(self) -> None:
        """Close the socket (idempotent)."""
        if not self._socket.closed:
            self._socket.close()
        if self._curve is not None:
            self._curve.stop()
        if not self._context.closed:
            self._context.term()

    def __enter__(self) -> EventPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
