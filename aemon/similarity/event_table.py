"""Load an events table with the waveform window around each event's onset.

The events come from an event CSV (``aemon detect``) or from the ``/events`` table of the
recording; the waveforms always come from the recording's ``/raw``. Each window starts
:data:`PRE_FRACTION` of its length before the event's onset (``sample_index``) and is cut from
the event's own channel, in volts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aemon.errors import ConfigError, FileFormatError
from aemon.events.hit import Hit

logger = logging.getLogger(__name__)

PRE_FRACTION = 0.125
"""Part of each window that lies before the onset."""

DEFAULT_WINDOW_US = 655.36
"""Default window length (µs): 1024 samples at 1.5625 MHz."""


@dataclass(frozen=True)
class EventTable:
    """Events of one recording with their waveform windows.

    Attributes:
        events: The events, in table order (the event ID is the index).
        windows: float32 ``(events, samples)`` volts around each onset; zero-padded where the
            window runs past the recorded data.
        sample_rate_hz: Sample rate of the recording (Hz).
        source: Where the events were read from (CSV path or ``FILE.h5:/events``).
    """

    events: list[Hit]
    windows: npt.NDArray[np.float32]
    sample_rate_hz: float
    source: str


def window_samples(window_us: float, sample_rate_hz: float) -> int:
    """Window length in samples for ``window_us`` µs (at least 16)."""
    if window_us <= 0:
        raise ConfigError(f"--window {window_us} µs must be > 0; use e.g. 655")
    return max(16, round(window_us * 1e-6 * sample_rate_hz))


def load_event_table(
    recording: str | os.PathLike[str],
    events_csv: str | os.PathLike[str] | None = None,
    *,
    window_us: float = DEFAULT_WINDOW_US,
) -> EventTable:
    """Read the events of ``recording`` (or ``events_csv``) and cut their windows.

    Args:
        recording: aemon HDF5 recording holding the raw samples.
        events_csv: Event CSV to use instead of the recording's ``/events`` table; None
            uses ``RECORDING.events.csv`` when it exists, else ``/events``.
        window_us: Window length (µs).

    Raises:
        FileFormatError: Not a recording, or no events in it or in the CSV.
    """
    from aemon.io.event_csv import array_to_events, read_event_csv
    from aemon.io.recording import RecordingReader

    recording = Path(recording)
    if recording.suffix.lower() not in (".h5", ".hdf5"):
        raise FileFormatError(f"{recording}: not an aemon HDF5 recording; give FILE.h5")
    default_csv = recording.with_name(recording.name + ".events.csv")
    if events_csv is None and default_csv.exists():
        events_csv = default_csv
    with RecordingReader(recording) as reader:
        rate = float(reader.format.sample_rate_hz)
        if events_csv is not None:
            events = read_event_csv(events_csv)
            source = str(events_csv)
        else:
            events = array_to_events(reader.events())
            source = f"{recording}:/events"
        if not events:
            raise FileFormatError(
                f"{source}: no events; run `aemon detect {recording} -o EVENTS.csv` and pass "
                "--events EVENTS.csv"
            )
        onsets = [(e.sample_index, e.channel) for e in events]
        windows = cut_windows(reader, onsets, window_samples(window_us, rate))
    logger.info("%d events from %s, windows of %d samples", len(events), source, windows.shape[1])
    return EventTable(events, windows, rate, source)


def cut_windows(
    reader: Any, onsets: Sequence[tuple[int, int]], length: int
) -> npt.NDArray[np.float32]:
    """Windows of ``length`` samples around each ``(onset sample, channel)``.

    Args:
        reader: An open :class:`aemon.io.recording.RecordingReader`.
        onsets: Absolute onset sample index and 0-based channel of each window.
        length: Window length (samples); :data:`PRE_FRACTION` of it precedes the onset.

    Returns:
        float32 volts ``(len(onsets), length)``, zero where no samples are stored.
    """
    pre = round(PRE_FRACTION * length)
    out = np.zeros((len(onsets), length), dtype=np.float32)
    channels = reader.format.channels
    for i, (onset, channel) in enumerate(onsets):
        if not 0 <= channel < channels:
            raise FileFormatError(
                f"event {i} is on channel {channel}; the recording has {channels}"
            )
        start = onset - pre
        column = reader.raw_index(max(start, reader.first_sample))
        if column is None:  # onset inside a gap or outside the data: leave zeros
            continue
        offset = max(start, reader.first_sample) - start
        data = reader.read(column, length - offset, volts=True)[channel]
        out[i, offset : offset + data.size] = data
    return out
