"""The blocks ``aemon daq-sim`` publishes: simulator or recording, truth rows, pacing."""

from __future__ import annotations

import argparse
import contextlib
import logging
import time
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.drivers.daq_publisher import quantise
from aemon.errors import ConfigError, FileFormatError
from aemon.events.records import TruthRow

logger = logging.getLogger(__name__)

BEHIND_WARNING_S = 0.25
"""Lag behind real time (s) at which daq-sim warns, once, that it cannot keep up."""


class Block(NamedTuple):
    """One block to publish: absolute first index, samples, and the true bursts starting in it."""

    first_sample: int
    samples: npt.NDArray[np.generic]
    bursts: list[TruthRow]


class StreamSpec(NamedTuple):
    """The format daq-sim publishes."""

    sample_rate_hz: float
    channels: int
    volts_per_count: float
    dtype: str = "int16"


def present_ranges(start: int, stop: int, gaps: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """The parts of ``[start, stop)`` not covered by the sorted ``(start, stop)`` gaps."""
    lo = start
    for gap_start, gap_stop in gaps:
        if gap_stop <= lo or gap_start >= stop:
            continue
        if gap_start > lo:
            yield lo, gap_start
        lo = max(lo, gap_stop)
    if lo < stop:
        yield lo, stop


def _limit(blocks: Iterator[Block], total: int | None) -> Iterator[Block]:
    """Stop after ``total`` samples per channel (counted from the first block), trimming."""
    start: int | None = None
    for block in blocks:
        if start is None:
            start = block.first_sample
        if total is not None:
            room = start + total - block.first_sample
            if room <= 0:
                return
            if room < block.samples.shape[1]:
                samples = np.ascontiguousarray(block.samples[:, :room])
                end = block.first_sample + room
                bursts = [b for b in block.bursts if b.sample_index < end]
                yield Block(block.first_sample, samples, bursts)
                return
        yield block


def _simulator_blocks(args: argparse.Namespace) -> tuple[StreamSpec, Iterator[Block], list[int]]:
    from aemon.io.truth import truth_row
    from aemon.sim.simulator import AESimulator, SimConfig

    rate = 1_562_500.0 if args.rate is None else args.rate
    channels = 1 if args.channels is None else args.channels
    vpc = args.full_scale / 32768.0
    simulator = AESimulator(SimConfig(sample_rate_hz=rate, channels=channels, seed=args.seed))
    clipped = [0]

    def blocks() -> Iterator[Block]:
        for sim_block in simulator.chunks(args.frame_samples):
            counts, n_clipped = quantise(sim_block.samples, vpc)
            if n_clipped and not clipped[0]:
                logger.warning(
                    "simulated signal exceeds ±%g V full scale; clipping", args.full_scale
                )
            clipped[0] += n_clipped
            bursts = [truth_row(b, rate) for b in sim_block.bursts]
            yield Block(sim_block.first_sample, counts, bursts)

    return StreamSpec(rate, channels, vpc), blocks(), clipped


def _recording_blocks(
    args: argparse.Namespace, stack: contextlib.ExitStack
) -> tuple[StreamSpec, Iterator[Block]]:
    from aemon.io.recording import RecordingReader
    from aemon.io.truth import truth_row

    if not args.file.exists():
        raise FileFormatError(f"{args.file}: no such recording")
    reader = stack.enter_context(RecordingReader(args.file))
    fmt = reader.format
    for option, given, actual in (
        ("--rate", args.rate, fmt.sample_rate_hz),
        ("--channels", args.channels, fmt.channels),
    ):
        if given is not None and given != actual:
            raise ConfigError(f"{option} {given:g} contradicts {args.file}, which has {actual:g}")

    gaps = sorted((g.start_sample, g.stop_sample) for g in reader.gaps())
    rate, first = fmt.sample_rate_hz, reader.first_sample
    truth = sorted(
        (truth_row(r, rate, first) for r in reader.truth()),
        key=lambda t: (t.sample_index, t.end_sample, t.channel),
    )

    def blocks() -> Iterator[Block]:
        # Recorded gaps are zero-filled in the file: send them as gaps, not as zeros.
        for first, samples in reader.iter_blocks(args.frame_samples):
            for lo, hi in present_ranges(first, first + samples.shape[1], gaps):
                rows = [t for t in truth if lo <= t.sample_index < hi]
                yield Block(lo, np.ascontiguousarray(samples[:, lo - first : hi - first]), rows)

    return StreamSpec(fmt.sample_rate_hz, fmt.channels, fmt.volts_per_count, fmt.dtype), blocks()


class _Pacer:
    """Wait until the wall clock reaches a sample index, scheduled from the start time."""

    def __init__(self, rate_hz: float, enabled: bool) -> None:
        self.rate_hz = rate_hz
        self.enabled = enabled
        self.t0 = time.perf_counter()
        self.first: int | None = None
        self.warned = False

    def behind_s(self, next_sample: int) -> float:
        """How far the wall clock is past the time of sample ``next_sample`` (s, ≥ 0)."""
        first = next_sample if self.first is None else self.first
        due = self.t0 + (next_sample - first) / self.rate_hz
        return max(0.0, time.perf_counter() - due)

    def wait_for(self, first_sample: int, next_sample: int) -> None:
        """Sleep until the samples before ``next_sample`` exist in real time."""
        if self.first is None:
            self.first = first_sample
            self.t0 = time.perf_counter()
        if not self.enabled:
            return
        due = self.t0 + (next_sample - self.first) / self.rate_hz
        ahead = due - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)
        elif -ahead > BEHIND_WARNING_S and not self.warned:
            self.warned = True
            logger.warning(
                "daq-sim is %.2f s behind real time: the simulator or the receiver cannot keep up",
                -ahead,
            )
