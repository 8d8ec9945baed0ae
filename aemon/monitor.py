"""The live monitor: acquisition, recording and detection running side by side.

::

    source ──► RingBuffer ──blocking reader──► recorder thread ──► HDF5 /raw, /gaps
                         └─blocking reader──► detector thread ──► events ──► HDF5 /events
                                                                         ├─► event CSV
                                                                         ├─► PUB socket (JSON)
                                                                         └─► callbacks (GUI)
                         └─lossy reader──► display thread ──► display PUB (raw, may drop)

The detector and recorder readers are lossless: the detector sees every sample exactly once.
If detection falls behind, its lag grows (shown in the status) and, once the ring is full,
back-pressure reaches the source; it never silently skips signal. The optional display feed
reads lossily and sends without blocking: a slow display skips signal, the monitor never
waits for it.

A failing worker stops the run in order: if the detector thread raises, :meth:`LiveMonitor.wait`
raises a one-line :class:`aemon.errors.AemonError` at once, the caller's ``stop()`` stops the
source and the recording closes cleanly with a ``detector_error`` row in ``/incidents``. A
recorder failure is handled by :class:`aemon.stream.acquisition.Acquisition` (stop, or go on
detecting with ``on_recorder_error="continue"``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple

import numpy as np

from aemon.detect.backend import Detector
from aemon.detect.background_learning import BackgroundLearning
from aemon.detect.factory import make_hit_stream, open_model
from aemon.detect.hit_streams import NeuralHitStream
from aemon.detect.options import DetectOptions
from aemon.detect.runner import DetectionRunner, ring_items
from aemon.detect.sinks import CallbackSink, PublishedEvents, RecordedEvents
from aemon.errors import AemonError, ConfigError
from aemon.events.grouping import HitGrouper, HitSink
from aemon.events.hit import Hit
from aemon.io.display_publisher import DisplayPublisher
from aemon.io.event_csv import EventCsvWriter
from aemon.io.event_publisher import EventPublisher
from aemon.io.recording import RecordingWriter
from aemon.stream.acquisition import Acquisition
from aemon.stream.live_stats import LiveStats
from aemon.stream.source import Source

logger = logging.getLogger(__name__)

EventCallback = Callable[[Sequence[Hit]], None]


class MonitorStatus(NamedTuple):
    """A snapshot of the monitor for status lines and the ``status`` PUB topic.

    Attributes:
        elapsed_s: Wall time since start (s).
        rate_hz: Mean received sample rate per channel (Hz).
        realtime_factor: Stream time received / wall time (× real time).
        samples: Samples per channel received.
        events: Events detected so far.
        gaps: Gaps reported by the source.
        samples_lost: Samples per channel in those gaps.
        malformed: Frames the source rejected.
        record_lag_s: Stream time received but not yet recorded (s).
        detect_lag_s: Stream time received but not yet through the detector (s).
        latency_p50_ms: Median latency of the last 1000 events after the warm-up (ms), NaN
            if unknown (see :mod:`aemon.stream.live_stats`).
        latency_p99_ms: 99th percentile of the same (ms).
        recent_realtime_factor: × real time over the last 10 s (``realtime_factor``: since
            the start).
        warmup_s: Wall time until detection first kept up with the source (s); NaN while
            warming up.
        warmup_latency_max_ms: Largest latency of an event found in the warm-up (ms).
    """

    elapsed_s: float
    rate_hz: float
    realtime_factor: float
    samples: int
    events: int
    gaps: int
    samples_lost: int
    malformed: int
    record_lag_s: float
    detect_lag_s: float
    latency_p50_ms: float
    latency_p99_ms: float
    recent_realtime_factor: float = np.nan
    warmup_s: float = np.nan
    warmup_latency_max_ms: float = np.nan

    def line(self) -> str:
        """One human-readable status line."""
        latency = (
            f"latency p50/p99 {self.latency_p50_ms:.1f}/{self.latency_p99_ms:.1f} ms"
            if self.latency_p50_ms == self.latency_p50_ms
            else "latency –"
        )
        return (
            f"{self.elapsed_s:7.1f} s  {self.rate_hz / 1e6:7.4f} MS/s/ch  "
            f"{self.recent_realtime_factor:5.2f}× rt  events {self.events:6d}  gaps {self.gaps} "
            f"({self.samples_lost} lost)  lag {self.detect_lag_s * 1e3:6.1f} ms  {latency}"
        )


def _warm_up(options: DetectOptions, source: Source, detector: Detector | None) -> None:
    """Run a throwaway stream over a little noise so JIT compilation (numba) and ONNX
    Runtime's first-run allocations happen before live samples arrive, not during the first
    bursts (they would otherwise cost a second of latency)."""
    fmt = source.format
    stream = make_hit_stream(options, fmt, source.channel_info, live=True, onnx=detector)
    n = int(0.05 * fmt.sample_rate_hz)
    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 3.0, size=(fmt.channels, n))
    block = noise.astype(np.int16) if fmt.dtype == "int16" else (noise * 1e-5).astype(np.float32)
    t0 = time.perf_counter()
    DetectionRunner(stream, [], first_sample=0, sample_rate_hz=fmt.sample_rate_hz).run([(0, block)])
    logger.info("detector warmed up in %.2f s", time.perf_counter() - t0)


class LiveMonitor:
    """Detects events live on an opened source, recording and publishing as configured.

    Args:
        source: An opened source (format known).
        options: Detector settings (model, detector kind, thresholds, provider).
        writer: Recording for raw samples, gaps and events, or None.
        publisher: PUB socket for events and status, or None.
        csv: Live event CSV, or None.
        on_events: Called from the detector thread with each batch of new events.
        ring_seconds: Ring capacity (s of signal).
        start_time_utc: Wall time of the source's first sample, for event UTC stamps and
            latency (the DAQ clock if the source has one).
        learn_background_s: Learn the neural threshold from this much signal at the start
            (s; events are withheld meanwhile); 0 = use the card's (or site calibration's).
        fa_per_min: False-alarm target (events/min) for ``learn_background_s``.
        on_recorder_error: ``"stop"`` (default) or ``"continue"`` detecting without the
            recording when it fails (e.g. disk full); see :class:`Acquisition`.
        display: Lossy raw-sample feed for a display process, or None.
        display_block_s: Signal per display message (s).
        grouper: Groups the hits of all channels into located events before they are
            recorded, written and published (held ``window + hold_s`` for late hits).
        only_located_inside: With ``grouper``: pass on only hits located inside.
    """

    def __init__(
        self,
        source: Source,
        options: DetectOptions,
        *,
        writer: RecordingWriter | None = None,
        publisher: EventPublisher | None = None,
        csv: EventCsvWriter | None = None,
        on_events: EventCallback | None = None,
        ring_seconds: float = 4.0,
        start_time_utc: datetime | None = None,
        learn_background_s: float = 0.0,
        fa_per_min: float = 1.0,
        on_recorder_error: str = "stop",
        display: DisplayPublisher | None = None,
        display_block_s: float = 0.02,
        grouper: HitGrouper | None = None,
        only_located_inside: bool = False,
    ) -> None:
        self.source = source
        self.format = source.format
        self.writer, self.publisher, self.csv = writer, publisher, csv
        self.on_events = on_events
        self.start_time_utc = start_time_utc
        # one model for the stream and its warm-up (a GPU backend loads and tunes it once)
        detector = (
            None
            if options.detector == "threshold"
            else open_model(options, self.format.sample_rate_hz)
        )
        self.stream = make_hit_stream(
            options,
            source.format,
            source.channel_info,
            first_sample=source.first_sample,
            start_time_utc=start_time_utc.isoformat() if start_time_utc else "",
            onnx=detector,
            live=True,
        )
        self.learning: BackgroundLearning | None = None
        if learn_background_s > 0:
            if not isinstance(self.stream, NeuralHitStream):
                raise ConfigError("--learn-background needs the nn detector")
            self.learning = BackgroundLearning(
                self.stream, learn_background_s, fa_per_min, source.first_sample
            )
            self.stream = self.learning
        _warm_up(options, source, detector)
        self.acquisition = Acquisition(
            source, writer, ring_seconds=ring_seconds, on_recorder_error=on_recorder_error
        )
        self._reader = self.acquisition.ring.reader(
            "detector", blocking=True, start=source.first_sample
        )
        sinks: list[HitSink] = [CallbackSink(self._tally)]
        if writer is not None:
            sinks.append(RecordedEvents(writer))
        if csv is not None:
            sinks.append(csv)
        if publisher is not None:
            sinks.append(PublishedEvents(publisher, self.format.sample_rate_hz, self._latency_ms))
        if on_events is not None:
            sinks.append(CallbackSink(on_events))
        self.runner = DetectionRunner(
            self.stream, sinks, first_sample=source.first_sample,
            sample_rate_hz=self.format.sample_rate_hz, grouper=grouper,
            only_inside=only_located_inside, keep_event_table=False,
        )  # fmt: skip
        self._thread = threading.Thread(target=self._detect_loop, name="aemon-detector")
        self.display = display
        self._display_samples = max(1, round(display_block_s * self.format.sample_rate_hz))
        self._display_thread: threading.Thread | None = None
        if display is not None:
            self._display_reader = self.acquisition.ring.reader("display", blocking=False)
            self._display_thread = threading.Thread(
                target=self._display_loop, name="aemon-display", daemon=True
            )
        self.stats = LiveStats(self.format.sample_rate_hz)
        self._error: AemonError | None = None
        self._done = threading.Event()
        self.events = 0

    @property
    def detected_until(self) -> int:
        """Absolute index one past the last sample through the detector."""
        return self.runner.detected_until

    # -- running ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the detector thread, the recorder and the source."""
        self.stats.start()
        self._thread.start()
        if self._display_thread is not None:
            self._display_thread.start()
        self.acquisition.start()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the source has ended and every sample went through the detector.

        Raises:
            AemonError: The detector or (see :class:`Acquisition`) the recorder failed.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._error is not None:
                raise self._error
            left = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if self.acquisition.wait(max(left, 0.0)):
                self.acquisition.ring.close()
                done = self._done.wait(None if deadline is None else deadline - time.monotonic())
                if self._error is not None:
                    raise self._error
                return done
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def stop(self) -> None:
        """Stop the source, drain recorder and detector, and re-raise a worker error."""
        try:
            self.acquisition.stop()
        finally:
            self.acquisition.ring.close()
            self._thread.join()
            if self._display_thread is not None:
                self.acquisition.ring.close()
                self._display_thread.join(timeout=2.0)
        if self._error is not None:
            raise self._error

    def __enter__(self) -> LiveMonitor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- display thread (lossy) ---------------------------------------------------------------

    def _display_loop(self) -> None:
        assert self.display is not None
        n = self._display_samples
        try:
            while not self._done.is_set():
                result = self._display_reader.read(n, min_samples=n, timeout=0.2)
                if result is None:
                    break
                if result.samples.shape[1]:
                    lost = (
                        0
                        if result.lost is None
                        else result.lost.stop_sample - result.lost.start_sample
                    )
                    self.display.publish(result.first_sample, result.samples, lost)
        except Exception:  # the display must never take the monitor down
            logger.exception("display feed stopped")
        finally:
            self._display_reader.close()

    # -- detector thread --------------------------------------------------------------------

    def _detect_loop(self) -> None:
        try:
            self.runner.run(ring_items(self._reader))
        except BaseException as exc:
            logger.error("detector stopped", exc_info=exc)
            what = f"detector stopped ({type(exc).__name__}: {exc})"
            at = self.detected_until
            self._reader.close()
            writer = self.writer
            if writer is not None and not writer.closed:
                with contextlib.suppress(AemonError):
                    writer.note("detector_error", at, -1, what)
            self._error = AemonError(
                f"{what} at sample {at}; acquisition stopped, the recording is closed"
            )
        finally:
            self._done.set()

    def _tally(self, events: Sequence[Hit]) -> None:
        """The status sink: counts events and keeps their latencies."""
        self.events += len(events)
        self._progress()
        latencies = (self._latency_ms(e) for e in events)
        self.stats.add_latencies(x for x in latencies if x is not None)

    def _progress(self) -> None:
        done = self.detected_until - self.source.first_sample
        self.stats.progress(done, self.acquisition.ring.write_index - self.detected_until)

    def _latency_ms(self, event: Hit) -> float | None:
        """Now minus the source clock time of the event's last sample (ms)."""
        if self.start_time_utc is None:
            return None
        rate = self.format.sample_rate_hz
        end = event.sample_index + round(max(event.duration_us, 0.0) * 1e-6 * rate)
        end_s = self.start_time_utc.timestamp() + (end - self.source.first_sample) / rate
        return (time.time() - end_s) * 1e3

    # -- status -----------------------------------------------------------------------------

    def status(self) -> MonitorStatus:
        """Current counters."""
        acq = self.acquisition.status()
        rate = self.format.sample_rate_hz
        received = self.acquisition.ring.write_index
        self._progress()
        p50, p99 = self.stats.latency_ms()
        return MonitorStatus(
            elapsed_s=acq.elapsed_s,
            rate_hz=acq.rate_hz,
            realtime_factor=acq.realtime_factor,
            samples=acq.samples,
            events=self.events,
            gaps=acq.gaps,
            samples_lost=acq.samples_lost,
            malformed=acq.malformed,
            record_lag_s=acq.lag_s,
            detect_lag_s=max(received - self.detected_until, 0) / rate,
            latency_p50_ms=p50,
            latency_p99_ms=p99,
            recent_realtime_factor=self.stats.recent_realtime_factor(acq.samples),
            warmup_s=self.stats.warmup_s,
            warmup_latency_max_ms=self.stats.warmup_latency_max_ms(),
        )
