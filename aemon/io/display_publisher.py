"""A lossy raw-sample feed for displays, on a ZeroMQ PUB socket (``aemon.display/1``).

The live monitor can offer its raw signal to a display process (``aemon gui``) without ever
waiting for it: the socket is a PUB with a small high-water mark and every send is
non-blocking, so a slow, frozen or dead display loses display frames, never samples.

Each message has three frames:

1. the topic ``b"display"``;
2. a UTF-8 JSON header: ``schema`` (``"aemon.display/1"``), ``first_sample`` (absolute index
   of the block's first sample), ``origin_sample`` (absolute index of the stream's first
   sample; ``(first_sample - origin_sample) / sample_rate_hz`` is the block's time in s, the
   same clock as the events' ``time_s``), ``sample_rate_hz`` (Hz), ``channels``, ``samples``
   (per channel), ``dtype`` (``int16`` or ``float32``), ``volts_per_count`` (per channel, V),
   ``lost`` (samples per channel this feed skipped before the block, because the publisher
   fell behind the ring);
3. the samples, C-ordered ``(channels, samples)`` little-endian bytes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import zmq

from aemon.errors import ConfigError
from aemon.io.zmq_security import CurveServer, warn_if_exposed

logger = logging.getLogger(__name__)

DISPLAY_SCHEMA = "aemon.display/1"
DISPLAY_TOPIC = b"display"


class DisplayPublisher:
    """Publishes raw sample blocks for displays; never blocks.

    Args:
        endpoint: Where to bind, e.g. ``tcp://127.0.0.1:5557`` (``tcp://127.0.0.1:*`` picks a
            free port; :attr:`endpoint` then names it).
        sample_rate_hz: Samples per second per channel (Hz).
        origin_sample: Absolute index of the stream's first sample.
        volts_per_count: Per channel scale from sample value to volts (V).
        sndhwm: Messages queued per subscriber before PUB drops (small: a display wants the
            newest signal, not a backlog).
        curve_key: CURVE secret key file of this publisher (``aemon keys``): encrypt and
            authenticate the feed.
        curve_clients: Directory of the public keys of the displays allowed to subscribe.

    Raises:
        ConfigError: If the endpoint cannot be bound, or CURVE keys are missing.
    """

    def __init__(
        self,
        endpoint: str,
        sample_rate_hz: float,
        origin_sample: int,
        volts_per_count: Sequence[float],
        sndhwm: int = 8,
        curve_key: str | None = None,
        curve_clients: str | None = None,
    ) -> None:
        self._context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self._socket = self._context.socket(zmq.PUB)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.SNDHWM, sndhwm)
        self._socket.setsockopt(zmq.SNDBUF, 1 << 18)  # little kernel buffering: no lag
        self._curve: CurveServer | None = None
        try:
            if curve_key is not None:
                if curve_clients is None:
                    raise ConfigError("CURVE for the display feed needs a directory of keys")
                self._curve = CurveServer(self._context, self._socket, curve_key, curve_clients)
            warn_if_exposed(endpoint, "display publisher", curve=curve_key is not None)
            self._socket.bind(endpoint)
        except ConfigError:
            self.close()
            raise
        except zmq.ZMQError as exc:
            self.close()
            raise ConfigError(
                f"cannot publish the display feed on {endpoint}: {exc.strerror}; choose another "
                "--display-endpoint"
            ) from exc
        self.endpoint = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.sample_rate_hz = float(sample_rate_hz)
        self.origin_sample = int(origin_sample)
        self.volts_per_count = [float(v) for v in volts_per_count]
        self.sent = 0
        self.dropped = 0

    def publish(self, first_sample: int, block: npt.NDArray[np.generic], lost: int = 0) -> bool:
        """Send one ``(channels, n)`` block; True if sent, False if dropped (no subscriber
        keeping up)."""
        data = np.ascontiguousarray(block)
        header: dict[str, Any] = {
            "schema": DISPLAY_SCHEMA,
            "first_sample": int(first_sample),
            "origin_sample": self.origin_sample,
            "sample_rate_hz": self.sample_rate_hz,
            "channels": int(data.shape[0]),
            "samples": int(data.shape[1]),
            "dtype": str(data.dtype),
            "volts_per_count": self.volts_per_count,
            "lost": int(lost),
        }
        payload = data.astype(data.dtype.newbyteorder("<"), copy=False).tobytes()
        frames = [DISPLAY_TOPIC, json.dumps(header).encode(), payload]
        try:
            self._socket.send_multipart(frames, flags=zmq.NOBLOCK)
        except zmq.Again:
            self.dropped += 1
            return False
        self.sent += 1
        return True

    def close(self) -> None:
        """Close the socket (idempotent)."""
        if not self._socket.closed:
            self._socket.close()
        if self._curve is not None:
            self._curve.stop()
        if not self._context.closed:
            self._context.term()

    def __enter__(self) -> DisplayPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def decode_display_frames(
    frames: Sequence[bytes],
) -> tuple[dict[str, Any], npt.NDArray[np.generic]]:
    """Decode one display message (the frames after a ``recv_multipart``).

    Returns:
        ``(header, samples)``, samples a ``(channels, samples)`` array of the header's dtype.

    Raises:
        ValueError: Not an ``aemon.display/1`` message, or a size that does not match.
    """
    if len(frames) != 3 or frames[0] != DISPLAY_TOPIC:
        raise ValueError("not a display message")
    header = json.loads(frames[1])
    if header.get("schema") != DISPLAY_SCHEMA:
        raise ValueError(f"unknown display schema {header.get('schema')!r}")
    dtype = np.dtype(str(header["dtype"])).newbyteorder("<")
    samples = np.frombuffer(frames[2], dtype=dtype)
    channels, n = int(header["channels"]), int(header["samples"])
    if samples.size != channels * n:
        raise ValueError(f"display block holds {samples.size} values, header says {channels}×{n}")
    return header, samples.reshape(channels, n)
