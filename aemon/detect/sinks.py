"""Where a :class:`~aemon.detect.runner.DetectionRunner` sends its hits: the live outputs.

Every sink has ``write(events) -> int`` (:class:`~aemon.events.grouping.HitSink`). The event
CSV (:class:`~aemon.io.event_csv.EventCsvWriter`) and a named event table
(:class:`~aemon.io.event_tables.EventTableWriter`) are sinks as they are; this module adapts
the recording's ``/events`` table, the PUB publisher and a callback (the GUI, printing).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence

from aemon.errors import AemonError
from aemon.events.hit import Hit
from aemon.io.event_csv import events_to_array
from aemon.io.event_publisher import EventPublisher
from aemon.io.recording import RecordingWriter

logger = logging.getLogger(__name__)

__all__ = ["CallbackSink", "PublishedEvents", "RecordedEvents"]

Latency = Callable[[Hit], float | None]
"""An event's latency (ms), or None when the source has no clock."""


class RecordedEvents:
    """A sink into the ``/events`` table of the recording being written.

    A recording that failed (disk full) or closed takes nothing more; the recorder reports
    its failure itself.
    """

    def __init__(self, writer: RecordingWriter) -> None:
        self.writer = writer

    def write(self, events: Iterable[Hit]) -> int:
        """Append ``events`` if the recording is still open; returns how many were given."""
        batch = list(events)
        if batch and not self.writer.closed:
            with contextlib.suppress(AemonError):
                self.writer.add_events(events_to_array(batch))
        return len(batch)


class PublishedEvents:
    """A sink that publishes each hit on the PUB socket (``aemon.event/1`` JSON).

    Args:
        publisher: The socket.
        sample_rate_hz: Sample rate of the stream (Hz), for the message's times.
        latency: Each event's latency (ms) for the message, or None.
    """

    def __init__(
        self, publisher: EventPublisher, sample_rate_hz: float, latency: Latency | None = None
    ) -> None:
        self.publisher, self.sample_rate_hz, self.latency = publisher, sample_rate_hz, latency

    def write(self, events: Iterable[Hit]) -> int:
        """Publish ``events`` (never blocks); returns how many."""
        batch = list(events)
        latencies = None if self.latency is None else [self.latency(e) for e in batch]
        self.publisher.publish_events(batch, self.sample_rate_hz, latencies)
        return len(batch)


class CallbackSink:
    """A sink that calls ``callback(events)`` with every non-empty batch (from the detector
    thread when live)."""

    def __init__(self, callback: Callable[[Sequence[Hit]], None]) -> None:
        self.callback = callback

    def write(self, events: Iterable[Hit]) -> int:
        """Call back with ``events``; returns how many."""
        batch = list(events)
        if batch:
            self.callback(batch)
        return len(batch)
