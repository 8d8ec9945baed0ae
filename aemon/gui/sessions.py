"""Qt-free sessions behind the window: what the display timer polls.

A session hands the window, on each tick, the new raw blocks (for spectrogram, waveform and
event detail), the new events and the newest status. :class:`LiveSession` reads them from an
``aemon monitor`` child process (or one already running); :class:`ReplaySession` from a
recording.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aemon.events.hit import Hit
from aemon.gui.feeds import MonitorFeed, MonitorProcess
from aemon.gui.replay_model import ReplayModel
from aemon.io.atomic_output import partial_path

logger = logging.getLogger(__name__)

Block = tuple[int, npt.NDArray[np.generic]]
"""``(absolute first sample, (channels, n) samples)``."""


@dataclass
class Tick:
    """What one poll brought.

    Attributes:
        blocks: New raw blocks, oldest first.
        events: New events.
        status: The newest monitor status fields, or None.
        reset_at: When not None, the display must clear and restart at this absolute sample
            (after a seek or a new recording).
    """

    blocks: list[Block] = field(default_factory=list)
    events: list[Hit] = field(default_factory=list)
    status: dict[str, Any] | None = None
    reset_at: int | None = None


@dataclass
class StreamInfo:
    """What the display needs to know about the signal.

    Attributes:
        sample_rate_hz: Hz.
        channels: Number of channels.
        origin_sample: Absolute index of time 0 s.
        volts_per_count: Per channel, sample value → volts at the sensor (V).
        start_time_utc: ISO 8601 time of time 0, or "".
    """

    sample_rate_hz: float
    channels: int
    origin_sample: int
    volts_per_count: list[float]
    start_time_utc: str = ""


class LiveSession:
    """A running monitor: started as a child process, or attached to by its endpoints.

    Args:
        source: SOURCE for a new ``aemon monitor`` child, or None to attach.
        events_endpoint: When attaching: the monitor's ``--events-endpoint``.
        display_endpoint: When attaching: the monitor's ``--display-endpoint``.
        monitor_args: Extra ``aemon monitor`` arguments for the child (detector options).
    """

    def __init__(
        self,
        source: str | None,
        *,
        events_endpoint: str | None = None,
        display_endpoint: str | None = None,
        monitor_args: list[str] | None = None,
    ) -> None:
        self.source = source
        self.monitor_args = list(monitor_args or [])
        self.process: MonitorProcess | None = None
        self.recording: Path | None = None
        self.info: StreamInfo | None = None
        self._attach = (events_endpoint, display_endpoint)
        self.feed = self._connect()
        self._pending_reset = False

    def _connect(self) -> MonitorFeed:
        if self.source is None:
            events, display = self._attach
            assert events is not None
            return MonitorFeed(events, display)
        self.process = MonitorProcess(self.source, self.recording, self.monitor_args)
        return MonitorFeed(self.process.events_endpoint, self.process.display_endpoint)

    def restart(self, recording: Path | None, monitor_args: list[str] | None = None) -> None:
        """Restart the child monitor, recording to ``recording`` (None: not recording)."""
        if self.source is None:
            raise RuntimeError("attached to a monitor this window did not start")
        self.close()
        self.recording = recording
        if monitor_args is not None:
            self.monitor_args = list(monitor_args)
        self.info = None
        self.feed = self._connect()
        self._pending_reset = True

    def recording_size(self) -> int:
        """Bytes of the recording file so far (0 if none): ``NAME.partial.h5`` while the
        monitor writes it, ``NAME.h5`` once it has closed it."""
        if self.recording is None:
            return 0
        for path in (partial_path(self.recording), self.recording):
            try:
                return os.path.getsize(path)
            except OSError:
                continue
        return 0

    def poll(self, wall_s: float, max_samples: int) -> Tick:
        """What arrived since the last poll (``wall_s`` is unused: live data come as they come)."""
        tick = Tick()
        tick.events, tick.status = self.feed.poll_events()
        blocks = self.feed.poll_display()
        if blocks and self.info is None:
            header = blocks[0][0]
            self.info = StreamInfo(
                float(header["sample_rate_hz"]), int(header["channels"]),
                int(header["origin_sample"]), [float(v) for v in header["volts_per_count"]],
            )  # fmt: skip
        if blocks and self._pending_reset:
            tick.reset_at, self._pending_reset = int(blocks[0][0]["first_sample"]), False
        # Keep the newest signal that fits the budget: a display that fell behind skips
        # ahead (the spectrogram leaves the skipped span dark) instead of lagging for ever.
        budget = max_samples
        for header, samples in reversed(blocks):
            if budget <= 0:
                break
            n = min(samples.shape[1], budget)
            first = int(header["first_sample"]) + samples.shape[1] - n
            tick.blocks.insert(0, (first, samples[:, samples.shape[1] - n :]))
            budget -= n
        return tick

    def monitor_error(self) -> str:
        """The child's error output once it has ended, else ""."""
        if self.process is None or self.process.running():
            return ""
        return self.process.error_text() or f"monitor exited with {self.process.process.returncode}"

    def close(self) -> None:
        """Stop the child monitor (it closes its recording) and the sockets."""
        self.feed.close()
        if self.process is not None:
            self.process.close()
            self.process = None


class ReplaySession:
    """A recording played back through the display; its events are all known up front
    (:attr:`events`), so the table, trends and markers show the whole recording at once."""

    def __init__(
        self, path: str | os.PathLike[str], events_csv: str | os.PathLike[str] | None = None
    ) -> None:
        self.model = ReplayModel(path, events_csv)
        m = self.model
        self.info = StreamInfo(
            m.sample_rate_hz, m.info.channels, m.first_sample, m.volts_per_count,
            m.info.start_time_utc,
        )  # fmt: skip
        self._reset: int | None = m.first_sample
        self._preroll_until: int | None = None

    @property
    def events(self) -> list[Hit]:
        """The recording's events (or the last re-detection's)."""
        return self.model.events

    def seek(self, time_s: float, preroll_s: float) -> None:
        """Jump to ``time_s``; the display is refilled with ``preroll_s`` before it."""
        m = self.model
        target = m.seek(time_s)
        m.seek(max(time_s - preroll_s, 0.0))
        self._preroll_until = target
        self._reset = m.position

    def poll(self, wall_s: float, max_samples: int) -> Tick:
        """Advance by ``wall_s`` of play (at the set speed)."""
        m = self.model
        tick = Tick(reset_at=self._reset)
        self._reset = None
        until = self._preroll_until
        if until is not None and until > m.position:
            first, block = m.read(m.position, until - m.position)
            tick.blocks.append((first, block))
            m.position = first + block.shape[1]
        self._preroll_until = None
        first, block = m.advance(wall_s, max_samples)
        if block.shape[1]:
            tick.blocks.append((first, block))
        return tick

    def step(self, seconds: float) -> Tick:
        """Pause and step by ``seconds`` (back: the display restarts there)."""
        first, block = self.model.step(seconds)
        if seconds < 0:
            self._reset = self.model.position
            return Tick()
        return Tick(blocks=[(first, block)] if block.shape[1] else [])

    def recording_size(self) -> int:
        """Bytes of the recording file."""
        return os.path.getsize(self.model.path)

    def close(self) -> None:
        """Close the recording."""
        self.model.close()
