"""The DAQ side of the feed: publish sample blocks as aemon frames over ZeroMQ.

:class:`DaqPublisher` is what a Python DAQ bridge (or ``aemon daq-sim``) uses to send; a bridge
in another language follows ``drivers/README.md``. :class:`ChannelDigest` hashes what was sent,
per channel, so a receiver can prove that it recorded every sample unchanged.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import time
from types import TracebackType

import numpy as np
import numpy.typing as npt
import zmq

from aemon.drivers.protocol import (
    FLAG_CRC32,
    FLAG_END_OF_STREAM,
    MAX_PAYLOAD_BYTES,
    VERSION,
    FrameHeader,
    encode_frame,
    max_frame_samples,
)
from aemon.drivers.receiver_gate import ReceiverGate
from aemon.io.zmq_security import CurveServer, curve_client, warn_if_exposed

logger = logging.getLogger(__name__)

DEFAULT_FRAME_SAMPLES = 32768
"""Samples per channel per frame: 4 int16 channels make 256 KiB, which ZeroMQ sends zero-copy."""

DEFAULT_SNDHWM = 256
"""Frames queued in the publisher before ``send`` blocks (PUSH) or drops (PUB)."""

EOS_TIMEOUT_S = 5.0
"""How long ``end()`` waits for room to send the end-of-stream frame with no receiver (s)."""

CLEAN_LINGER_S = 120.0
"""How long a clean close lets the queued frames (at most ``sndhwm``) reach a slow receiver."""


def quantise(
    volts: npt.NDArray[np.float32], volts_per_count: float
) -> tuple[npt.NDArray[np.int16], int]:
    """Round volts to int16 counts, clipping at full scale.

    Returns:
        The counts and how many samples were clipped.
    """
    scaled = volts * np.float32(1.0 / volts_per_count)
    np.rint(scaled, out=scaled)
    clipped = int(np.count_nonzero((scaled > 32767) | (scaled < -32768)))
    np.clip(scaled, -32768, 32767, out=scaled)
    return scaled.astype(np.int16), clipped


class ChannelDigest:
    """SHA-256 of each channel's samples, fed block by block.

    The digest of channel ``c`` is the SHA-256 of the concatenated little-endian bytes of
    ``samples[c]`` of every block passed to :meth:`update`, in order; the same on the sending
    and the receiving side when nothing was lost or changed.
    """

    def __init__(self) -> None:
        self._hashes: list[hashlib._Hash] = []

    def update(self, samples: npt.NDArray[np.generic]) -> None:
        """Add a ``(channels, n)`` block."""
        if samples.ndim != 2:
            raise ValueError(f"samples must be (channels, n), not shape {samples.shape}")
        if not self._hashes:
            self._hashes = [hashlib.sha256() for _ in range(samples.shape[0])]
        elif samples.shape[0] != len(self._hashes):
            raise ValueError(
                f"block has {samples.shape[0]} channels, digest has {len(self._hashes)}"
            )
        little = samples.dtype.newbyteorder("<")
        for channel, digest in zip(samples, self._hashes, strict=True):
            digest.update(np.ascontiguousarray(channel, dtype=little).data)

    def hexdigests(self) -> list[str]:
        """The per-channel SHA-256 digests as hex strings (empty before the first block)."""
        return [digest.hexdigest() for digest in self._hashes]


class DaqPublisher:
    """Send sample blocks as aemon frames.

    Blocks longer than ``frame_samples`` are split into several frames; sequence numbers count
    up from 0. Samples go out zero-copy when the block (or the frame slice of it) is
    C-contiguous: do not modify an array after passing it to :meth:`send`.

    Args:
        endpoint: ZeroMQ endpoint, e.g. ``"tcp://127.0.0.1:5555"`` or ``"tcp://*:5555"``.
        pattern: ``"push"`` (lossless: a slow receiver blocks ``send``) or ``"pub"`` (lossy
            fan-out: frames for slow or absent subscribers are dropped).
        bind: Bind (default; the DAQ is the fixed end) instead of connecting.
        stream_id: Id of this stream (u32); random by default.
        frame_samples: Maximum samples per channel in one frame; at most
            :func:`aemon.drivers.protocol.max_frame_samples` (4 MiB of samples).
        sndhwm: ZeroMQ send high-water mark in frames.
        crc32: Put a CRC-32 of each payload in the header (on by default; about 1 ms per MiB).
        digest: Keep a per-channel SHA-256 of everything sent (see :attr:`digest`).
        curve_key: This end's CURVE secret key file (``aemon keys``): encrypt and authenticate.
        curve_clients: Binding: directory of the receivers' public keys allowed to connect.
        curve_server_key: Connecting: the receiver's public key file.
        receiver_limit: Binding PUSH without CURVE: admit at most this many receivers at once
            (default 1; None: any number); a further one fails its handshake, with a warning.

    A PUSH stream deals frames round-robin among its receivers, so a second receiver would
    silently take half the frames: the publisher admits ``receiver_limit`` receivers, counts
    them (:meth:`count_receivers`, :attr:`max_receivers`, :attr:`refused_receivers`) and warns
    whenever more than one is connected.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        pattern: str = "push",
        bind: bool = True,
        stream_id: int | None = None,
        frame_samples: int = DEFAULT_FRAME_SAMPLES,
        sndhwm: int = DEFAULT_SNDHWM,
        crc32: bool = True,
        digest: bool = False,
        curve_key: str | None = None,
        curve_clients: str | None = None,
        curve_server_key: str | None = None,
        receiver_limit: int | None = 1,
    ) -> None:
        if pattern not in ("push", "pub"):
            raise ValueError(f"pattern must be 'push' or 'pub', not {pattern!r}")
        if not 0 < frame_samples < 2**32:
            raise ValueError(f"frame_samples must be in 1..2**32-1, not {frame_samples}")
        self.pattern = pattern
        self.stream_id = secrets.randbits(32) if stream_id is None else stream_id
        if not 0 <= self.stream_id < 2**32:
            raise ValueError(f"stream_id must fit in 32 bits, not {self.stream_id}")
        self.frame_samples = frame_samples
        self.flags = FLAG_CRC32 if crc32 else 0
        self.digest = ChannelDigest() if digest else None
        self.frames_sent = 0
        self.samples_sent = 0
        self.next_sample: int | None = None
        self._format: tuple[float, int, str, float] | None = None
        self._ended = False
        self._context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self._socket = self._context.socket(zmq.PUSH if pattern == "push" else zmq.PUB)
        self._socket.setsockopt(zmq.SNDHWM, sndhwm)
        self._curve_server: CurveServer | None = None
        gated = pattern == "push" and bind and curve_key is None
        self._gate = ReceiverGate(
            self._context, self._socket, receiver_limit if gated else None, endpoint
        )
        try:
            if curve_key is not None and bind:
                if curve_clients is None:
                    raise ValueError("CURVE on a binding publisher needs curve_clients")
                self._curve_server = CurveServer(
                    self._context, self._socket, curve_key, curve_clients
                )
            elif curve_key is not None:
                if curve_server_key is None:
                    raise ValueError("CURVE on a connecting publisher needs curve_server_key")
                curve_client(self._socket, curve_key, curve_server_key)
            if bind:
                warn_if_exposed(endpoint, "DAQ publisher", curve=curve_key is not None)
                self._socket.bind(endpoint)
                endpoint = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)
                self._gate.what = endpoint
            else:
                # Queue nothing until a receiver is there, so "sent" means "handed to one".
                self._socket.setsockopt(zmq.IMMEDIATE, 1)
                self._socket.connect(endpoint)
        except BaseException:
            self._close_sockets(0)
            raise
        self.endpoint = endpoint

    def count_receivers(self) -> int:
        """Receivers connected now (see :class:`aemon.drivers.receiver_gate.ReceiverGate`)."""
        return self._gate.receivers

    @property
    def max_receivers(self) -> int:
        """The most receivers that were connected at once."""
        return self._gate.max_receivers

    @property
    def refused_receivers(self) -> int:
        """Receivers refused because ``receiver_limit`` were connected already."""
        return self._gate.refused

    @property
    def dtype(self) -> str | None:
        """Sample type of the stream (``"int16"`` or ``"float32"``), None before the first send."""
        return None if self._format is None else self._format[2]

    @property
    def seq(self) -> int:
        """Sequence number of the next frame."""
        return self.frames_sent

    def send(
        self,
        first_sample: int,
        samples: npt.NDArray[np.generic],
        *,
        volts_per_count: float,
        sample_rate_hz: float,
        daq_time_ns: int | None = None,
    ) -> None:
        """Send one block as one or more frames; blocks while a PUSH receiver is full.

        Args:
            first_sample: Absolute index of the block's first sample; at least the end of the
                previous block (a jump is a gap the receiver will report).
            samples: ``(channels, n)`` int16 counts or float32 volts.
            volts_per_count: Volts per count (V); 1.0 for float32 volts.
            sample_rate_hz: Samples per second per channel (Hz).
            daq_time_ns: DAQ clock at the first sample, ns since the Unix epoch (UTC); the
                wall clock now if None.

        Raises:
            ValueError: If the block is out of order or its format differs from earlier blocks.
        """
        if self._ended:
            raise ValueError("send() after end(): the stream is over")
        if samples.ndim != 2 or samples.dtype.name not in ("int16", "float32"):
            raise ValueError(
                f"samples must be (channels, n) int16 or float32, not {samples.dtype} "
                f"{samples.shape}"
            )
        channels, n_samples = samples.shape
        fmt = (float(sample_rate_hz), channels, samples.dtype.name, float(volts_per_count))
        if self._format is None:
            if not (math.isfinite(fmt[0]) and fmt[0] > 0 and math.isfinite(fmt[3]) and fmt[3] > 0):
                raise ValueError("sample rate and volts per count must be positive and finite")
            if not 0 < channels < 2**16:
                raise ValueError(f"channels must be in 1..65535, not {channels}")
            limit = max_frame_samples(channels, fmt[2])
            if self.frame_samples > limit:
                raise ValueError(
                    f"frame_samples {self.frame_samples} is over the protocol's limit of {limit} "
                    f"for {channels} {fmt[2]} channels ({MAX_PAYLOAD_BYTES} bytes per frame)"
                )
            self._format = fmt
            self.wait_for_receiver()
        elif fmt != self._format:
            raise ValueError(
                f"format {fmt} differs from the stream's {self._format}; use a new stream"
            )
        if self.next_sample is not None and first_sample < self.next_sample:
            raise ValueError(f"block starts at sample {first_sample}, before {self.next_sample}")
        if n_samples == 0:
            return
        base_ns = time.time_ns() if daq_time_ns is None else daq_time_ns
        for offset in range(0, n_samples, self.frame_samples):
            chunk = samples[:, offset : offset + self.frame_samples]
            self._send_frame(
                first_sample + offset,
                chunk,
                base_ns + round(offset * 1e9 / sample_rate_hz),
                self.flags,
            )
            # Account per frame, so that an interrupted send leaves exact counts behind.
            if self.digest is not None:
                self.digest.update(chunk)
            self.samples_sent += chunk.shape[1]
            self.next_sample = first_sample + offset + chunk.shape[1]

    def _send_frame(
        self, first_sample: int, samples: npt.NDArray[np.generic], daq_time_ns: int, flags: int
    ) -> None:
        assert self._format is not None
        rate, channels, dtype, vpc = self._format
        header = FrameHeader(
            version=VERSION,
            stream_id=self.stream_id,
            seq=self.frames_sent,
            first_sample=first_sample,
            sample_rate_hz=rate,
            channels=channels,
            dtype=dtype,
            n_samples=samples.shape[1],
            volts_per_count=vpc,
            daq_time_ns=daq_time_ns,
            flags=flags,
        )
        self._socket.send_multipart(encode_frame(header, samples), copy=False)
        self.frames_sent += 1
        if self.frames_sent % 16 == 1:
            self.count_receivers()

    def wait_for_receiver(self, timeout_s: float | None = None) -> bool:
        """Block until a PUSH receiver is connected (PUB: return at once).

        A paced sender calls this before starting its clock, so samples are not stamped with
        DAQ times from before anyone could receive them.

        Args:
            timeout_s: Give up after this long (s); None waits indefinitely.

        Returns:
            True when a receiver can take frames.
        """
        if self.pattern != "push":
            return True
        if self._socket.poll(1000, zmq.POLLOUT):
            return True
        logger.warning("waiting for a receiver to connect to %s", self.endpoint)
        remaining = None if timeout_s is None else max(timeout_s - 1.0, 0.0)
        timeout_ms = -1 if remaining is None else int(remaining * 1000)
        return bool(self._socket.poll(timeout_ms, zmq.POLLOUT))

    def writable(self, timeout_s: float = 0.0) -> bool:
        """True if a frame can be queued within ``timeout_s`` (s) without blocking.

        For PUSH that means a receiver is connected and has room; PUB never blocks.
        """
        return bool(self._socket.poll(int(timeout_s * 1000), zmq.POLLOUT))

    def end(self, timeout_s: float = EOS_TIMEOUT_S) -> bool:
        """Send the end-of-stream frame (idempotent; nothing to end before the first send).

        A PUSH queue that is full because a connected receiver is slow is waited for as long
        as that receiver stays connected: the frames before the end-of-stream frame are not
        given up while someone is still taking them.

        Args:
            timeout_s: How long to wait for room once no receiver is connected (s).

        Returns:
            True if the frame was handed to ZeroMQ; False if nothing was sent yet or no
            receiver took frames for ``timeout_s``.
        """
        if self._ended or self._format is None or self.next_sample is None:
            return False
        self._ended = True
        deadline = time.monotonic() + timeout_s
        while not self._socket.poll(200, zmq.POLLOUT):
            if self.count_receivers() > 0 and self.pattern == "push":
                deadline = time.monotonic() + timeout_s
            elif time.monotonic() >= deadline:
                return self._no_end_taker()
        empty = np.zeros((self._format[1], 0), dtype=self._format[2])
        # never block: the receiver may leave between the poll and the send (at its --duration)
        self._socket.setsockopt(zmq.SNDTIMEO, int(timeout_s * 1000))
        try:
            self._send_frame(
                self.next_sample, empty, time.time_ns(), self.flags | FLAG_END_OF_STREAM
            )
        except zmq.Again:
            return self._no_end_taker()
        return True

    def _no_end_taker(self) -> bool:
        """False; a note if the receiver left on its own (at its --duration), else a warning."""
        left = self.max_receivers > 0 and self.count_receivers() == 0
        say, what = (logger.info, "the receiver left before") if left else (
            logger.warning, "no receiver took")  # fmt: skip
        say("%s: %s the end-of-stream frame", self.endpoint, what)
        return False

    def close(self, linger_s: float = 10.0) -> None:
        """Close the socket, giving queued frames up to ``linger_s`` seconds to leave (frames
        queued for a receiver that disconnects are dropped at once)."""
        if not self._socket.closed:
            self.count_receivers()
            self._close_sockets(int(linger_s * 1000))

    def _close_sockets(self, linger_ms: int) -> None:
        self._gate.stop()
        self._socket.close(linger=linger_ms)
        if self._curve_server is not None:
            self._curve_server.stop()
        self._context.term()

    def __enter__(self) -> DaqPublisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        clean = exc_type is None
        try:
            self.end(EOS_TIMEOUT_S if clean else 0.5)
        finally:
            self.close(CLEAN_LINGER_S if clean else 1.0)
