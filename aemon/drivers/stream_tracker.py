"""The sequence and index rules of the DAQ feed: which frames to deliver, where, and what was lost.

A :class:`StreamTracker` follows one receiver's feed across DAQ restarts. Sample indices it
hands out are *absolute*: the DAQ's own ``first_sample`` plus an offset that is 0 for the
first run and chosen at each restart so that the time base goes on (see below).

Rules, in the order they are applied to a decoded frame:

1. A frame that reaches past :data:`MAX_SAMPLE_INDEX` (2⁶², about 93 000 years at
   1.5625 MHz) is rejected: int64 sample indices (HDF5, numpy) can never overflow.
2. A format (rate, channels, dtype, volts per count) other than the first frame's is
   rejected: one recording has one format. Start a new recording to follow such a stream.
3. A frame of a stream id that already ended here (a late frame of a previous run) is rejected.
4. **Restart, new stream id**: a frame with a new stream id (same format) starts a new run.
5. **Restart, index reset**: a frame of the same stream id whose index goes backwards while
   its sequence number also went backwards and its DAQ clock went forwards is a restarted
   DAQ reusing its id. Without a DAQ clock (``daq_time_ns`` 0) it is rejected as "out of
   order" like any duplicate, until rule 7 accepts it.
6. A frame that starts more than ``max_jump_samples`` ahead (default one hour of signal) is
   rejected as malformed, not taken as a gap: one corrupt index cannot poison the stream.
7. **Resynchronisation**: :data:`RESYNC_FRAMES` consecutive rejected frames (rules 5 or 6)
   that follow on from each other are taken as a restart of the DAQ at the first of them.
   The samples of the frames rejected before it was clear were received but are not
   delivered: they are a gap with reason :data:`RESYNC` right after the restart gap.
8. Otherwise the ordinary rules of ``drivers/README.md`` §8: frames before the expected
   index are "out of order"; a jump ahead is a gap (``sequence`` or ``index``).

At a restart the new run is placed after the old one by the down time: from the DAQ clock
(the new run's ``daq_time_ns`` minus the end of the old run) when both are set and the
difference is between 0 and the jump limit, else from the receiver's clock (time between
the last frame of the old run and the first of the new one). The down time, at least one
sample, is reported as a :class:`aemon.types.Gap` with reason ``"restart"`` whose ``detail``
names both runs; a recording starts a new segment there. After a resynchronisation the down
time is measured to the first frame of the new run.
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

from aemon.drivers.protocol import FrameHeader, MalformedFrame
from aemon.types import RESTART, Gap

MAX_SAMPLE_INDEX = 1 << 62
"""Largest absolute sample index (exclusive) a frame may reach."""

DEFAULT_MAX_JUMP_S = 3600.0
"""A frame starting more than this much signal ahead of the expected index is rejected (s)."""

RESYNC_FRAMES = 8
"""Consecutive, mutually contiguous rejected frames after which the tracker follows them."""

RESYNC = "resync"
"""Gap reason of the samples of frames that were received, rejected, and then found to start
a new run (rule 7): real data that is not delivered."""


class _Run(NamedTuple):
    """Consecutive rejected frames that follow on from each other: a possible new run."""

    stream_id: int
    next_daq: int  # DAQ index the next frame of the run starts at
    frames: int
    first_daq: int  # DAQ index, DAQ clock (ns) and arrival (monotonic s) of its first frame
    first_daq_time_ns: int
    first_arrival: float


class Admission(NamedTuple):
    """What to do with a frame that :meth:`StreamTracker.admit` accepted.

    Attributes:
        gap: Samples missing before this frame (report them first), or None. A restart gap
            has reason ``"restart"`` and a ``detail``.
        first_sample: Absolute index of the frame's first sample (DAQ index + offset).
        samples: How many of the frame's samples per channel to deliver (trimmed at the end).
        seq_jump: The sequence number jumped although the sample index follows on.
        finished: The stream is over after this frame (end of stream or sample limit).
        dropped: After a resynchronisation, the samples of the run's frames that were
            rejected (reason :data:`RESYNC`; report them after ``gap``), else None.
    """

    gap: Gap | None
    first_sample: int
    samples: int
    seq_jump: bool
    finished: bool
    dropped: Gap | None = None


class StreamTracker:
    """Apply the sequence, index and restart rules to the successive frames of a feed.

    Args:
        first: Header of the feed's first valid frame; fixes the format.
        max_samples: End the feed this many sample indices after ``first.first_sample``.
        max_jump_samples: Reject frames that start further ahead than this; default one hour.
    """

    def __init__(
        self,
        first: FrameHeader,
        max_samples: int | None = None,
        max_jump_samples: int | None = None,
    ) -> None:
        self.first = first
        self.stream_id = first.stream_id
        self.offset = 0  # absolute index = DAQ index + offset
        self.next_daq = first.first_sample
        self.next_seq = first.seq
        self.end_daq_time_ns = 0  # DAQ clock at next_daq, 0 if unknown
        self.last_frame_at = time.monotonic()
        self.end_sample = None if max_samples is None else first.first_sample + max_samples
        default_jump = round(DEFAULT_MAX_JUMP_S * first.sample_rate_hz)
        self.max_jump = default_jump if max_jump_samples is None else int(max_jump_samples)
        self.retired: set[int] = set()
        self.restarts = 0
        self._candidate: _Run | None = None

    @property
    def next_sample(self) -> int:
        """Absolute index the next frame is expected at."""
        return self.next_daq + self.offset

    def check(self, header: FrameHeader) -> None:
        """Raise :class:`MalformedFrame` for a frame that can never be accepted (rules 1–3)."""
        if header.first_sample + header.n_samples >= MAX_SAMPLE_INDEX:
            raise MalformedFrame(
                f"sample index {header.first_sample} is beyond 2^62 (corrupt index)", "index range"
            )
        first = self.first
        fields = (
            ("rate", first.sample_rate_hz, header.sample_rate_hz),
            ("channels", first.channels, header.channels),
            ("dtype", first.dtype, header.dtype),
            ("volts_per_count", first.volts_per_count, header.volts_per_count),
        )
        changes = [f"{name} {old!r} → {new!r}" for name, old, new in fields if old != new]
        if changes:
            raise MalformedFrame(
                f"stream {header.stream_id:08x} has another format ({', '.join(changes)}): "
                "start a new recording to follow it",
                "format change",
            )
        if header.stream_id in self.retired:
            raise MalformedFrame(f"late frame of ended stream {header.stream_id:08x}", "stale")

    def admit(self, header: FrameHeader) -> Admission:
        """Decide about a frame (rules 1–8) and account for it.

        Raises:
            MalformedFrame: The frame is rejected; nothing changed except the resync count.
        """
        self.check(header)
        now = time.monotonic()
        if header.stream_id != self.stream_id:
            return self._restart(header, now, f"new stream id {header.stream_id:08x}")
        start = header.first_sample
        if start < self.next_daq:
            clock_forward = 0 < self.end_daq_time_ns <= header.daq_time_ns
            if header.seq < self.next_seq and clock_forward:
                return self._restart(header, now, "index reset, same stream id")
            run = self._reject_or_resync(
                header,
                now,
                f"out of order: frame seq {header.seq} starts at sample {start} but sample "
                f"{self.next_daq} is next (duplicate, overlapping or late frame)",
                "out of order",
            )
            return self._restart(header, now, "index went back (resynchronised)", run)
        if start - self.next_daq > self.max_jump:
            run = self._reject_or_resync(
                header,
                now,
                f"index jumps {start - self.next_daq} samples ahead (more than the limit of "
                f"{self.max_jump}): corrupt frame",
                "far jump",
            )
            return self._restart(header, now, "index jumped far ahead (resynchronised)", run)
        self._candidate = None
        return self._accept(header, now)

    def _accept(self, header: FrameHeader, now: float) -> Admission:
        end = math.inf if self.end_sample is None else self.end_sample
        start = header.first_sample + self.offset
        gap = None
        if start > self.next_sample:
            stop = int(min(start, end))
            if stop > self.next_sample:
                reason = "sequence" if header.seq > self.next_seq else "index"
                gap = Gap(self.next_sample, stop, reason)
        seq_jump = start == self.next_sample and header.seq != self.next_seq
        count = int(min(header.n_samples, max(end - start, 0)))
        self.next_daq = header.next_sample
        self.next_seq = header.seq + 1
        if header.daq_time_ns > 0:
            duration_ns = round(header.n_samples * 1e9 / header.sample_rate_hz)
            self.end_daq_time_ns = header.daq_time_ns + duration_ns
        self.last_frame_at = now
        finished = header.end_of_stream or start + header.n_samples >= end
        return Admission(gap, start, count, seq_jump, finished)

    def _reject_or_resync(self, header: FrameHeader, now: float, reason: str, kind: str) -> _Run:
        """Raise MalformedFrame unless this frame completes a run of RESYNC_FRAMES; return
        the run."""
        run = self._candidate
        if run is not None and run.stream_id == header.stream_id:
            follows = run.next_daq == header.first_sample
        else:
            follows = False
        if follows and run is not None:
            run = run._replace(next_daq=header.next_sample, frames=run.frames + 1)
        else:
            run = _Run(
                header.stream_id, header.next_sample, 1, header.first_sample,
                header.daq_time_ns, now,
            )  # fmt: skip
        self._candidate = run
        if run.frames < RESYNC_FRAMES:
            raise MalformedFrame(reason, kind)
        self._candidate = None
        return run

    def _restart(
        self, header: FrameHeader, now: float, why: str, run: _Run | None = None
    ) -> Admission:
        """Start a new run at ``header`` (or at the first frame of ``run``, whose earlier
        frames were rejected): a restart gap for the down time, a resync gap for the samples
        of those rejected frames, then the frame."""
        rate = header.sample_rate_hz
        if run is None:
            run = _Run(header.stream_id, header.next_sample, 1, header.first_sample,
                       header.daq_time_ns, now)  # fmt: skip
        clock_s = (run.first_daq_time_ns - self.end_daq_time_ns) * 1e-9
        if run.first_daq_time_ns > 0 and self.end_daq_time_ns > 0 and clock_s * rate >= 0:
            down_s, source = clock_s, "DAQ clock"
        else:
            down_s, source = run.first_arrival - self.last_frame_at, "receiver clock"
        down = min(max(round(down_s * rate), 1), self.max_jump)
        gap_start = self.next_sample
        run_first = gap_start + down  # absolute index of the new run's first sample
        new_first = run_first + header.first_sample - run.first_daq
        detail = (
            f"{why}: stream {self.stream_id:08x} ended before DAQ index {self.next_daq} "
            f"(seq {self.next_seq}); stream {header.stream_id:08x} starts at DAQ index "
            f"{run.first_daq} = sample {run_first}; down time {down / rate:.6g} s from the "
            f"{source}"
        )
        if new_first + header.n_samples >= MAX_SAMPLE_INDEX:
            raise MalformedFrame("restart would place samples beyond 2^62", "index range")
        if header.stream_id != self.stream_id:
            self.retired.add(self.stream_id)
        self.stream_id = header.stream_id
        self.offset = run_first - run.first_daq
        self.next_daq = header.first_sample
        self.next_seq = header.seq
        self.restarts += 1
        self._candidate = None
        admission = self._accept(header, now)
        end = new_first if self.end_sample is None else min(new_first, self.end_sample)
        stop = min(run_first, end)
        gap = Gap(gap_start, stop, RESTART, detail) if stop > gap_start else None
        dropped = None
        if end > run_first:
            dropped = Gap(
                run_first, end, RESYNC,
                f"{run.frames - 1} frames of stream {header.stream_id:08x} (DAQ index "
                f"{run.first_daq} on) were received and rejected before they proved to be a "
                "new run",
            )  # fmt: skip
        return admission._replace(gap=gap, dropped=dropped)
