"""Acquisition sources as the core sees them: the Source protocol and its counters.

Concrete sources live in :mod:`aemon.drivers`; the core only relies on this protocol.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self

from aemon.errors import AemonError, SourceError
from aemon.types import ChannelInfo, SampleSink, StreamFormat

MAX_NOTES = 1000
"""Incidents a source keeps for the recorder before the oldest are dropped."""


@dataclass
class SourceStats:
    """Running counters of a source; read from any thread (values are plain ints).

    Attributes:
        frames: Frames or callback blocks accepted.
        samples: Samples per channel delivered to the sink.
        gaps: Gaps reported to the sink.
        samples_lost: Samples per channel covered by those gaps.
        malformed: Frames rejected (all reasons).
        last_error: Reason of the most recent rejection, "" if none.
        rejected: Rejected frames per reason (short rule name → count).
        restarts: Times the stream restarted (new stream id or index reset): new segments.
        nonfinite: NaN or ±Inf samples replaced by 0.
        notes: Incidents for the recording, ``(kind, start_sample, stop_sample, detail)``,
            taken (popped) by the recorder; the most recent :data:`MAX_NOTES` are kept.
    """

    frames: int = 0
    samples: int = 0
    gaps: int = 0
    samples_lost: int = 0
    malformed: int = 0
    last_error: str = ""
    rejected: dict[str, int] = field(default_factory=dict)
    restarts: int = 0
    nonfinite: int = 0
    notes: deque[tuple[str, int, int, str]] = field(
        default_factory=lambda: deque(maxlen=MAX_NOTES), repr=False, compare=False
    )
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


def rejected_summary(rejected: dict[str, int]) -> str:
    """``"crc 3, bad magic 1"``: rejected frames per reason, most frequent first."""
    ordered = sorted(rejected.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{kind} {count}" for kind, count in ordered)


class Source(Protocol):
    """An acquisition source: opened as a context manager, then started with a sink.

    ``format`` and ``channel_info`` are valid once the source is open (a network source may
    wait for its first frame to learn them). ``start`` starts delivery on the source's own
    thread (or audio callback): every block goes to ``sink.push`` in order, and every loss to
    ``sink.gap`` before the block that follows it. ``wait`` returns True once the source has
    ended by itself (end of file, ``--duration`` reached, publisher finished).
    """

    format: StreamFormat
    channel_info: list[ChannelInfo]
    stats: SourceStats
    first_sample: int  # absolute index of the first sample the source will deliver

    def start(self, sink: SampleSink) -> None: ...

    def stop(self) -> None: ...

    def wait(self, timeout: float | None = None) -> bool: ...

    def __enter__(self) -> Source: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class OpenStopContext:
    """``with source:`` opens the source and stops it on the way out, whatever happened: the
    context manager of every acquisition source (a subclass defines ``open`` and ``stop``)."""

    def open(self) -> None:
        """Connect to the device, socket or file (a subclass defines it)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop delivery and release the device (a subclass defines it; idempotent)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def delivery_error(error: BaseException, what: str) -> AemonError:
    """The one-line error a source's ``wait`` raises when its delivery thread failed.

    Args:
        error: What stopped the thread (a sink error, a corrupt file, a device failure).
        what: Which source and what stopped, e.g. ``"run.h5: replay stopped"``.
    """
    if isinstance(error, AemonError):
        return error
    return SourceError(f"{what}: {type(error).__name__}: {error}")
