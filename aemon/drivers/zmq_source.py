"""Receive the DAQ feed over ZeroMQ (PULL by default, SUB for lossy fan-out).

A :class:`ZmqSource` learns the stream format from the first valid frame when it is opened, then
hands every frame to ``sink.push`` as a zero-copy view, reports missing samples with
``sink.gap`` and rejects bad frames (counted per reason, at most one log line per reason per
interval). Sequence, index and restart rules: :mod:`aemon.drivers.stream_tracker`; a
restarted DAQ becomes a ``"restart"`` gap (a new recording segment) and is followed.

Memory is bounded: ZeroMQ drops any message part over ``max_frame_bytes`` before it is
received (``ZMQ_MAXMSGSIZE``, the connection is closed: counted as a ``"too large"`` frame,
connected again, the loss a ``sequence`` gap) and queues at most ``queue_bytes`` worth of
such frames (``ZMQ_RCVHWM`` = ``queue_bytes // max_frame_bytes`` frames).
NaN and ±Inf samples of float32 streams are replaced by 0, counted, and noted for the
recording (``/incidents`` rows of kind ``nonfinite``), so features stay finite.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import zmq

from aemon.drivers import protocol
from aemon.drivers.protocol import FrameHeader, MalformedFrame, decode_frame
from aemon.drivers.receiver_socket import (
    CurveOptions,
    DroppedConnectionWatch,
    check_expected_format,
    no_frames_error,
    open_receiver_socket,
)
from aemon.drivers.reject_log import LOG_INTERVAL_S, RateLimitedLog
from aemon.drivers.stream_tracker import DEFAULT_MAX_JUMP_S, Admission, StreamTracker
from aemon.errors import ConfigError
from aemon.io.zmq_security import CurveServer
from aemon.stream.source import OpenStopContext, SourceStats, delivery_error
from aemon.types import ChannelInfo, Gap, SampleSink, StreamFormat

logger = logging.getLogger(__name__)

DEFAULT_MAX_FRAME_BYTES = protocol.MAX_PAYLOAD_BYTES
"""Largest payload accepted (bytes): the protocol's 4 MiB, 16× a 4 × 32768 int16 frame."""

DEFAULT_QUEUE_BYTES = 256 << 20
"""Receive queue budget (bytes): at most this much in frames of the largest size."""

POLL_INTERVAL_MS = 50
"""How often the receiver thread checks for ``stop()`` while no frames arrive (ms)."""


class _SinkFailedError(Exception):
    """The sink raised; delivery cannot continue in order."""


class ZmqSource(OpenStopContext):
    """A DAQ stream received over ZeroMQ; implements ``aemon.stream.source.Source``.

    Use as a context manager: entering connects and waits for the first valid frame, after
    which ``format``, ``channel_info`` and ``first_header`` are set. Sample indices pushed to
    the sink are the DAQ's absolute indices (the first block need not start at 0).

    Args:
        endpoint: ZeroMQ endpoint, e.g. ``"tcp://127.0.0.1:5555"``.
        pattern: ``"pull"`` (lossless: a slow receiver blocks the publisher) or ``"sub"``
            (lossy fan-out: frames the receiver cannot take are dropped and become gaps).
        bind: Bind instead of connecting (default: the DAQ binds, aemon connects).
        expected_rate_hz: If set, opening fails unless the stream has this rate (Hz).
        expected_channels: If set, opening fails unless the stream has this many channels.
        first_frame_timeout_s: How long opening waits for the first valid frame (s).
        duration_s: Stop by itself after this much stream time (s): exactly
            ``round(duration_s × rate)`` sample indices from the first frame's first sample.
        max_frame_bytes: Largest payload part accepted (bytes); larger messages are dropped
            by ZeroMQ before they are received (``ZMQ_MAXMSGSIZE``).
        queue_bytes: Receive queue budget (bytes); sets ``ZMQ_RCVHWM`` in frames.
        max_jump_s: A frame starting more than this much signal ahead is rejected (s).
        channel_names: Names for the channels; default ``ch1``, ``ch2``, ...
        curve: CURVE key files to encrypt and authenticate the link (``aemon keys``).
    """

    format: StreamFormat
    channel_info: list[ChannelInfo]

    def __init__(
        self,
        endpoint: str,
        *,
        pattern: str = "pull",
        bind: bool = False,
        expected_rate_hz: float | None = None,
        expected_channels: int | None = None,
        first_frame_timeout_s: float = 10.0,
        duration_s: float | None = None,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        queue_bytes: int = DEFAULT_QUEUE_BYTES,
        max_jump_s: float = DEFAULT_MAX_JUMP_S,
        channel_names: Sequence[str] | None = None,
        curve: CurveOptions | None = None,
    ) -> None:
        if pattern not in ("pull", "sub"):
            raise ConfigError(f"ZeroMQ pattern must be 'pull' or 'sub', not {pattern!r}")
        if "://" not in endpoint:
            raise ConfigError(
                f"ZeroMQ endpoint {endpoint!r} needs a transport, e.g. tcp://host:port"
            )
        if duration_s is not None and not (math.isfinite(duration_s) and duration_s > 0):
            raise ConfigError(f"duration must be a positive number of seconds, not {duration_s}")
        if not first_frame_timeout_s > 0:
            raise ConfigError("first-frame timeout must be positive")
        self.endpoint = endpoint
        self.pattern = pattern
        self.bind = bind
        self.expected_rate_hz = expected_rate_hz
        self.expected_channels = expected_channels
        self.first_frame_timeout_s = first_frame_timeout_s
        self.duration_s = duration_s
        self.max_frame_bytes = int(max_frame_bytes)
        self.rcvhwm = max(8, int(queue_bytes) // self.max_frame_bytes)
        self.max_jump_s = float(max_jump_s)
        self._curve = curve or CurveOptions()
        self._curve_server: CurveServer | None = None
        self.channel_names = list(channel_names) if channel_names is not None else None
        self.stats = SourceStats()
        self.first_header: FrameHeader | None = None
        self.first_sample = 0
        self.start_time_utc: datetime | None = None  # UTC of the first sample, from the DAQ
        self._context: zmq.Context[zmq.Socket[bytes]] | None = None
        self._socket: zmq.Socket[bytes] | None = None  # both closed under _close_lock
        self._watch: DroppedConnectionWatch | None = None  # connecting sockets only
        self._pending: tuple[list[zmq.Frame], FrameHeader, npt.NDArray[np.generic]] | None = None
        self._thread: threading.Thread | None = None
        self._stop_requested = threading.Event()
        self._close_lock = threading.Lock()
        self._done = threading.Event()
        self._ended_by_itself = False
        self._sink_error: BaseException | None = None
        self._tracker: StreamTracker | None = None
        self._warn = RateLimitedLog(LOG_INTERVAL_S, logger)

    def connect(self) -> str:
        """Create the socket and bind or connect it (idempotent); return the endpoint in use
        (after binding ``tcp://host:*`` it names the port). SourceError if that fails."""
        if self._socket is not None:
            return self.endpoint
        opened = open_receiver_socket(
            self.endpoint,
            pattern=self.pattern,
            bind=self.bind,
            rcvhwm=self.rcvhwm,
            max_frame_bytes=self.max_frame_bytes,
            curve=self._curve,
        )
        self.endpoint = opened.endpoint
        self._curve_server = opened.curve_server
        self._context, self._socket, self._watch = opened.context, opened.socket, opened.watch
        return self.endpoint

    def open(self) -> None:
        """Connect and wait for the first valid frame to learn the stream format.

        Raises:
            SourceError: If no valid frame arrives within ``first_frame_timeout_s`` or the
                stream's rate or channel count differs from the expected one.
        """
        if self._pending is not None or self.first_header is not None:
            return
        self.connect()
        socket = self._socket
        assert socket is not None
        try:
            self._pending = self._await_first_frame(socket)
        except BaseException:
            self.close()
            raise
        header = self._pending[1]
        self.first_header = header
        rate = header.sample_rate_hz
        limit = None if self.duration_s is None else round(self.duration_s * rate)
        self._tracker = StreamTracker(header, limit, round(self.max_jump_s * rate))
        self.first_sample = header.first_sample
        if header.daq_time_ns > 0:
            self.start_time_utc = datetime.fromtimestamp(header.daq_time_ns / 1e9, UTC)
        self.format = StreamFormat(
            header.sample_rate_hz, header.channels, header.dtype, header.volts_per_count
        )
        names = self.channel_names or [f"ch{i + 1}" for i in range(header.channels)]
        self.channel_info = [
            ChannelInfo(name=name, volts_per_count=header.volts_per_count) for name in names
        ]
        logger.info("%s: stream %08x, %s", self.endpoint, header.stream_id, self.format)

    def _await_first_frame(
        self, socket: zmq.Socket[bytes]
    ) -> tuple[list[zmq.Frame], FrameHeader, npt.NDArray[np.generic]]:
        deadline = time.monotonic() + self.first_frame_timeout_s
        while True:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                break
            if self._watch is not None:  # ZeroMQ dropped the connection: connect again
                self._watch.check(self._reject)
            if not socket.poll(min(remaining_ms, POLL_INTERVAL_MS)):
                continue
            parts = socket.recv_multipart(copy=False)
            try:
                header, samples = decode_frame(parts, self.max_frame_bytes)
                StreamTracker(header).check(header)  # e.g. an index beyond 2^62
            except MalformedFrame as exc:
                self._reject(exc)
                continue
            check_expected_format(
                header, self.endpoint, self.expected_rate_hz, self.expected_channels,
                self.channel_names,
            )  # fmt: skip
            return parts, header, samples
        with self.stats.lock:
            malformed, last_error = self.stats.malformed, self.stats.last_error
        raise no_frames_error(self.endpoint, self.first_frame_timeout_s, malformed, last_error)

    def start(self, sink: SampleSink) -> None:
        """Start the receiver thread delivering to ``sink`` (opens first if needed)."""
        if self._thread is not None:
            raise RuntimeError("ZmqSource.start() called twice")
        self.open()
        self._thread = threading.Thread(
            target=self._run, args=(sink,), name=f"zmq-source {self.endpoint}", daemon=True
        )
        self._thread.start()

    def _run(self, sink: SampleSink) -> None:
        socket = self._socket
        assert socket is not None
        try:
            finished = False
            if self._pending is not None:
                _parts, header, samples = self._pending
                self._pending = None
                assert self._tracker is not None
                finished = self._deliver(sink, header, samples, self._tracker.admit(header))
                del _parts, samples
            while not finished and not self._stop_requested.is_set():
                if self._watch is not None:
                    self._watch.check(self._reject)
                if not socket.poll(POLL_INTERVAL_MS):
                    continue
                parts = socket.recv_multipart(copy=False)
                finished = self._handle(sink, parts)
                del parts
        except _SinkFailedError as exc:
            cause = exc.__cause__
            self._sink_error = cause
            logger.error("%s: delivery stopped, the sink raised: %r", self.endpoint, cause)
        except Exception as exc:  # socket failure; the frame-level errors never reach here
            self._sink_error = exc
            logger.exception("%s: receiver failed", self.endpoint)
        finally:
            self._done.set()

    def _handle(self, sink: SampleSink, parts: list[zmq.Frame]) -> bool:
        """Decode, check and deliver one message; return True when the stream is over."""
        try:
            header, samples = decode_frame(parts, self.max_frame_bytes)
            assert self._tracker is not None
            admission = self._tracker.admit(header)
        except MalformedFrame as exc:
            self._reject(exc)
            return False
        except Exception as exc:  # never let one bad message kill the receiver
            self._reject(MalformedFrame(f"undecodable message: {exc!r}", "undecodable"))
            return False
        return self._deliver(sink, header, samples, admission)

    def _deliver(
        self,
        sink: SampleSink,
        header: FrameHeader,
        samples: npt.NDArray[np.generic],
        admission: Admission,
    ) -> bool:
        """Report any gap, push the samples; return True when the stream is over."""
        first = admission.first_sample
        for gap in (admission.gap, admission.dropped):
            if gap is not None:
                self._gap(sink, gap)
        if admission.seq_jump and admission.gap is None:
            self._warn("seq jump", f"{self.endpoint}: seq jumped to {header.seq}, no samples lost")
        count = admission.samples
        if count > 0:
            if count < header.n_samples:
                samples = np.ascontiguousarray(samples[:, :count])
            if samples.dtype.kind == "f":
                samples = self._replace_nonfinite(first, samples)
            try:
                sink.push(first, samples)
            except Exception as exc:
                raise _SinkFailedError from exc
            with self.stats.lock:
                self.stats.frames += 1
                self.stats.samples += count
        if admission.finished:
            self._ended_by_itself = True
            why = "end-of-stream frame" if header.end_of_stream else "duration reached"
            logger.info("%s: stream ended (%s)", self.endpoint, why)
        return admission.finished

    def _replace_nonfinite(self, first: int, samples: npt.NDArray[Any]) -> npt.NDArray[Any]:
        fixed, count, lo, hi = protocol.replace_nonfinite(samples)
        if count:
            detail = f"{count} NaN/Inf samples replaced by 0 in samples {first + lo}..{first + hi}"
            with self.stats.lock:
                self.stats.nonfinite += count
                self.stats.notes.append(("nonfinite", first + lo, first + hi, detail))
            self._warn("nonfinite", f"{self.endpoint}: {detail}")
        return fixed

    def _gap(self, sink: SampleSink, gap: Gap) -> None:
        what = gap.detail or f"samples {gap.start_sample}..{gap.stop_sample} missing"
        self._warn(gap.reason, f"{self.endpoint}: {what} ({gap.samples} samples, {gap.reason})")
        try:
            sink.gap(gap)
        except Exception as exc:
            raise _SinkFailedError from exc
        with self.stats.lock:
            self.stats.gaps += 1
            self.stats.samples_lost += gap.samples
            self.stats.restarts += gap.reason == "restart"

    def _reject(self, error: MalformedFrame) -> None:
        with self.stats.lock:
            self.stats.malformed += 1
            self.stats.last_error = error.reason
            self.stats.rejected[error.kind] = self.stats.rejected.get(error.kind, 0) + 1
        self._warn(error.kind, f"{self.endpoint}: rejected frame ({error.kind}): {error.reason}")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the receiver thread to end.

        Returns:
            True once the stream has ended by itself (end-of-stream frame or ``duration_s``
            reached); False on timeout or after ``stop()``.

        Raises:
            SourceError: If delivery stopped because the sink raised or the socket failed.
        """
        if self._thread is not None:
            self._done.wait(timeout)
        if self._sink_error is not None:
            raise delivery_error(self._sink_error, f"{self.endpoint}: delivery stopped")
        return self._done.is_set() and self._ended_by_itself

    def stop(self) -> None:
        """Stop the receiver thread and close the socket (idempotent)."""
        self._stop_requested.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self.close()

    def close(self) -> None:
        """Close the socket without waiting; call ``stop()`` instead while running.

        Safe to call from several threads (the recorder stops a source when it fails while
        the main thread may be stopping it too).
        """
        with self._close_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._pending = None
            socket, self._socket = self._socket, None
            context, self._context = self._context, None
            watch, self._watch = self._watch, None
        if watch is not None:
            watch.close()
        if socket is not None:
            socket.close(linger=0)
        if self._curve_server is not None:
            self._curve_server.stop()
            self._curve_server = None
        if context is not None:
            context.term()
