"""Small value types shared by sources, the ring buffer, the recorder and the detector.

All sample positions are *absolute sample indices*: the index of a sample counted from the
first sample the source ever produced (per channel, all channels share one clock).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt


class StreamFormat(NamedTuple):
    """What a sample stream looks like.

    Attributes:
        sample_rate_hz: Samples per second per channel (Hz).
        channels: Number of channels.
        dtype: ``"int16"`` or ``"float32"``; the dtype of the sample blocks.
        volts_per_count: Scale from one sample unit to volts at the sensor (V). 1.0 for float
            data that is already in volts; for normalised WAV data whatever the user states.
        volts_known: False when nobody said what the samples are in volts (a normalised WAV
            read without ``--volts-per-count``): absolute thresholds (dBAE) mean nothing there.
    """

    sample_rate_hz: float
    channels: int
    dtype: str
    volts_per_count: float
    volts_known: bool = True


class ChannelInfo(NamedTuple):
    """Per-channel metadata stored with every recording.

    Attributes:
        name: Channel label shown to the user, e.g. ``"ch1"``.
        sensor: Sensor model or description, e.g. ``"VS150-RIC"``.
        gain_db: Preamplifier gain (dB) between sensor and ADC; 0 if unknown.
        volts_per_count: Scale from ADC counts to volts at the ADC input (V).
    """

    name: str
    sensor: str = ""
    gain_db: float = 0.0
    volts_per_count: float = 1.0


RESTART = "restart"
"""Gap reason of a DAQ restart (new stream id or index reset): a new recording segment begins
after the gap, whatever its length, and the gap's ``detail`` names both runs."""


class Gap(NamedTuple):
    """A range of samples that never arrived.

    Attributes:
        start_sample: Absolute index of the first missing sample.
        stop_sample: Absolute index one past the last missing sample.
        reason: Short machine-friendly cause, e.g. ``"sequence"``, ``"overflow"``,
            ``"restart"`` (the DAQ restarted: a new segment begins after the gap).
        detail: Optional one-line explanation kept with the recording, e.g. both stream
            identities of a restart; empty for ordinary gaps.
    """

    start_sample: int
    stop_sample: int
    reason: str
    detail: str = ""

    @property
    def samples(self) -> int:
        """Number of missing samples per channel."""
        return self.stop_sample - self.start_sample


class SampleSink(Protocol):
    """Anything a source can deliver samples to (ring buffer, recorder, tee).

    ``samples`` is a C-ordered ``(channels, n)`` array. A sink must not keep a reference to
    ``samples`` after ``push`` returns unless it copies it; sources may reuse the memory.
    """

    def push(self, first_sample: int, samples: npt.NDArray[np.generic]) -> None:
        """Accept ``samples`` whose first column has absolute index ``first_sample``."""

    def gap(self, gap: Gap) -> None:
        """Note that the samples in ``gap`` are missing and will never arrive."""
