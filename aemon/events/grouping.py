"""Multi-channel events: group hits of several channels, then locate each group.

Detectors work per channel; a wave from one source reaches every sensor, each at its own time.
:class:`HitGrouper` collects the hits (neural, threshold or cascade :class:`Event` rows) of all
channels, in refined-onset order, into events:

* the earliest hit opens an event; every later hit whose refined onset lies at most the
  **event window** after it (inclusive) joins it, on any channel;
* the first hit on each channel is that channel's arrival; the arrival-time differences and
  the first-hit channel feed :func:`aemon.events.location.locate`;
* each hit keeps its own row; the hits of one event share ``event_id`` and the location
  columns (``x_m``, ``y_m``, ``location_uncertainty_m``, ``location_residual_us``,
  ``location_status``), and :attr:`HitGrouper.table` gets one :class:`LocatedEvent` per event.

Hits arrive from streaming detectors late and out of order across channels (a hit is reported
when it ends). An event is therefore final only when the stream has advanced ``window + hold``
past its first hit (``LocationConfig.hold_s``, default 0.1 s); :meth:`HitGrouper.flush` ends
the stream.

Example:
    >>> grouper = HitGrouper(load_location_config("bar.toml"), 1_562_500.0)
    >>> located = grouper.push(stream.push(first, block), first + block.shape[1])
    >>> located += grouper.flush()
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable
from typing import NamedTuple

from aemon.errors import ConfigError
from aemon.events.event import Event
from aemon.events.location import INSIDE, Location, locate
from aemon.events.location_config import LocationConfig

logger = logging.getLogger(__name__)


class LocatedEvent(NamedTuple):
    """One multi-channel event: the row that links its hits.

    Attributes:
        event_id: The ``event_id`` its hits carry.
        time_s: Refined onset of the first hit (s since the start of the input).
        sample_index: Absolute sample index of the first hit's refined onset.
        first_channel: Channel of the first hit.
        channels: Channels hit, in order of first arrival.
        delays_us: First arrival on each of ``channels`` minus the first hit (µs).
        hits: Number of hit rows in the event (repeat hits on a channel included).
        location: Where the source is (status "" fields NaN when no location is configured).
    """

    event_id: int
    time_s: float
    sample_index: int
    first_channel: int
    channels: tuple[int, ...]
    delays_us: tuple[float, ...]
    hits: int
    location: Location


def _key(event: Event) -> tuple[int, int]:
    return (event.sample_index, event.channel)


class HitGrouper:
    """Hits of several channels → multi-channel events with a location.

    Args:
        config: Sensor layout and wave speed; None groups hits without locating them
            (then ``window_s`` is required).
        sample_rate_hz: Sample rate (Hz) of the hits' ``sample_index``.
        window_s: Event window (s); default ``config.event_window_s``.
        hold_s: Wait for late hits (s of signal); default ``config.hold_s`` (0 without one).
        first_event_id: ``event_id`` of the first event.

    Attributes:
        table: :class:`LocatedEvent` rows of every finished event, in order (callers may
            clear it after reading).
    """

    def __init__(
        self,
        config: LocationConfig | None,
        sample_rate_hz: float,
        *,
        window_s: float | None = None,
        hold_s: float | None = None,
        first_event_id: int = 0,
    ) -> None:
        if not sample_rate_hz > 0:
            raise ConfigError(f"hit grouping needs a positive sample rate, got {sample_rate_hz}")
        if window_s is None:
            if config is None:
                raise ConfigError("hit grouping needs a location config or an event window")
            window_s = config.event_window_s
        if not window_s >= 0:
            raise ConfigError(f"event window must be >= 0 s, got {window_s}")
        self.config = config
        self.sample_rate_hz = float(sample_rate_hz)
        self.window_samples = window_s * self.sample_rate_hz
        hold = hold_s if hold_s is not None else (config.hold_s if config else 0.0)
        self.hold_samples = hold * self.sample_rate_hz
        self.next_event_id = first_event_id
        self.table: list[LocatedEvent] = []
        self._pending: list[Event] = []
        self._closed_until = -1.0  # end of the last finished event's window (samples)

    @property
    def pending(self) -> int:
        """Hits held back until their event is final."""
        return len(self._pending)

    def push(self, hits: Iterable[Event], until_sample: int | None = None) -> list[Event]:
        """Add hits; return the annotated hits of every event that is now final.

        Args:
            hits: New hits, any order, any channels.
            until_sample: Absolute index up to which the detector has seen the signal; None
                (offline) uses the latest hit onset.

        Returns:
            Hits of the finished events, event by event, each event's hits by onset.
        """
        for hit in hits:
            bisect.insort(self._pending, hit, key=_key)
        if until_sample is None:
            if not self._pending:
                return []
            until_sample = self._pending[-1].sample_index
        limit = until_sample - self.window_samples - self.hold_samples
        out: list[Event] = []
        while self._pending and self._pending[0].sample_index <= limit:
            out += self._close_first()
        return out

    def flush(self) -> list[Event]:
        """End of stream: finish every held event."""
        out: list[Event] = []
        while self._pending:
            out += self._close_first()
        return out

    def _close_first(self) -> list[Event]:
        first = self._pending[0].sample_index
        if first <= self._closed_until:
            logger.debug("hit at sample %d came after its event was final", first)
        n = 1
        while n < len(self._pending) and (
            self._pending[n].sample_index - first <= self.window_samples
        ):
            n += 1
        group, self._pending = self._pending[:n], self._pending[n:]
        self._closed_until = first + self.window_samples
        return self._finish(group)

    def _finish(self, group: list[Event]) -> list[Event]:
        arrivals: dict[int, int] = {}
        for hit in group:  # by onset: the first hit on each channel is its arrival
            arrivals.setdefault(hit.channel, hit.sample_index)
        rate = self.sample_rate_hz
        location = (
            locate({ch: s / rate for ch, s in arrivals.items()}, self.config)
            if self.config is not None
            else Location(status="")
        )
        event_id = self.next_event_id
        self.next_event_id += 1
        head = group[0]
        self.table.append(
            LocatedEvent(
                event_id=event_id,
                time_s=head.time_s,
                sample_index=head.sample_index,
                first_channel=head.channel,
                channels=tuple(arrivals),
                delays_us=tuple((s - head.sample_index) / rate * 1e6 for s in arrivals.values()),
                hits=len(group),
                location=location,
            )
        )
        return [
            hit._replace(
                event_id=event_id,
                x_m=location.x_m,
                y_m=location.y_m,
                location_uncertainty_m=location.uncertainty_m,
                location_residual_us=location.residual_us,
                location_status=location.status,
            )
            for hit in group
        ]


def only_inside(events: Iterable[Event]) -> list[Event]:
    """The hits whose event was located inside the gauge region (``--only-located-inside``)."""
    return [e for e in events if e.location_status == INSIDE]


def group_hits(
    hits: Iterable[Event], config: LocationConfig, sample_rate_hz: float
) -> tuple[list[Event], list[LocatedEvent]]:
    """Offline: group and locate all ``hits`` at once; returns (annotated hits, event table)."""
    grouper = HitGrouper(config, sample_rate_hz, hold_s=0.0)
    located = grouper.push(hits)
    located += grouper.flush()
    return located, grouper.table
