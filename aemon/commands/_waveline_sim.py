"""``aemon daq-sim --protocol linwave|spotwave``: the simulator (or ``--file``) as an emulated
Vallen WaveLine device.

* linwave (:mod:`aemon.drivers.linwave_emulator`) listens on the ``--endpoint``'s host and
  port (control) and the next two ports (streams), as a linWave does on 5432, 5433 and 5434.
* spotwave (:mod:`aemon.drivers.spotwave_emulator`) opens a pseudo-terminal and prints its
  path: the client opens it as the spotWave's serial port.

The signal exists from the first ``start_acq`` at the rate the client chose (the device's
clock / ``tr_decimation``), quantised with the device's µV per count; ``--truth`` lists the
bursts in the samples that went out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import logging
import sys
from collections.abc import Iterator
from typing import IO, Any

from aemon.commands._checks import positive
from aemon.commands._daq_blocks import Block, _limit, _recording_blocks, _simulator_blocks
from aemon.commands._outputs import AtomicOutput
from aemon.errors import ConfigError, SourceError

logger = logging.getLogger(__name__)


def add_waveline_sim_arguments(parser: argparse.ArgumentParser) -> None:
    """``--protocol`` and the emulator's fault option."""
    parser.add_argument(
        "--protocol", choices=("aemon", "linwave", "spotwave"), default="aemon",
        help="aemon: the ZeroMQ feed (default); linwave: emulate a Vallen linWave on the "
        "--endpoint's port (control) and the next two (streams), e.g. tcp://127.0.0.1:5432; "
        "spotwave: emulate a spotWave on a new pseudo-terminal (its path is printed)",
    )  # fmt: skip
    parser.add_argument(
        "--overflow-at", type=float, metavar="S",
        help="linwave: stop acquisition S seconds into the signal as a device whose buffer "
        "overflowed (the client must restart it); spotwave: lose one record there",
    )  # fmt: skip


def _host_port(endpoint: str) -> tuple[str, int]:
    host, sep, port = endpoint.removeprefix("tcp://").rpartition(":")
    if not endpoint.startswith("tcp://") or not sep or not port.isdigit():
        raise ConfigError(
            f"--endpoint {endpoint} for --protocol linwave must be tcp://HOST:PORT, "
            "e.g. tcp://127.0.0.1:5432"
        )
    return host, int(port)


class _EmulatedSignal:
    """The simulator (or ``--file``) for an emulator, and the truth of what went out."""

    def __init__(self, args: argparse.Namespace, channels: int, recorded: Any, truth: Any):
        self.args, self.channels, self.recorded, self.truth = args, channels, recorded, truth
        if recorded is None:  # import now (about 1 s): start_acq must start the stream at once
            import aemon.sim.simulator  # noqa: F401
        self.rate_hz = 0.0
        self.first: int | None = None
        self._bursts: list[Any] = []  # generated, not yet sent (spotWave records)

    def __call__(self, rate_hz: float, volts_per_count: float) -> Iterator[Block]:
        self.rate_hz = rate_hz
        if self.recorded is not None:
            blocks = self.recorded
        else:
            sim_args = argparse.Namespace(**vars(self.args))
            sim_args.rate, sim_args.channels = rate_hz, self.channels
            sim_args.full_scale = volts_per_count * 32768.0
            blocks = _simulator_blocks(sim_args)[1]
        total = None if self.args.duration is None else round(self.args.duration * rate_hz)
        for block in _limit(blocks, total):
            self._bursts += block.bursts
            yield block

    def sent_block(self, block: Block) -> None:
        """linWave: ``block`` went out whole."""
        self.sent_range(block.first_sample, block.samples.shape[1])

    def sent_range(self, first: int, count: int) -> None:
        """Samples ``first .. first + count`` went out: write the truth of their bursts."""
        if self.first is None:
            self.first = first
        from aemon.io.truth import truth_csv_cells

        out = [b for b in self._bursts if first <= b.sample_index < first + count]
        self._bursts = [b for b in self._bursts if b.sample_index >= first + count]
        if self.truth is not None and out:
            self.truth.writerows(
                truth_csv_cells(b._replace(time_s=(b.sample_index - self.first) / self.rate_hz))
                for b in out
            )


def run_waveline_sim(args: argparse.Namespace) -> int:
    """Serve the emulated device until Ctrl-C, the end of the signal or (linWave) the
    client's leaving; exit status."""
    positive("--overflow-at", args.overflow_at, "seconds", "3")
    default_channels = 2 if args.protocol == "linwave" else 1
    channels = default_channels if args.channels is None else args.channels
    if channels not in (1, default_channels) or args.rate is not None:
        raise ConfigError(
            f"a {args.protocol} has {default_channels} channel(s) and its rate is its clock / "
            "the decimation the client sets; drop --rate and --channels"
        )
    with contextlib.ExitStack() as stack:
        recorded, fixed = None, None
        if args.file is not None:
            if args.protocol != "linwave":
                raise ConfigError("--file works with --protocol linwave (and aemon) only")
            spec, recorded = _recording_blocks(args, stack)
            fixed = _fixed_decimation(args, spec.sample_rate_hz, spec.channels)
            channels = spec.channels
        truth: Any = None
        if args.truth is not None:
            out = stack.enter_context(AtomicOutput(args.truth, overwrite=args.overwrite))
            handle: IO[str] = stack.enter_context(open(out.partial, "w", newline=""))
            truth = csv.writer(handle)
            from aemon.io.truth import TRUTH_CSV_COLUMNS

            truth.writerow(TRUTH_CSV_COLUMNS)
        signal = _EmulatedSignal(args, channels, recorded, truth)
        if args.protocol == "spotwave":
            return _serve_spotwave(args, signal)
        return _serve_linwave(args, signal, channels, fixed)


def _fixed_decimation(args: argparse.Namespace, rate_hz: float, channels: int) -> int:
    from aemon.drivers.linwave_emulator import CLOCK_HZ

    fixed = round(CLOCK_HZ / rate_hz)
    if fixed < 1 or abs(CLOCK_HZ / fixed - rate_hz) > 1e-6 or channels > 2:
        raise ConfigError(
            f"{args.file} has {channels} ch at {rate_hz:g} Hz; a linWave streams 1 or 2 "
            "channels at 10 MHz / a whole decimation"
        )
    return fixed


def _serve_linwave(
    args: argparse.Namespace, signal: _EmulatedSignal, channels: int, fixed: int | None
) -> int:
    from aemon.drivers.linwave_emulator import LinWaveEmulator

    host, port = _host_port(args.endpoint)
    emulator = LinWaveEmulator(
        signal, host=host, port=port, channels=channels, fixed_decimation=fixed,
        overflow_at_s=args.overflow_at, on_sent=signal.sent_block, end_when_client_leaves=True,
    )  # fmt: skip
    _say(f"linWave emulator on {host}:{port} (streams on {port + 1}, {port + 2}); "
         "waiting for a client")  # fmt: skip
    interrupted = False
    try:
        asyncio.run(emulator.serve())
    except OSError as exc:
        raise SourceError(
            f"cannot listen on {host}:{port}..{port + 2} ({exc.strerror}); another program "
            "(another emulator?) uses it: stop it or choose another --endpoint port"
        ) from None
    except KeyboardInterrupt:
        interrupted = True
    _say(
        f"linWave emulator sent {emulator.blocks_sent} blocks at {signal.rate_hz:g} Hz, "
        f"{emulator.overflows} buffer overflows; "
        + ("interrupted" if interrupted else "the client left or the signal ended")
    )
    return 130 if interrupted else 0


def _serve_spotwave(args: argparse.Namespace, signal: _EmulatedSignal) -> int:
    from aemon.drivers.spotwave_emulator import SpotWaveEmulator

    emulator = SpotWaveEmulator(signal, overflow_at_s=args.overflow_at, on_sent=signal.sent_range)
    _say(f"spotWave emulator on {emulator.port}; connect with spotwave://{emulator.port}")
    interrupted = False
    try:
        emulator.serve()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        emulator.close()
    _say(
        f"spotWave emulator sent {emulator.records_sent} records at {signal.rate_hz:g} Hz, "
        f"{emulator.overflows} records lost to buffer overflow; "
        + ("interrupted" if interrupted else "the signal ended")
    )
    return 130 if interrupted else 0


def _say(text: str) -> None:
    print(f"daq-sim: {text}", file=sys.stderr, flush=True)
