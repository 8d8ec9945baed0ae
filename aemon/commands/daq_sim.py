"""``aemon daq-sim``: publish the AE simulator (or replay a recording) as a live DAQ feed.

The simulator's volts are quantised to int16 counts with a fixed scale (``--full-scale``),
sent in frames of ``--frame-samples`` and paced by the wall clock: frame ``k`` leaves when the
clock reaches the time of its last sample, scheduled from the start time so that pacing never
drifts. With PUSH a slow receiver blocks the sender (lossless); the summary says how far
behind real time the stream ended.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import logging
import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.drivers.daq_publisher import DEFAULT_FRAME_SAMPLES, DaqPublisher, quantise
from aemon.errors import ConfigError, FileFormatError

logger = logging.getLogger(__name__)

DEFAULT_FULL_SCALE_V = 0.1
"""Simulator full scale (V): ±0.1 V maps to ±32768 counts, 3.0517578125e-06 V per count."""

BEHIND_WARNING_S = 0.25
"""Lag behind real time (s) at which daq-sim warns, once, that it cannot keep up."""

TRUTH_COLUMNS = [
    "time_s",
    "sample_index",
    "channel",
    "type",
    "snr_db",
    "end_sample",
    "peak_amplitude_V",
]


class TruthRow(NamedTuple):
    """One true burst (from the simulator or a recording's ``/truth`` table)."""

    onset_sample: int
    end_sample: int
    channel: int
    burst_type: str
    peak_amplitude_v: float
    snr_db: float


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


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``daq-sim`` subcommand."""
    parser = subparsers.add_parser(
        "daq-sim",
        help="publish simulated AE (or a recording) as a live DAQ feed over ZeroMQ",
        description="Publish the AE simulator, quantised to int16, or replay a recording as "
        "aemon frames over ZeroMQ, paced by the clock. Receive with `aemon record tcp://...`.",
    )
    add = parser.add_argument
    add("--endpoint", default="tcp://127.0.0.1:5555", help="ZeroMQ endpoint (default %(default)s)")
    add("--connect", action="store_true", help="connect to the endpoint instead of binding it")
    add(
        "--pattern",
        choices=("push", "pub"),
        default="push",
        help="push: lossless (default); pub: lossy fan-out",
    )
    add("--channels", type=int, default=None, help="channels (default 4)")
    add("--rate", type=float, default=None, help="sample rate in Hz (default 1562500)")
    add(
        "--duration",
        type=float,
        default=None,
        help="seconds to send (default: until Ctrl-C or end of file)",
    )
    add("--file", type=Path, default=None, help="replay this aemon recording instead of simulating")
    add(
        "--frame-samples",
        type=int,
        default=DEFAULT_FRAME_SAMPLES,
        help="samples per channel per frame",
    )
    add("--seed", type=int, default=1, help="simulator seed (default 1)")
    add(
        "--full-scale",
        type=float,
        default=DEFAULT_FULL_SCALE_V,
        help="simulator volts at int16 full scale",
    )
    add("--no-pace", action="store_true", help="send as fast as possible")
    add(
        "--summary",
        type=Path,
        default=None,
        help="write a JSON summary (SHA-256 per channel, speed)",
    )
    add("--truth", type=Path, default=None, help="write the true bursts as CSV")
    parser.set_defaults(func=run)


def _check_args(args: argparse.Namespace) -> None:
    if args.frame_samples < 1:
        raise ConfigError(f"--frame-samples must be at least 1, not {args.frame_samples}")
    if args.duration is not None and not (math.isfinite(args.duration) and args.duration > 0):
        raise ConfigError(f"--duration must be a positive number of seconds, not {args.duration}")
    if args.channels is not None and not 1 <= args.channels <= 65535:
        raise ConfigError(f"--channels must be in 1..65535, not {args.channels}")
    if args.rate is not None and not (math.isfinite(args.rate) and args.rate > 0):
        raise ConfigError(f"--rate must be a positive number of Hz, not {args.rate}")
    if not (math.isfinite(args.full_scale) and args.full_scale > 0):
        raise ConfigError(f"--full-scale must be a positive number of volts, not {args.full_scale}")


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
                bursts = [b for b in block.bursts if b.onset_sample < end]
                yield Block(block.first_sample, samples, bursts)
                return
        yield block


def _simulator_blocks(args: argparse.Namespace) -> tuple[StreamSpec, Iterator[Block], list[int]]:
    from aemon.sim.simulator import BURST_TYPES, AESimulator, SimConfig

    rate = 1_562_500.0 if args.rate is None else args.rate
    channels = 4 if args.channels is None else args.channels
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
            bursts = [
                TruthRow(
                    b.onset_sample,
                    b.end_sample,
                    b.channel,
                    BURST_TYPES[b.burst_type],
                    b.peak_amplitude_v,
                    b.snr_db,
                )
                for b in sim_block.bursts
            ]
            yield Block(sim_block.first_sample, counts, bursts)

    return StreamSpec(rate, channels, vpc), blocks(), clipped


def _recording_blocks(
    args: argparse.Namespace, stack: contextlib.ExitStack
) -> tuple[StreamSpec, Iterator[Block]]:
    from aemon.io.recording import RecordingReader

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
    truth = sorted(
        TruthRow(
            int(r["onset_sample"]),
            int(r["end_sample"]),
            int(r["channel"]),
            r["burst_type"].decode(errors="replace"),
            float(r["peak_amplitude_v"]),
            float(r["snr_db"]),
        )
        for r in reader.truth()
    )

    def blocks() -> Iterator[Block]:
        # Recorded gaps are zero-filled in the file: send them as gaps, not as zeros.
        for first, samples in reader.iter_blocks(args.frame_samples):
            for lo, hi in present_ranges(first, first + samples.shape[1], gaps):
                rows = [t for t in truth if lo <= t.onset_sample < hi]
                yield Block(lo, np.ascontiguousarray(samples[:, lo - first : hi - first]), rows)

    return StreamSpec(fmt.sample_rate_hz, fmt.channels, fmt.volts_per_count), blocks()


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


def _write_truth(writer: Any, bursts: list[TruthRow], rate: float, first: int) -> None:
    for b in bursts:
        writer.writerow(
            [
                f"{(b.onset_sample - first) / rate:.9f}",
                b.onset_sample,
                b.channel,
                b.burst_type,
                f"{b.snr_db:.3f}",
                b.end_sample,
                f"{b.peak_amplitude_v:.6e}",
            ]
        )


def run(args: argparse.Namespace) -> int:
    """Run ``aemon daq-sim``; returns the exit status (130 if interrupted)."""
    _check_args(args)
    clipped = [0]
    with contextlib.ExitStack() as stack:
        if args.file is not None:
            spec, source = _recording_blocks(args, stack)
        else:
            spec, source, clipped = _simulator_blocks(args)
        total = None if args.duration is None else round(args.duration * spec.sample_rate_hz)
        truth_file: IO[str] | None = None
        if args.truth is not None:
            truth_file = stack.enter_context(open(args.truth, "w", newline="", encoding="utf-8"))
        summary = _publish(args, spec, _limit(source, total), truth_file)
    summary["clipped_samples"] = clipped[0]
    print(
        f"daq-sim: sent {summary['frames']} frames, {summary['samples_per_channel']} samples × "
        f"{spec.channels} ch in {summary['wall_s']:.2f} s ({summary['x_real_time']:.2f}× real "
        f"time, ended {summary['behind_real_time_s']:.3f} s behind)",
        file=sys.stderr,
    )
    if args.summary is not None:
        args.summary.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 130 if summary["interrupted"] else 0


def _publish(
    args: argparse.Namespace, spec: StreamSpec, blocks: Iterator[Block], truth_file: IO[str] | None
) -> dict[str, Any]:
    truth = csv.writer(truth_file) if truth_file is not None else None
    if truth is not None:
        truth.writerow(TRUTH_COLUMNS)
    n_bursts = 0
    first_sample: int | None = None
    interrupted = False
    with DaqPublisher(
        args.endpoint,
        pattern=args.pattern,
        bind=not args.connect,
        frame_samples=args.frame_samples,
        digest=args.summary is not None,
    ) as publisher:
        print(
            f"daq-sim: publishing {spec.channels} ch × {spec.sample_rate_hz:g} Hz on "
            f"{publisher.endpoint} ({args.pattern})",
            file=sys.stderr,
            flush=True,
        )
        # The DAQ clock starts when a receiver is there to take the samples.
        publisher.wait_for_receiver()
        pacer = _Pacer(spec.sample_rate_hz, enabled=not args.no_pace)
        wall_start = time.perf_counter()
        start_ns = time.time_ns()
        try:
            for block in blocks:
                n = block.samples.shape[1]
                if first_sample is None:
                    first_sample = block.first_sample
                pacer.wait_for(block.first_sample, block.first_sample + n)
                offset_s = (block.first_sample - first_sample) / spec.sample_rate_hz
                publisher.send(
                    block.first_sample,
                    block.samples,
                    volts_per_count=spec.volts_per_count,
                    sample_rate_hz=spec.sample_rate_hz,
                    daq_time_ns=start_ns + round(offset_s * 1e9),
                )
                n_bursts += len(block.bursts)
                if truth is not None and block.bursts:
                    _write_truth(truth, block.bursts, spec.sample_rate_hz, first_sample)
        except KeyboardInterrupt:
            interrupted = True
            logger.warning("daq-sim interrupted; ending the stream")
        behind = 0.0 if args.no_pace else pacer.behind_s(publisher.next_sample or 0)
        if interrupted:  # do not keep the user waiting for a receiver that may be gone
            eos = publisher.end(timeout_s=0.5)
            publisher.close(linger_s=1.0)
        else:
            eos = publisher.end()
    wall_s = time.perf_counter() - wall_start  # after close: queued frames have left
    digest = publisher.digest
    return {
        "endpoint": publisher.endpoint,
        "pattern": args.pattern,
        "source": str(args.file) if args.file is not None else "simulator",
        "stream_id": publisher.stream_id,
        "sample_rate_hz": spec.sample_rate_hz,
        "channels": spec.channels,
        "dtype": "int16" if args.file is None else publisher.dtype,
        "volts_per_count": spec.volts_per_count,
        "frame_samples": args.frame_samples,
        "first_sample": first_sample,
        "frames": publisher.frames_sent - int(eos),
        "samples_per_channel": publisher.samples_sent,
        "channel_sha256": digest.hexdigests() if digest is not None else [],
        "truth_bursts": n_bursts,
        "wall_s": wall_s,
        "x_real_time": publisher.samples_sent / spec.sample_rate_hz / max(wall_s, 1e-9),
        "behind_real_time_s": behind,
        "end_of_stream_sent": eos,
        "interrupted": interrupted,
    }
