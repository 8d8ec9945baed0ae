"""Receive the DAQ feed over ZeroMQ (PULL by default, SUB for lossy fan-out).

A :class:`ZmqSource` learns the stream format from the first valid frame when it is opened, then
hands every frame to ``sink.push`` as a zero-copy view, reports missing samples with
``sink.gap`` and rejects (counts, logs, never dies on) bad frames.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType

import numpy as np
import numpy.typing as npt
import zmq

from aemon.drivers.protocol import FrameHeader, MalformedFrame, StreamTracker, decode_frame
from aemon.errors import ConfigError, SourceError
from aemon.stream.source import SourceStats, delivery_error
from aemon.types import ChannelInfo, Gap, SampleSink, StreamFormat

logger = logging.getLogger(__name__)

DEFAULT_RCVHWM = 256
"""Frames queued in the receiver before the sender blocks (PUSH) or drops (PUB): 256 frames
of 32768 samples × 4 channels × int16 (256 KiB each) are 64 MiB, 5 s at 4 × 1.5625 MHz."""

POLL_INTERVAL_MS = 50
"""How often the receiver thread checks for ``stop()`` while no frames arrive (ms)."""

LOG_INTERVAL_S = 2.0
"""Minimum time between two warnings about rejected frames (s)."""


class _RateLimitedWarning:
    """Log at most one warning per interval and say how many were held back."""

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._last = -math.inf
        self._suppressed = 0

    def __call__(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last < self._interval_s:
            self._suppressed += 1
            return
        if self._suppressed:
            message += f" ({self._suppressed} similar warnings suppressed)"
        logger.warning("%s", message)
        self._last = now
        self._suppressed = 0


class _SinkFailedError(Exception):
    """The sink raised; delivery cannot continue in order."""


class ZmqSource:
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
        rcvhwm: ZeroMQ receive high-water mark (frames queued before back-pressure/drops).
        channel_names: Names for the channels; default ``ch1``, ``ch2``, ...
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
        rcvhwm: int = DEFAULT_RCVHWM,
        channel_names: Sequence[str] | None = None,
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
        self.rcvhwm = rcvhwm
        self.channel_names = list(channel_names) if channel_names is not None else None
        self.stats = SourceStats()
        self.first_header: FrameHeader | None = None
        self.first_sample = 0
        self.start_time_utc: datetime | None = None  # UTC of the first sample, from the DAQ
        self._context: zmq.Context[zmq.Socket[bytes]] | None = None
        self._socket: zmq.Socket[bytes] | None = None
        self._pending: tuple[list[zmq.Frame], FrameHeader, npt.NDArray[np.generic]] | None = None
        self._thread: threading.Thread | None = None
        self._stop_requested = threading.Event()
        self._close_lock = threading.Lock()
        self._done = threading.Event()
        self._ended_by_itself = False
        self._sink_error: BaseException | None = None
        self._tracker: StreamTracker | None = None
        self._warn = _RateLimitedWarning(LOG_INTERVAL_S)
        self._warn_gap = _RateLimitedWarning(LOG_INTERVAL_S)

    def connect(self) -> str:
        """Create the socket and bind or connect it (idempotent).

        Returns:
            The endpoint in use; after binding ``tcp://host:*`` it names the chosen port.

        Raises:
            SourceError: If the endpoint cannot be bound or connected.
        """
        if self._socket is not None:
            return self.endpoint
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        socket = context.socket(zmq.PULL if self.pattern == "pull" else zmq.SUB)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.RCVHWM, self.rcvhwm)
        if self.pattern == "sub":
            socket.setsockopt(zmq.SUBSCRIBE, b"")
        try:
            if self.bind:
                socket.bind(self.endpoint)
                self.endpoint = socket.getsockopt_string(zmq.LAST_ENDPOINT)
            else:
                socket.connect(self.endpoint)
        except zmq.ZMQError as exc:
            socket.close()
            context.term()
            verb = "bind" if self.bind else "connect to"
            raise SourceError(f"cannot {verb} {self.endpoint}: {exc.strerror}") from exc
        self._context, self._socket = context, socket
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
        limit = None if self.duration_s is None else round(self.duration_s * header.sample_rate_hz)
        self._tracker = StreamTracker(header, limit)
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
        logger.info(
            "%s: stream %08x, %s, first sample %d",
            self.endpoint,
            header.stream_id,
            self.format,
            header.first_sample,
        )

    def _await_first_frame(
        self, socket: zmq.Socket[bytes]
    ) -> tuple[list[zmq.Frame], FrameHeader, npt.NDArray[np.generic]]:
        deadline = time.monotonic() + self.first_frame_timeout_s
        while True:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0 or not socket.poll(remaining_ms):
                break
            parts = socket.recv_multipart(copy=False)
            try:
                header, samples = decode_frame(parts)
            except MalformedFrame as exc:
                self._reject(exc.reason)
                continue
            self._check_expected(header)
            if self.channel_names is not None and len(self.channel_names) != header.channels:
                raise SourceError(
                    f"{len(self.channel_names)} channel names given but {self.endpoint} "
                    f"streams {header.channels} channels"
                )
            return parts, header, samples
        message = (
            f"no frames from {self.endpoint} within {self.first_frame_timeout_s:g} s: "
            "is `aemon daq-sim` or the DAQ bridge running?"
        )
        if self.stats.malformed:
            message = (
                f"no valid frames from {self.endpoint} within {self.first_frame_timeout_s:g} s "
                f"({self.stats.malformed} malformed, last: {self.stats.last_error})"
            )
        raise SourceError(message)

    def _check_expected(self, header: FrameHeader) -> None:
        rate = header.sample_rate_hz
        if self.expected_rate_hz is not None and not math.isclose(
            rate, self.expected_rate_hz, rel_tol=1e-9
        ):
            raise SourceError(
                f"{self.endpoint} streams {rate:g} Hz but {self.expected_rate_hz:g} Hz was "
                "expected: set the DAQ or the configured sample rate so they match"
            )
        if self.expected_channels is not None and header.channels != self.expected_channels:
            raise SourceError(
                f"{self.endpoint} streams {header.channels} channels but "
                f"{self.expected_channels} were expected: check the DAQ's channel setup"
            )

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
                finished = self._deliver(sink, header, samples)
                del _parts, samples
            while not finished and not self._stop_requested.is_set():
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
            header, samples = decode_frame(parts)
            assert self._tracker is not None
            self._tracker.check(header)
        except MalformedFrame as exc:
            self._reject(exc.reason)
            return False
        except Exception as exc:  # never let one bad message kill the receiver
            self._reject(f"undecodable message: {exc!r}")
            return False
        return self._deliver(sink, header, samples)

    def _deliver(
        self, sink: SampleSink, header: FrameHeader, samples: npt.NDArray[np.generic]
    ) -> bool:
        """Report any gap, push the samples; return True when the stream is over."""
        assert self._tracker is not None
        admission = self._tracker.admit(header)
        if admission.gap is not None:
            self._gap(sink, admission.gap)
        elif admission.seq_jump:
            self._warn(
                f"{self.endpoint}: frame seq {header.seq} arrived out of sequence, but its "
                "samples follow on; no samples lost"
            )
        count = admission.samples
        if count > 0:
            if count < header.n_samples:
                samples = np.ascontiguousarray(samples[:, :count])
            try:
                sink.push(header.first_sample, samples)
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

    def _gap(self, sink: SampleSink, gap: Gap) -> None:
        self._warn_gap(
            f"{self.endpoint}: samples {gap.start_sample}..{gap.stop_sample} "
            f"({gap.samples} per channel) missing ({gap.reason})"
        )
        try:
            sink.gap(gap)
        except Exception as exc:
            raise _SinkFailedError from exc
        with self.stats.lock:
            self.stats.gaps += 1
            self.stats.samples_lost += gap.samples

    def _reject(self, reason: str) -> None:
        with self.stats.lock:
            self.stats.malformed += 1
            self.stats.last_error = reason
        self._warn(f"{self.endpoint}: rejected frame: {reason}")

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
        if socket is not None:
            socket.close(linger=0)
        if context is not None:
            context.term()

    def __enter__(self) -> ZmqSource:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
