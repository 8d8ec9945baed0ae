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
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from aemon.commands._checks import at_least, positive
from aemon.commands._daq_blocks import (
    Block,
    StreamSpec,
    _limit,
    _Pacer,
    _recording_blocks,
    _simulator_blocks,
    present_ranges,
)
from aemon.commands._outputs import AtomicOutput, check_output, write_text_atomic
from aemon.commands._waveline_sim import add_waveline_sim_arguments, run_waveline_sim
from aemon.drivers.daq_publisher import DEFAULT_FRAME_SAMPLES, DaqPublisher
from aemon.drivers.protocol import MAX_PAYLOAD_BYTES, max_frame_samples
from aemon.errors import ConfigError, FileFormatError, SourceError

logger = logging.getLogger(__name__)

DEFAULT_FULL_SCALE_V = 0.1
"""Simulator full scale (V): ±0.1 V maps to ±32768 counts, 3.0517578125e-06 V per count."""

_EXAMPLES = """\
examples:
  aemon daq-sim                                   # 1 ch at 1.5625 MHz on tcp://127.0.0.1:5555
  aemon daq-sim --channels 4 --duration 60 --truth truth.csv --overwrite
  aemon daq-sim --file run.h5 --no-pace           # replay a recording as fast as possible
  aemon daq-sim --endpoint tcp://127.0.0.1:6000 --summary sent.json"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``daq-sim`` subcommand."""
    parser = subparsers.add_parser(
        "daq-sim",
        help="publish simulated AE (or a recording) as a live DAQ feed over ZeroMQ",
        description="Publish the AE simulator, quantised to int16, or replay a recording as "
        "aemon frames over ZeroMQ, paced by the clock. Receive with `aemon record tcp://...`. "
        "The stream starts when a receiver connects and ends at --duration, at the end of "
        "--file, on Ctrl-C, or when the receiver takes nothing for --receiver-timeout s.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--endpoint", default="tcp://127.0.0.1:5555", help="ZeroMQ endpoint (default %(default)s)")
    add("--connect", action="store_true", help="connect to the endpoint instead of binding it")
    add("--pattern", choices=("push", "pub"), default="push",
        help="push: lossless (default); pub: lossy fan-out")  # fmt: skip
    add("--channels", type=int, metavar="N", help="channels (default 1; a --file's own)")
    add("--rate", type=float, metavar="HZ", help="sample rate (default 1562500; a --file's own)")
    add("--duration", type=float, metavar="S",
        help="seconds to send (default: until Ctrl-C or end of file)")  # fmt: skip
    add("--file", type=Path, metavar="H5", help="replay this aemon recording instead of simulating")
    add("--frame-samples", type=int, default=DEFAULT_FRAME_SAMPLES, metavar="N",
        help=f"samples per channel per frame (default {DEFAULT_FRAME_SAMPLES}; at most 4 MiB "
        "of samples per frame)")  # fmt: skip
    add("--seed", type=int, default=1, help="simulator seed (default 1)")
    add("--full-scale", type=float, default=DEFAULT_FULL_SCALE_V, metavar="V",
        help=f"simulator volts at int16 full scale (default {DEFAULT_FULL_SCALE_V:g})")  # fmt: skip
    add("--no-pace", action="store_true", help="send as fast as possible")
    add("--receiver-timeout", type=float, default=30.0, metavar="S",
        help="stop when the receiver takes nothing for S seconds (default 30)")  # fmt: skip
    add("--summary", type=Path, metavar="JSON",
        help="write a JSON summary (SHA-256 per channel, speed)")  # fmt: skip
    add("--truth", type=Path, metavar="CSV", help="write the true bursts as CSV")
    add("--overwrite", action="store_true", help="replace --truth/--summary files that exist")
    add("--no-crc", action="store_true", help="leave out the payload CRC-32 (on by default)")
    add("--receivers", type=int, default=1, metavar="N",
        help="push: admit at most N receivers at once (default 1; a further one is refused "
        "with a warning, since PUSH would deal it part of the frames)")  # fmt: skip
    add("--curve-key", metavar="FILE", help="CURVE: this DAQ's secret key file (aemon keys)")
    add("--curve-clients", metavar="DIR",
        help="CURVE: directory of the public keys of receivers allowed to connect")  # fmt: skip
    add_waveline_sim_arguments(parser)
    parser.set_defaults(func=run)


def _check_args(args: argparse.Namespace) -> None:
    if args.curve_key is not None and (args.connect or args.curve_clients is None):
        raise ConfigError("--curve-key needs --curve-clients DIR and a bound --endpoint")
    at_least("--frame-samples", args.frame_samples, 1, "32768")
    at_least("--receivers", args.receivers, 1, "1")
    positive("--duration", args.duration, "seconds", "10")
    at_least("--channels", args.channels, 1, "1")
    if args.channels is not None and args.channels > 65535:
        raise ConfigError(f"--channels {args.channels} is invalid: at most 65535; use e.g. 4")
    positive("--rate", args.rate, "Hz", "1562500")
    positive("--full-scale", args.full_scale, "volts", "0.1")
    positive("--receiver-timeout", args.receiver_timeout, "seconds", "30")
    for flag, path in (("--truth", args.truth), ("--summary", args.summary)):
        if path is not None:
            check_output(path, overwrite=args.overwrite, flag=flag)
    if args.file is not None and not args.file.is_file():
        raise FileFormatError(f"--file {args.file}: no such recording; check the path")


def run(args: argparse.Namespace) -> int:
    """Run ``aemon daq-sim``; returns the exit status (130 if interrupted)."""
    _check_args(args)
    if args.protocol != "aemon":
        return run_waveline_sim(args)
    clipped = [0]
    with contextlib.ExitStack() as stack:
        if args.file is not None:
            spec, source = _recording_blocks(args, stack)
        else:
            spec, source, clipped = _simulator_blocks(args)
        _check_frame_size(args.frame_samples, spec)
        total = None if args.duration is None else round(args.duration * spec.sample_rate_hz)
        truth_file: IO[str] | None = None
        if args.truth is not None:
            truth_out = stack.enter_context(
                AtomicOutput(args.truth, overwrite=args.overwrite, flag="--truth")
            )
            truth_file = stack.enter_context(
                open(truth_out.partial, "w", newline="", encoding="utf-8")
            )
        summary = _publish(args, spec, _limit(source, total), truth_file)
    summary["clipped_samples"] = clipped[0]
    print(
        f"daq-sim: sent {summary['frames']} frames, {summary['samples_per_channel']} samples × "
        f"{spec.channels} ch in {summary['wall_s']:.2f} s ({summary['x_real_time']:.2f}× real "
        f"time, ended {summary['behind_real_time_s']:.3f} s behind); {summary['ended']}",
        file=sys.stderr,
    )
    if args.summary is not None:
        write_text_atomic(args.summary, json.dumps(summary, indent=2) + "\n")
    return 130 if summary["interrupted"] else 0


def _check_frame_size(frame_samples: int, spec: StreamSpec) -> None:
    """Refuse ``--frame-samples`` above what one frame may carry (drivers/README.md §4)."""
    limit = max_frame_samples(spec.channels, spec.dtype)
    if frame_samples > limit:
        size = frame_samples * spec.channels * np.dtype(spec.dtype).itemsize
        raise ConfigError(
            f"--frame-samples {frame_samples} is too large: {spec.channels} × {frame_samples} "
            f"{spec.dtype} samples make {size:,} bytes, over the protocol's "
            f"{MAX_PAYLOAD_BYTES:,} bytes per frame; use at most {limit} (default "
            f"{DEFAULT_FRAME_SAMPLES})"
        )


def _open_publisher(args: argparse.Namespace) -> DaqPublisher:
    import zmq

    try:
        return DaqPublisher(
            args.endpoint,
            pattern=args.pattern,
            bind=not args.connect,
            frame_samples=args.frame_samples,
            digest=args.summary is not None,
            crc32=not args.no_crc,
            curve_key=args.curve_key,
            curve_clients=args.curve_clients,
            receiver_limit=args.receivers,
        )
    except zmq.ZMQError as exc:
        verb = "connect to" if args.connect else "bind"
        hint = (
            "another program (another daq-sim?) uses it; stop it or choose another --endpoint"
            if exc.errno == zmq.EADDRINUSE
            else "check the --endpoint"
        )
        raise SourceError(f"cannot {verb} {args.endpoint} ({exc.strerror}); {hint}") from None


def _await_room(publisher: DaqPublisher, timeout_s: float) -> bool:
    """Wait (in short, interruptible steps) until the receiver takes a frame; False if gone."""
    deadline = time.monotonic() + timeout_s
    while not publisher.writable(0.1):
        if time.monotonic() > deadline:
            return False
    return True


def _publish(
    args: argparse.Namespace, spec: StreamSpec, blocks: Iterator[Block], truth_file: IO[str] | None
) -> dict[str, Any]:
    from aemon.io.truth import TRUTH_CSV_COLUMNS, truth_csv_cells

    truth = csv.writer(truth_file) if truth_file is not None else None
    if truth is not None:
        truth.writerow(TRUTH_CSV_COLUMNS)
    n_bursts = 0
    first_sample: int | None = None
    interrupted = False
    ended = "the stream was complete"
    publisher = _open_publisher(args)
    print(
        f"daq-sim: publishing {spec.channels} ch × {spec.sample_rate_hz:g} Hz on "
        f"{publisher.endpoint} ({args.pattern}); waiting for a receiver",
        file=sys.stderr,
        flush=True,
    )
    wall_start = time.perf_counter()
    wall_s = 0.0
    try:
        # The DAQ clock starts when a receiver is there to take the samples.
        while not publisher.writable(0.2):
            pass
        pacer = _Pacer(spec.sample_rate_hz, enabled=not args.no_pace)
        wall_start = time.perf_counter()
        start_ns = time.time_ns()
        for block in blocks:
            n = block.samples.shape[1]
            if first_sample is None:
                first_sample = block.first_sample
            pacer.wait_for(block.first_sample, block.first_sample + n)
            if not _await_room(publisher, args.receiver_timeout):
                ended = f"the receiver took nothing for {args.receiver_timeout:g} s; stopped"
                break
            offset_s = (block.first_sample - first_sample) / spec.sample_rate_hz
            publisher.send(
                block.first_sample,
                block.samples,
                volts_per_count=spec.volts_per_count,
                sample_rate_hz=spec.sample_rate_hz,
                daq_time_ns=start_ns + round(offset_s * 1e9),
            )
            wall_s = time.perf_counter() - wall_start
            n_bursts += len(block.bursts)
            if truth is not None and block.bursts:
                rate = spec.sample_rate_hz
                truth.writerows(
                    truth_csv_cells(b._replace(time_s=(b.sample_index - first_sample) / rate))
                    for b in block.bursts
                )
    except KeyboardInterrupt:
        interrupted = True
        ended = "interrupted"
    behind = 0.0 if args.no_pace or first_sample is None else pacer.behind_s(
        publisher.next_sample or 0
    )  # fmt: skip
    eos = False
    if not interrupted and publisher.writable(0.5):
        eos = publisher.end(timeout_s=1.0)
    elif ended == "the stream was complete" and first_sample is not None:
        ended = "the receiver had already stopped (no end-of-stream frame needed)"
    publisher.close(linger_s=1.0 if interrupted or not eos else 10.0)
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
        "crc32": not args.no_crc,
        "max_receivers": publisher.max_receivers,
        "refused_receivers": publisher.refused_receivers,
        "ended": ended,
        "interrupted": interrupted,
    }


__all__ = ["DEFAULT_FULL_SCALE_V", "present_ranges", "register", "run"]
