"""StreamTracker rules: gaps, restarts (new id, index reset), absurd jumps, resync, 2^62."""

from __future__ import annotations

import pytest

from aemon.drivers.protocol import FrameHeader, MalformedFrame
from aemon.drivers.stream_tracker import (
    MAX_SAMPLE_INDEX,
    RESYNC,
    RESYNC_FRAMES,
    Admission,
    StreamTracker,
)
from aemon.types import RESTART, Gap

RATE = 100_000.0
T0 = 1_700_000_000_000_000_000


def header(
    seq: int, first: int, n: int = 100, stream_id: int = 7, **changes: object
) -> FrameHeader:
    fields: dict[str, object] = dict(
        version=1, stream_id=stream_id, seq=seq, first_sample=first, sample_rate_hz=RATE,
        channels=2, dtype="int16", n_samples=n, volts_per_count=1e-6,
        daq_time_ns=T0 + round(first * 1e9 / RATE),
    )  # fmt: skip
    fields.update(changes)
    return FrameHeader(**fields)  # type: ignore[arg-type]


def test_ordinary_rules() -> None:
    first = header(10, 1000)
    tracker = StreamTracker(first, max_samples=450)
    assert tracker.admit(first) == Admission(None, 1000, 100, False, False)
    with pytest.raises(MalformedFrame, match="out of order"):
        tracker.admit(first)  # duplicate (its DAQ clock did not move on)
    with pytest.raises(MalformedFrame, match="volts_per_count"):
        tracker.admit(header(11, 1100, volts_per_count=1e-6 * (1 + 1e-12)))
    assert tracker.admit(header(12, 1200)) == Admission(
        Gap(1100, 1200, "sequence"), 1200, 100, False, False
    )
    assert tracker.admit(header(20, 1300)) == Admission(None, 1300, 100, True, False)
    assert tracker.admit(header(21, 1420)) == Admission(
        Gap(1400, 1420, "index"), 1420, 30, False, True
    )


def test_a_new_stream_id_is_a_restart_placed_by_the_daq_clock() -> None:
    tracker = StreamTracker(header(0, 0))
    tracker.admit(header(0, 0))
    tracker.admit(header(1, 100))
    # The DAQ comes back 2 s later with a new id and its index at 0.
    new = header(0, 0, stream_id=99, daq_time_ns=T0 + round(200 * 1e9 / RATE) + 2_000_000_000)
    admission = tracker.admit(new)
    assert admission.gap is not None and admission.gap.reason == RESTART
    assert admission.gap.start_sample == 200
    assert admission.gap.stop_sample == 200 + round(2 * RATE)
    assert admission.first_sample == admission.gap.stop_sample
    assert "00000007" in admission.gap.detail and "00000063" in admission.gap.detail
    assert tracker.restarts == 1
    # The new run goes on contiguously; late frames of the old run are rejected.
    follow = tracker.admit(header(1, 100, stream_id=99, daq_time_ns=new.daq_time_ns + 10**6))
    assert follow.gap is None and follow.first_sample == admission.first_sample + 100
    with pytest.raises(MalformedFrame, match="ended stream") as caught:
        tracker.admit(header(2, 200))
    assert caught.value.kind == "stale"


def test_index_reset_with_the_same_id_is_a_restart_not_a_splice() -> None:
    tracker = StreamTracker(header(0, 0))
    for k in range(5):
        tracker.admit(header(k, k * 100))
    later = T0 + round(500 * 1e9 / RATE) + 10**8  # the clock moved on, the index went back
    admission = tracker.admit(header(0, 0, daq_time_ns=later))
    assert admission.gap is not None and admission.gap.reason == RESTART
    assert admission.first_sample == 500 + round(0.1 * RATE)


def test_an_absurd_jump_is_rejected_and_does_not_poison_the_stream() -> None:
    tracker = StreamTracker(header(0, 0), max_jump_samples=1000)
    tracker.admit(header(0, 0))
    with pytest.raises(MalformedFrame, match="ahead") as caught:
        tracker.admit(header(1, 10**12))
    assert caught.value.kind == "far jump"
    assert tracker.admit(header(1, 100)) == Admission(None, 100, 100, False, False)


def test_a_consistent_run_after_a_jump_is_followed_after_resync_frames() -> None:
    tracker = StreamTracker(header(0, 0), max_jump_samples=1000)
    tracker.admit(header(0, 0))
    base = 10**9
    for k in range(RESYNC_FRAMES - 1):
        with pytest.raises(MalformedFrame):
            tracker.admit(header(1 + k, base + 100 * k))
    admission = tracker.admit(header(RESYNC_FRAMES, base + 100 * (RESYNC_FRAMES - 1)))
    assert admission.gap is not None and admission.gap.reason == RESTART
    assert admission.gap.stop_sample - admission.gap.start_sample <= 1000


def test_the_frames_rejected_before_a_resync_are_a_resync_gap_not_a_silent_loss() -> None:
    tracker = StreamTracker(header(0, 0), max_jump_samples=1000)
    for k in range(5):
        tracker.admit(header(k, k * 100))
    jump = 3 * 3600 * round(RATE)  # the DAQ's index jumps 3 h ahead; its clock goes on
    jumped = [
        header(5 + k, jump + 500 + 100 * k, daq_time_ns=T0 + round((500 + 100 * k) * 1e9 / RATE))
        for k in range(RESYNC_FRAMES)
    ]
    for frame in jumped[:-1]:
        with pytest.raises(MalformedFrame, match="ahead"):
            tracker.admit(frame)
    admission = tracker.admit(jumped[-1])
    # The run starts where the DAQ clock puts its first frame (1 sample of down time at
    # least), and the 7 frames received but rejected meanwhile are a gap with that reason.
    assert admission.gap is not None and admission.gap.reason == RESTART
    assert (admission.gap.start_sample, admission.gap.stop_sample) == (500, 501)
    assert admission.dropped is not None
    assert admission.dropped[:3] == (501, 501 + 100 * (RESYNC_FRAMES - 1), RESYNC)
    assert "7 frames" in admission.dropped.detail
    assert admission.first_sample == admission.dropped.stop_sample
    follow = tracker.admit(header(5 + RESYNC_FRAMES, jumped[-1].next_sample))
    assert follow.gap is None and follow.first_sample == admission.first_sample + 100


@pytest.mark.parametrize("first", [MAX_SAMPLE_INDEX - 50, 2**63, 2**64 - 100])
def test_indices_near_2_63_are_rejected_not_fatal(first: int) -> None:
    tracker = StreamTracker(header(0, 0))
    tracker.admit(header(0, 0))
    with pytest.raises(MalformedFrame, match="2\\^62") as caught:
        tracker.admit(header(1, first))
    assert caught.value.kind == "index range"
    assert tracker.admit(header(1, 100)).first_sample == 100


def test_a_restart_beyond_the_duration_limit_is_clipped() -> None:
    tracker = StreamTracker(header(0, 0), max_samples=150)
    tracker.admit(header(0, 0))
    admission = tracker.admit(header(0, 0, stream_id=8, daq_time_ns=T0 + 10**9))
    assert admission.gap == Gap(100, 150, RESTART, admission.gap.detail if admission.gap else "")
    assert admission.samples == 0 and admission.finished
