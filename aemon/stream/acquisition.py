"""Acquisition: a source feeding the ring buffer, with a lossless HDF5 recorder behind it.

::

    source thread ──push/gap──► RingBuffer ──blocking reader──► recorder thread ──► HDF5
                                           └──other readers──► detector, GUI, status

The recorder reads through a *blocking* ring reader, so when the disk falls behind the ring
fills, ``push`` waits, and a PULL source stops reading its socket: the back-pressure reaches
the DAQ instead of samples being dropped. Other consumers attach their own readers.

If the recorder fails (disk full, I/O error, a bug), the writer closes the file early and
records the first sample it lost; then, by default (``on_recorder_error="stop"``), the
acquisition stops the source at once, so no process goes on draining a DAQ it no longer
records, and :meth:`Acquisition.wait` / :meth:`Acquisition.stop` raise the one-line
:class:`aemon.errors.RecordingError`. With ``"continue"`` the source and the other readers
(live detection) go on, and the error is raised by :meth:`Acquisition.stop` at the end.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.errors import AemonError, RecordingError
from aemon.io.recording import RecordingWriter
from aemon.stream.ring import ReadResult, RingBuffer, RingReader
from aemon.stream.source import Source, SourceStats, rejected_summary
from aemon.types import RESTART, Gap

logger = logging.getLogger(__name__)


class AcquisitionStatus(NamedTuple):
    """A snapshot for status lines.

    Attributes:
        elapsed_s: Wall time since start (s).
        samples: Sample indices per channel the source has reached (gaps included).
        recorded: Sample indices per channel the recording has reached (gaps included).
        rate_hz: Mean received sample rate per channel over the run (Hz).
        realtime_factor: Received stream time divided by wall time (× real time).
        gaps: Gaps reported by the source.
        samples_lost: Samples per channel covered by those gaps.
        malformed: Frames the source rejected.
        lag_s: Stream time received but not yet recorded (s).
        recording_error: Why recording stopped early (one line), "" while it runs.
        rejected: Rejected frames per reason, e.g. ``"crc 3, bad magic 1"``; "" if none.
        restarts: DAQ restarts followed (new segments).
        nonfinite: NaN/Inf samples replaced by 0.
        stored: Samples per channel of signal stored: written to the recording, or without
            one delivered by the source (gaps, restart down time and zero fill not counted).
    """

    elapsed_s: float
    samples: int
    recorded: int
    rate_hz: float
    realtime_factor: float
    gaps: int
    samples_lost: int
    malformed: int
    lag_s: float
    recording_error: str = ""
    rejected: str = ""
    restarts: int = 0
    nonfinite: int = 0
    stored: int = 0

    def line(self) -> str:
        """One human-readable status line."""
        return (
            (
                f"{self.elapsed_s:7.1f} s  {self.rate_hz / 1e6:7.4f} MS/s/ch  "
                f"{self.realtime_factor:5.2f}× rt  stored {self.stored:>12d}  "
                f"gaps {self.gaps} ({self.samples_lost} lost)  bad frames {self.malformed}  "
                f"lag {self.lag_s * 1e3:6.1f} ms"
            )
            + (f" ({self.rejected})" if self.rejected else "")
            + (f"  restarts {self.restarts}" if self.restarts else "")
            + ("  RECORDING STOPPED" if self.recording_error else "")
        )


class Acquisition:
    """Runs a source into a ring buffer and, optionally, a recording.

    Args:
        source: An opened source (its ``format`` is known).
        writer: Recording to append every sample and gap to, or None.
        ring_seconds: Ring capacity in seconds of signal (s).
        on_recorder_error: ``"stop"`` (default): a recorder failure stops the acquisition;
            ``"continue"``: the source and other readers go on without recording.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        source: Source,
        writer: RecordingWriter | None = None,
        ring_seconds: float = 4.0,
        on_recorder_error: str = "stop",
    ) -> None:
        if on_recorder_error not in ("stop", "continue"):
            raise ValueError(f"on_recorder_error must be stop or continue: {on_recorder_error}")
        self.on_recorder_error = on_recorder_error
        fmt = source.format
        capacity = max(int(ring_seconds * fmt.sample_rate_hz), 1 << 16)
        self.source = source
        self.writer = writer
        self.ring = RingBuffer(fmt.channels, capacity, fmt.dtype, first_sample=source.first_sample)
        self._recorder_reader: RingReader | None = None
        self._recorder_thread: threading.Thread | None = None
        self._recorder_error: AemonError | None = None
        self._failed = threading.Event()
        self._recorded_gaps: set[tuple[int, int]] = set()
        self._started_at = 0.0
        self.recorded = source.first_sample

    def start(self) -> None:
        """Attach the recorder and start the source."""
        self._started_at = time.monotonic()
        if self.writer is not None:
            self._recorder_reader = self.ring.reader(
                "recorder", blocking=True, start=self.source.first_sample
            )
            self._recorder_thread = threading.Thread(
                target=self._record_loop, name="aemon-recorder", daemon=True
            )
            self._recorder_thread.start()
        self.source.start(self.ring)

    def _record_loop(self) -> None:
        assert self._recorder_reader is not None and self.writer is not None
        reader, writer = self._recorder_reader, self.writer
        try:
            while True:
                result = reader.read(timeout=0.25)
                if result is None:
                    break
                self._record_notes()
                for gap in result.gaps:
                    self._record_gap(gap)
                if result.lost is not None and result.lost.reason == "overrun":
                    # A blocking reader is never lapped; "gap" losses are source gaps that
                    # result.gaps already reported.
                    self._record_gap(result.lost)
                if result.samples.shape[1]:
                    for first, block in _without_restarts(result):
                        writer.push(first, block)
                    self.recorded = result.first_sample + result.samples.shape[1]
                else:  # the source is idle: still make what we have visible to readers
                    writer.flush_if_due()
        except BaseException as exc:  # keep the error for the main thread, stop in order
            self._recorder_failed(exc)
            reader.close()
            if self.on_recorder_error == "stop":
                self._failed.set()
                self.ring.close()  # the source's pushes now return at once
                try:
                    self.source.stop()
                except Exception:
                    logger.exception("stopping the source after the recorder failed")

    def _recorder_failed(self, exc: BaseException) -> None:
        """Close the file early (if the writer has not) and keep a one-line error."""
        assert self.writer is not None
        if isinstance(exc, RecordingError):
            error: AemonError = exc
        else:
            logger.error("recorder stopped", exc_info=exc)
            what = f"recorder stopped ({type(exc).__name__}: {exc})"
            first = self.writer.abort("recorder_error", what)
            error = RecordingError(
                f"{self.writer.path}: {what}; the file is closed and readable, samples from "
                f"index {first} on are not in it"
            )
        logger.error("%s", error)
        self._recorder_error = error

    def _record_notes(self) -> None:
        """Move the source's incidents (replaced samples, ...) into ``/incidents``."""
        assert self.writer is not None
        notes = getattr(self.source.stats, "notes", None)
        while notes:
            kind, start, stop, detail = notes.popleft()
            self.writer.note(kind, start, stop, detail)

    def _record_summary(self) -> None:
        """At the end, note rejected frames per reason in ``/incidents``."""
        stats = self.source.stats
        if self.writer is None or self.writer.closed:
            return
        try:
            self._record_notes()
            if stats.rejected:
                summary = rejected_summary(_copy_rejected(stats))
                self.writer.note("rejected", -1, -1, f"frames rejected per reason: {summary}")
        except AemonError as exc:
            self._recorder_error = self._recorder_error or exc

    def _record_gap(self, gap: Gap) -> None:
        key = (gap.start_sample, gap.stop_sample)
        if key in self._recorded_gaps or self.writer is None:
            return
        self._recorded_gaps.add(key)
        self.writer.gap(gap)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the source ends by itself; True if it did within ``timeout`` (s).

        Raises:
            RecordingError: The recorder failed and ``on_recorder_error`` is ``"stop"``.
            AemonError: The source failed.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._failed.is_set():
                assert self._recorder_error is not None
                raise self._recorder_error
            left = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if self.source.wait(max(left, 0.0)):
                if self._recorder_thread is not None and not self._failed.is_set():
                    self.ring.close()  # let the recorder drain, then check it succeeded
                    self._recorder_thread.join()
                return not self._failed.is_set() or self.wait(0)
            if deadline is not None and time.monotonic() >= deadline:
                return False

    @property
    def recording_error(self) -> AemonError | None:
        """Why recording stopped early, or None."""
        return self._recorder_error

    def stop(self) -> None:
        """Stop the source, let the recorder drain the ring, and raise any recorder error.

        The ring is closed first, so a source blocked by back-pressure returns at once (the
        block it was pushing is discarded); the recorder then writes what the ring holds.
        """
        self.ring.close()
        self.source.stop()
        if self._recorder_thread is not None:
            self._recorder_thread.join()
        self._record_summary()
        if self._recorder_error is not None:
            raise self._recorder_error

    def status(self) -> AcquisitionStatus:
        """Current counters; cheap enough to call several times a second."""
        stats = self.source.stats
        elapsed = max(time.monotonic() - self._started_at, 1e-9)
        rate = self.source.format.sample_rate_hz
        received = self.ring.write_index - self.source.first_sample
        recorded = self.recorded - self.source.first_sample if self.writer else received
        return AcquisitionStatus(
            elapsed_s=elapsed,
            samples=received,
            recorded=recorded,
            rate_hz=received / elapsed,
            realtime_factor=received / rate / elapsed,
            gaps=stats.gaps,
            samples_lost=stats.samples_lost,
            malformed=stats.malformed,
            lag_s=(received - recorded) / rate,
            recording_error=str(self._recorder_error or ""),
            rejected=rejected_summary(_copy_rejected(stats)),
            restarts=stats.restarts,
            nonfinite=stats.nonfinite,
            stored=self.writer.samples_written if self.writer is not None else stats.samples,
        )

    def __enter__(self) -> Acquisition:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _without_restarts(result: ReadResult) -> list[tuple[int, npt.NDArray[np.generic]]]:
    """The read's ``(first_sample, block)`` pieces outside restart gaps: the ring zero-fills
    a restart's down time, but the recording starts a new segment there instead."""
    pos, stop = result.first_sample, result.first_sample + result.samples.shape[1]
    pieces = []
    for gap in sorted(result.gaps, key=lambda g: g.start_sample):
        lo, hi = max(gap.start_sample, pos), min(gap.stop_sample, stop)
        if gap.reason != RESTART or hi <= lo:
            continue
        if lo > pos:
            pieces.append(
                (pos, result.samples[:, pos - result.first_sample : lo - result.first_sample])
            )
        pos = hi
    if pos < stop:
        pieces.append((pos, result.samples[:, pos - result.first_sample :]))
    return pieces


def _copy_rejected(stats: SourceStats) -> dict[str, int]:
    with stats.lock:
        return dict(stats.rejected)
