"""``aemon daq-sim --protocol linwave``: the simulator (or ``--file``) as an emulated linWave.

The emulator (:mod:`aemon.drivers.linwave_emulator`) listens on the ``--endpoint``'s host and
port (control) and the next two ports (streams), as a linWave does on 5432, 5433 and 5434.
The signal exists from the first ``start_acq`` at the rate the client chose
(10 MHz / ``tr_decimation``), quantised with the chosen range's µV per count; ``--truth``
lists the bursts in the blocks that went out.
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
from aemon.commands._daq_blocks import (
    TRUTH_COLUMNS,
    Block,
    _limit,
    _recording_blocks,
    _simulator_blocks,
    _write_truth,
)
from aemon.commands._outputs import AtomicOutput
from aemon.errors import ConfigError, SourceError

logger = logging.getLogger(__name__)


def add_waveline_sim_arguments(parser: argparse.ArgumentParser) -> None:
    """``--protocol`` and the emulator's fault option."""
    parser.add_argument(
        "--protocol", choices=("aemon", "linwave"), default="aemon",
        help="aemon: the ZeroMQ feed (default); linwave: emulate a Vallen linWave on the "
        "--endpoint's port (control) and the next two (streams), e.g. tcp://127.0.0.1:5432",
    )  # fmt: skip
    parser.add_argument(
        "--overflow-at", type=float, metavar="S",
        help="linwave: stop acquisition S seconds into the signal as a device whose buffer "
        "overflowed (the client must restart it)",
    )  # fmt: skip


def _host_port(endpoint: str) -> tuple[str, int]:
    host, sep, port = endpoint.removeprefix("tcp://").rpartition(":")
    if not endpoint.startswith("tcp://") or not sep or not port.isdigit():
        raise ConfigError(
            f"--endpoint {endpoint} for --protocol linwave must be tcp://HOST:PORT, "
            "e.g. tcp://127.0.0.1:5432"
        )
    return host, int(port)


def run_waveline_sim(args: argparse.Namespace) -> int:
    """Serve the emulated linWave until Ctrl-C or the end of the signal; exit status."""
    from aemon.drivers.linwave_emulator import CLOCK_HZ, LinWaveEmulator

    host, port = _host_port(args.endpoint)
    positive("--overflow-at", args.overflow_at, "seconds", "3")
    channels = 2 if args.channels is None else args.channels
    if channels not in (1, 2) or args.rate is not None:
        raise ConfigError(
            "a linWave has 1 or 2 channels and its rate is 10 MHz / the decimation the "
            "client sets; drop --rate and use --channels 1 or 2"
        )
    with contextlib.ExitStack() as stack:
        fixed = None
        if args.file is not None:
            spec, recorded = _recording_blocks(args, stack)
            fixed = round(CLOCK_HZ / spec.sample_rate_hz)
            if abs(CLOCK_HZ / fixed - spec.sample_rate_hz) > 1e-6 or spec.channels > 2:
                raise ConfigError(
                    f"{args.file} has {spec.channels} ch at {spec.sample_rate_hz:g} Hz; a "
                    "linWave streams 1 or 2 channels at 10 MHz / a whole decimation"
                )
            channels = spec.channels
        truth: Any = None
        if args.truth is not None:
            out = stack.enter_context(AtomicOutput(args.truth, overwrite=args.overwrite))
            handle: IO[str] = stack.enter_context(open(out.partial, "w", newline=""))
            truth = csv.writer(handle)
            truth.writerow(TRUTH_COLUMNS)
        first: list[int] = []
        rates: list[float] = []

        def signal(rate_hz: float, volts_per_count: float) -> Iterator[Block]:
            rates.append(rate_hz)
            if args.file is not None:
                blocks = recorded
            else:
                sim_args = argparse.Namespace(**vars(args))
                sim_args.rate, sim_args.channels = rate_hz, channels
                sim_args.full_scale = volts_per_count * 32768.0
                blocks = _simulator_blocks(sim_args)[1]
            total = None if args.duration is None else round(args.duration * rate_hz)
            return _limit(blocks, total)

        def sent(block: Block) -> None:
            if not first:
                first.append(block.first_sample)
            if truth is not None and block.bursts:
                _write_truth(truth, block.bursts, rates[-1], first[0])

        emulator = LinWaveEmulator(
            signal, host=host, port=port, channels=channels, fixed_decimation=fixed,
            overflow_at_s=args.overflow_at, on_sent=sent, end_when_client_leaves=True,
        )  # fmt: skip
        print(
            f"daq-sim: linWave emulator on {host}:{port} (streams on {port + 1}, {port + 2}); "
            "waiting for a client",
            file=sys.stderr,
            flush=True,
        )
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
    print(
        f"daq-sim: linWave emulator sent {emulator.blocks_sent} blocks"
        + (f" at {rates[-1]:g} Hz" if rates else "")
        + f", {emulator.overflows} buffer overflows; "
        + ("interrupted" if interrupted else "the client left or the signal ended"),
        file=sys.stderr,
    )
    return 130 if interrupted else 0
