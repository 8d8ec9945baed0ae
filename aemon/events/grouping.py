"""Multi-channel events: group hits of several channels, then locate each group.

Detectors work per channel; a wave from one source reaches every sensor, each at its own time.
:class:`HitGrouper` collects the hits (neural, threshold or cascade :class:`Hit` rows) of all
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
the stream. Times are the hits' ``time_s`` (refined onsets, s since the start of the input),
so hits of any source, tradb records included, can be grouped.

Example:
    >>> grouper = HitGrouper(load_location_config("bar.toml"))
    >>> located = grouper.push(stream.push(first, block), until_s=seconds_seen)
    >>> located += grouper.flush()
    >>> with LocatingWriter(EventCsvWriter("events.csv"), grouper, only_inside=True) as out:
    ...     out.write(events)
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Iterable
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from aemon.dsp.raw_history import RawHistory
from aemon.errors import ConfigError
from aemon.events.arrival import refine_delay
from aemon.events.hit import Hit
from aemon.events.location import INSIDE, Location, locate
from aemon.events.location_config import LocationConfig

logger = logging.getLogger(__name__)

CORRELATION_S = 100e-6
"""Stretch (s) of the first hit's waveform correlated with the other channels."""
SEARCH_MARGIN = 1.25
"""Cross-correlation searches delays up to this factor times the sensor-to-sensor travel time."""
MAX_HISTORY_S = 2.0
"""Longest raw history (s) kept for late hits, whatever the detector's latency."""


class LocatedEvent(NamedTuple):
    """One multi-channel event: the row that links its hits.

    Attributes:
        event_id: The ``event_id`` its hits carry.
        time_s: Refined onset of the first hit (s since the start of the input).
        sample_index: Absolute sample index of the first hit's refined onset.
        first_channel: Channel of the first hit.
        channels: Channels with an arrival: hit channels in order of first hit, then
            sensors without a hit whose arrival cross-correlation found.
        delays_us: Arrival on each of ``channels`` minus the first hit (µs).
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


def _key(event: Hit) -> tuple[float, int]:
    return (event.time_s, event.channel)


class HitGrouper:
    """Hits of several channels → multi-channel events with a location.

    Args:
        config: Sensor layout and wave speed; None groups hits without locating them
            (then ``window_s`` is required).
        window_s: Event window (s); default ``config.event_window_s``.
        hold_s: Wait for late hits (s of signal); default ``config.hold_s`` (0 without one).
        first_event_id: ``event_id`` of the first event.
        sample_rate_hz: Sample rate (Hz) of the raw blocks given to :meth:`add_signal`;
            with it (and ``config.cross_correlate``) the arrival-time differences are
            refined by cross-correlation (:mod:`aemon.events.arrival`).

    Attributes:
        table: :class:`LocatedEvent` rows of every finished event, in order (callers may
            clear it after reading).
    """

    def __init__(
        self,
        config: LocationConfig | None,
        *,
        window_s: float | None = None,
        hold_s: float | None = None,
        first_event_id: int = 0,
        sample_rate_hz: float | None = None,
    ) -> None:
        if window_s is None:
            if config is None:
                raise ConfigError("hit grouping needs a location config or an event window")
            window_s = config.event_window_s
        if not window_s >= 0:
            raise ConfigError(f"event window must be >= 0 s, got {window_s}")
        self.config = config
        self.window_s = float(window_s)
        self.hold_s = hold_s if hold_s is not None else (config.hold_s if config else 0.0)
        self.next_event_id = first_event_id
        self.table: list[LocatedEvent] = []
        self._pending: list[Hit] = []
        self._closed_until = -float("inf")  # end of the last finished event's window (s)
        self.sample_rate_hz: float | None = None
        self._history: RawHistory | None = None
        self._origin = 0
        self._reach = 0
        if sample_rate_hz:
            self.attach_signal(sample_rate_hz)

    def attach_signal(self, sample_rate_hz: float, first_sample: int = 0) -> None:
        """Refine arrival times by cross-correlation from now on, with raw blocks of this
        sample rate (Hz) given to :meth:`add_signal` (no-op unless ``config.cross_correlate``).

        Args:
            sample_rate_hz: Rate of the raw blocks (Hz).
            first_sample: Absolute index of ``time_s = 0`` (relates :meth:`push`'s ``until_s``
                to the blocks' sample indices).
        """
        if self.config is None or not self.config.cross_correlate:
            return
        self.sample_rate_hz = float(sample_rate_hz)
        self._origin = int(first_sample)
        config = self.config
        longest = SEARCH_MARGIN * config.max_distance_m / config.wave_speed_m_s * sample_rate_hz
        # samples a correlation reads around the first hit's onset, each way (see _refine)
        self._reach = math.ceil(longest) + max(32, round(CORRELATION_S * sample_rate_hz)) + 32
        self._history = RawHistory(round(MAX_HISTORY_S * sample_rate_hz))

    def add_signal(self, first_sample: int, block: npt.NDArray[np.generic]) -> None:
        """Raw ``(channels, n)`` block at absolute ``first_sample`` for the cross-correlation
        of arrival times; call before pushing the hits found in it (no-op without
        ``sample_rate_hz``). The history is kept back to the earliest held hit (or the clock)
        less the correlation's reach, and never longer than :data:`MAX_HISTORY_S`."""
        if self._history is not None:
            self._history.append(first_sample, block)

    @property
    def pending(self) -> int:
        """Hits held back until their event is final."""
        return len(self._pending)

    def push(self, hits: Iterable[Hit], until_s: float | None = None) -> list[Hit]:
        """Add hits; return the annotated hits of every event that is now final.

        Args:
            hits: New hits, any order, any channels.
            until_s: Time (s since the start, as ``time_s``) before which no further hit
                will come (the detector's settled time); None uses the latest hit onset.
                An event is final once ``until_s`` is ``window + hold`` past its first hit
                (and, with cross-correlation, the raw signal it needs has arrived), so the
                events do not depend on how the stream was cut into blocks.

        Returns:
            Hits of the finished events, event by event, each event's hits by onset.
        """
        for hit in hits:
            bisect.insort(self._pending, hit, key=_key)
        if until_s is None:
            if not self._pending:
                return []
            until_s = self._pending[-1].time_s
        history = self._history
        if history is not None and self.sample_rate_hz:
            # the correlation reads up to ``reach`` samples after the first hit's onset
            arrived = (history.end - self._reach - self._origin) / self.sample_rate_hz
            until_s = min(until_s, arrived + self.window_s + self.hold_s)
        limit = until_s - self.window_s - self.hold_s
        out: list[Hit] = []
        while self._pending and self._pending[0].time_s <= limit:
            out += self._close_first()
        if history is not None and self.sample_rate_hz:
            oldest = self._origin + math.floor(min(until_s, limit) * self.sample_rate_hz)
            if self._pending:
                oldest = min(oldest, self._pending[0].sample_index)
            history.drop_before(oldest - self._reach)
        return out

    def flush(self) -> list[Hit]:
        """End of stream: finish every held event."""
        out: list[Hit] = []
        while self._pending:
            out += self._close_first()
        return out

    def _close_first(self) -> list[Hit]:
        first = self._pending[0].time_s
        if first <= self._closed_until:
            logger.debug("hit at %.6f s came after its event was final", first)
        n = 1
        while n < len(self._pending) and self._pending[n].time_s - first <= self.window_s:
            n += 1
        group, self._pending = self._pending[:n], self._pending[n:]
        self._closed_until = first + self.window_s
        return self._finish(group)

    def _refine(self, arrivals: dict[int, float], onsets: dict[int, int], head: Hit) -> None:
        """Replace the onset differences by cross-correlation delays where the waveforms
        match, and find the arrival on sensors that reported no hit."""
        assert self._history is not None and self.sample_rate_hz and self.config is not None
        fs, config = self.sample_rate_hz, self.config
        length = max(32, round(CORRELATION_S * fs))
        first = config.sensor(head.channel)
        for sensor in config.sensors:
            if sensor.channel == head.channel:
                continue
            if first is None:
                longest = config.max_distance_m / config.wave_speed_m_s * fs
            else:
                distance = math.hypot(sensor.x_m - first.x_m, sensor.y_m - first.y_m)
                longest = distance / config.wave_speed_m_s * fs
            # Every physical delay is searched, earlier ones too: the first hit's own onset
            # may be late, or the channel nearest the source may have missed the hit. The
            # margin lets a wave speed set somewhat too high (a guess to be calibrated) still
            # reach the true delay.
            lo, hi = -SEARCH_MARGIN * longest, SEARCH_MARGIN * longest
            delay = refine_delay(
                self._history, (head.channel, head.sample_index), sensor.channel,
                lo=lo, hi=hi, length=length,
            )  # fmt: skip
            if delay is not None:
                arrivals[sensor.channel] = head.time_s + delay / fs

    def _finish(self, group: list[Hit]) -> list[Hit]:
        arrivals: dict[int, float] = {}
        onsets: dict[int, int] = {}
        for hit in group:  # by onset: the first hit on each channel is its arrival
            arrivals.setdefault(hit.channel, hit.time_s)
            onsets.setdefault(hit.channel, hit.sample_index)
        if self._history is not None:
            self._refine(arrivals, onsets, group[0])
        location = locate(arrivals, self.config) if self.config is not None else Location(status="")
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
                delays_us=tuple((t - head.time_s) * 1e6 for t in arrivals.values()),
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


def only_inside(events: Iterable[Hit]) -> list[Hit]:
    """The hits whose event was located inside the gauge region (``--only-located-inside``)."""
    return [e for e in events if e.location_status == INSIDE]


def group_hits(hits: Iterable[Hit], config: LocationConfig) -> tuple[list[Hit], list[LocatedEvent]]:
    """Offline: group and locate all ``hits`` at once; returns (annotated hits, event table)."""
    grouper = HitGrouper(config, hold_s=0.0)
    located = grouper.push(hits)
    located += grouper.flush()
    return located, grouper.table


class HitSink(Protocol):
    """Where detected events go: an ``EventCsvWriter``, an event table writer
    (``aemon.io.event_tables``) or a :class:`LocatingWriter`."""

    def write(self, events: Iterable[Hit]) -> int:
        """Write ``events``; return how many were written."""
        ...


class LocatingWriter:
    """An :class:`HitSink` that groups and locates hits before passing them on.

    Args:
        sink: Where the annotated hits go (e.g. an ``EventCsvWriter``).
        grouper: Groups and locates.
        only_inside: Pass on only hits of events located ``inside`` (``--only-located-inside``).

    Attributes:
        rows: Hits passed on to ``sink``.
    """

    def __init__(self, sink: HitSink, grouper: HitGrouper, *, only_inside: bool = False):
        self.sink, self.grouper, self.only_inside = sink, grouper, only_inside
        self.rows = 0

    def write(self, events: Iterable[Hit], until_s: float | None = None) -> int:
        """Add hits; pass on those of finished events (see :meth:`HitGrouper.push`)."""
        return self._pass(self.grouper.push(events, until_s))

    def flush(self) -> int:
        """Finish every held event and pass its hits on."""
        return self._pass(self.grouper.flush())

    def _pass(self, located: list[Hit]) -> int:
        if self.only_inside:
            located = only_inside(located)
        written = self.sink.write(located) if located else 0
        self.rows += written
        return written

    def __enter__(self) -> LocatingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()
