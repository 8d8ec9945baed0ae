"""``aemon sim``: write a synthetic AE recording with its ground truth."""

from __future__ import annotations

import argparse
import csv
import logging
import math
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aemon.commands._checks import at_least, fraction, positive
from aemon.commands._outputs import AtomicOutput
from aemon.commands.sim_geometry import (
    SourceCsv,
    add_geometry_arguments,
    geometry_from_args,
    side_files,
    write_layout_files,
)
from aemon.errors import ConfigError
from aemon.types import ChannelInfo, StreamFormat

if TYPE_CHECKING:  # the simulator (scipy) and soundfile load only when the command runs
    from aemon.sim.geometry import SensorGeometry
    from aemon.sim.simulator import BurstTruth, SimConfig

logger = logging.getLogger(__name__)

SIM_DEFAULTS: dict[str, Any] = {
    "channels": 1,
    "sample_rate_hz": 1_562_500.0,
    "seed": 0,
    "snr_db_range": (15.0, 55.0),
    "burst_rate_hz": 20.0,
    "coincident_fraction": 0.0,
}
"""The option defaults, equal to :class:`~aemon.sim.simulator.SimConfig`'s (a test checks)."""

BLOCK_SAMPLES = 1 << 17
"""Samples per channel rendered and written at a time (bounds memory for long recordings)."""


_WAV_LIMIT_BYTES = 0xFFFF_FFFF - 1024  # plain RIFF/WAV size limit; larger files use RF64

_DESCRIPTION = """\
Simulate an acoustic-emission recording from a fatigue test: broadband sensor noise (10 µV RMS,
20 dBAE), hydraulic hum, friction episodes and electrical spikes (not bursts), and crack bursts
of two types, "low" (100-250 kHz) and "high" (300-600 kHz), with SNRs drawn uniformly in dB.
Below 1.5625 MHz the burst and friction bands are scaled into the available band (at 192 kHz:
low 12-31 kHz, high 37-74 kHz), so burst shapes stay the same in samples.

Output by suffix of --out:
  .h5 / .hdf5  aemon HDF5 recording, float32 volts, ground truth in /truth.
  .wav         float32 WAV of volts at the sensor (1.0 = 1 V, so it sounds very quiet), plus
               the ground truth in <FILE without .wav>.truth.csv with columns
               time_s,sample_index,channel,type,snr_db,end_sample,peak_amplitude_V
               (channel is 0-based, type is low/high, end_sample is exclusive).
The same --seed and options always give the same samples and truth."""

_EXAMPLES = """\
examples:
  aemon sim --duration 10 -o demo.h5
  aemon sim --duration 5 --channels 4 --seed 7 --coincident 0.5 -o four.h5
  aemon sim --duration 2 --rate 192000 --snr-min 25 -o sound.wav --overwrite
  aemon sim --duration 10 --channels 2 --sensor-spacing 0.2 --wave-speed 5000 \\
      --grip-rate 5 -o bar.h5      # + bar.location.toml, bar.sources.csv
  aemon sim --duration 4 --channels 4 --plate 0.5 -o plate.h5"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sim`` subcommand to the ``aemon`` command line."""
    parser = subparsers.add_parser(
        "sim",
        help="write a synthetic AE recording (HDF5 or WAV) with ground-truth bursts",
        description=_DESCRIPTION,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    defaults = argparse.Namespace(**SIM_DEFAULTS)
    parser.add_argument(
        "--duration", type=float, required=True, metavar="S", help="length of the recording (s)"
    )
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        required=True,
        metavar="FILE",
        help="output file: .h5, .hdf5 or .wav",
    )
    parser.add_argument(
        "--channels", type=int, default=defaults.channels, metavar="C", help="channels (default 1)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=defaults.sample_rate_hz,
        metavar="HZ",
        help="sample rate in Hz (default 1562500; WAV needs a whole number)",
    )
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, metavar="N", help="random seed (default 0)"
    )
    parser.add_argument(
        "--snr-min",
        type=float,
        default=defaults.snr_db_range[0],
        metavar="DB",
        help="lowest burst SNR, peak over noise RMS, in dB (default 15 = 35 dBAE)",
    )
    parser.add_argument(
        "--snr-max",
        type=float,
        default=defaults.snr_db_range[1],
        metavar="DB",
        help="highest burst SNR in dB (default 55 = 75 dBAE)",
    )
    parser.add_argument(
        "--burst-rate",
        type=float,
        default=defaults.burst_rate_hz,
        metavar="HZ",
        help="mean bursts per second per channel (default 20)",
    )
    parser.add_argument(
        "--coincident",
        type=float,
        default=defaults.coincident_fraction,
        metavar="P",
        help="probability 0..1 that a burst also reaches the other channels, 5-80 µs later "
        "and 2-15 dB weaker (default 0: channels independent)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace FILE (and its truth CSV) if it exists"
    )
    add_geometry_arguments(parser)
    parser.set_defaults(func=run_sim)


def run_sim(args: argparse.Namespace) -> int:
    """Render the recording described by the parsed arguments; return the exit status."""
    positive("--duration", args.duration, "seconds", "10")
    positive("--rate", args.rate, "Hz", "1562500")
    at_least("--channels", args.channels, 1, "1")
    at_least("--seed", args.seed, 0, "0")
    if not (args.burst_rate >= 0 and math.isfinite(args.burst_rate)):
        raise ConfigError(
            f"--burst-rate {args.burst_rate:g} is invalid: it must be a number of bursts per "
            "second of at least 0; use e.g. --burst-rate 20"
        )
    fraction("--coincident", args.coincident, "0.3")
    for flag, value in (("--snr-min", args.snr_min), ("--snr-max", args.snr_max)):
        if not math.isfinite(value):
            raise ConfigError(f"{flag} {value} is invalid: it must be a number of dB; use 15")
    if args.snr_min > args.snr_max:
        raise ConfigError(
            f"--snr-min {args.snr_min:g} dB is above --snr-max {args.snr_max:g} dB; give a "
            "lower --snr-min or a higher --snr-max"
        )
    n_total = round(args.duration * args.rate)
    if n_total < 1:
        raise ConfigError(
            f"--duration {args.duration:g} is invalid: it is shorter than one sample at "
            f"{args.rate:g} Hz; use e.g. --duration 1"
        )
    from aemon.sim.simulator import SimConfig

    try:
        config = SimConfig(
            sample_rate_hz=args.rate,
            channels=args.channels,
            burst_rate_hz=args.burst_rate,
            snr_db_range=(args.snr_min, args.snr_max),
            coincident_fraction=args.coincident,
            seed=args.seed,
        )
    except ConfigError as exc:  # the only check left to the simulator: bursts too dense
        raise ConfigError(f"--burst-rate {args.burst_rate:g}: {exc}") from None
    out: Path = args.out
    geometry = geometry_from_args(args, n_total / args.rate)
    suffix = out.suffix.lower()
    if suffix not in (".h5", ".hdf5", ".wav"):
        raise ConfigError(f"--out {out}: unknown file type {suffix or '(none)'!r}; use .h5 or .wav")
    if suffix == ".wav" and args.rate != int(args.rate):
        raise ConfigError(
            f"--rate {args.rate:g} is invalid for WAV: it must be a whole number of Hz; "
            "use e.g. --rate 192000, or write .h5"
        )
    with ExitStack() as stack:
        # Every output is checked before anything is written, and appears only when complete.
        output = stack.enter_context(AtomicOutput(out, overwrite=args.overwrite))
        truth = None
        if suffix == ".wav":
            truth = stack.enter_context(
                AtomicOutput(truth_csv_path(out), overwrite=args.overwrite, flag="--out (truth)")
            )
        layout = [
            stack.enter_context(AtomicOutput(p, overwrite=args.overwrite, flag="--out (geometry)"))
            for p in side_files(out, geometry)
        ]
        sources = layout[1].partial if layout else None
        if truth is None:
            n_bursts = write_hdf5(
                output.partial, config, n_total, geometry=geometry, sources_path=sources
            )
            where = f"{out}:/truth"
        else:
            n_bursts = write_wav(
                output.partial, truth.partial, config, n_total, geometry=geometry,
                sources_path=sources,
            )  # fmt: skip
            where = str(truth.path)
        if geometry is not None:
            write_layout_files([o.partial for o in layout], geometry, n_total / args.rate)
            where += ", sources and sensor layout in " + ", ".join(o.path.name for o in layout)
    print(
        f"{out}: {n_total / args.rate:g} s, {args.channels} ch at {args.rate:g} Hz, "
        f"{n_bursts} bursts (truth in {where})"
    )
    return 0


def truth_csv_path(wav_path: Path) -> Path:
    """Return where the ground truth of ``wav_path`` goes: ``x.wav`` -> ``x.truth.csv``."""
    return wav_path.with_suffix(".truth.csv")


def _blocks(
    config: SimConfig,
    n_total: int,
    geometry: SensorGeometry | None = None,
    sources_path: Path | None = None,
) -> Iterator[tuple[int, Any, list[BurstTruth]]]:
    """Yield ``(first_sample, samples, bursts)`` covering ``n_total`` samples, with progress;
    with a geometry, its sources go to ``sources_path`` (the ``.sources.csv``)."""
    from tqdm import tqdm

    from aemon.sim.geometry import GeometrySimulator
    from aemon.sim.simulator import AESimulator

    located = GeometrySimulator(config, geometry) if geometry is not None else None
    sim = located or AESimulator(config)
    sources = SourceCsv(sources_path, config.sample_rate_hz) if located and sources_path else None
    try:
        with tqdm(
            total=n_total,
            unit="S",
            unit_scale=True,
            desc="aemon sim",
            disable=not sys.stderr.isatty(),
        ) as progress:
            while sim.position < n_total:
                n = min(BLOCK_SAMPLES, n_total - sim.position)
                if located is not None:
                    block, new = located.render_located(n)
                    if sources is not None:
                        sources.write(new)
                else:
                    block = sim.render(n)
                # A burst that runs past the end of the recording ends where the recording does.
                bursts = [b._replace(end_sample=min(b.end_sample, n_total)) for b in block.bursts]
                yield block.first_sample, block.samples, bursts
                progress.update(block.samples.shape[1])
    finally:
        if sources is not None:
            sources.close()


def _refuse_existing(paths: list[Path], overwrite: bool) -> None:
    for path in paths:
        if path.exists() and not overwrite:
            raise ConfigError(f"{path}: file exists; choose another --out or add --overwrite")


def write_wav(
    path: Path,
    truth_path: Path,
    config: SimConfig,
    n_total: int,
    *,
    overwrite: bool = False,
    geometry: SensorGeometry | None = None,
    sources_path: Path | None = None,
) -> int:
    """Write ``n_total`` samples per channel as float32 WAV (V) and the truth CSV.

    Returns:
        The number of ground-truth rows written.
    """
    import soundfile

    from aemon.io.truth import TRUTH_CSV_COLUMNS, truth_csv_cells, truth_row

    rate = config.sample_rate_hz
    if rate != int(rate):
        raise ConfigError(f"WAV needs a whole-number sample rate, got {rate} Hz; use .h5")
    _refuse_existing([path, truth_path], overwrite)
    data_bytes = n_total * config.channels * 4
    container = "RF64" if data_bytes > _WAV_LIMIT_BYTES else "WAV"
    if container == "RF64":
        logger.info("%s: %d bytes of samples exceed the WAV limit; writing RF64", path, data_bytes)
    n_rows = 0
    try:
        with (
            soundfile.SoundFile(
                path, "w", int(rate), config.channels, subtype="FLOAT", format=container
            ) as wav,
            truth_path.open("w", newline="", encoding="utf-8") as truth_file,
        ):
            writer = csv.writer(truth_file)
            writer.writerow(TRUTH_CSV_COLUMNS)
            for _, samples, bursts in _blocks(config, n_total, geometry, sources_path):
                wav.write(samples.T)
                writer.writerows(truth_csv_cells(truth_row(b, rate)) for b in bursts)
                n_rows += len(bursts)
    except (OSError, soundfile.SoundFileError) as exc:
        raise ConfigError(f"{path}: cannot write ({_first_line(exc)}); check free space") from None
    logger.info("wrote %s and %s (%d bursts)", path, truth_path, n_rows)
    return n_rows


def write_hdf5(
    path: Path,
    config: SimConfig,
    n_total: int,
    *,
    overwrite: bool = False,
    geometry: SensorGeometry | None = None,
    sources_path: Path | None = None,
) -> int:
    """Write ``n_total`` samples per channel as an aemon HDF5 recording (float32 V + truth).

    Returns:
        The number of ground-truth rows written.
    """
    from aemon.io.recording import RecordingWriter

    fmt = StreamFormat(config.sample_rate_hz, config.channels, "float32", 1.0)
    channels = [
        ChannelInfo(name=f"ch{c + 1}", sensor="aemon sim", gain_db=0.0, volts_per_count=1.0)
        for c in range(config.channels)
    ]
    stored_config: dict[str, Any] = {"source": "aemon sim", "sim": _config_dict(config)}
    if geometry is not None:
        stored_config["geometry"] = _config_dict(geometry)
    n_rows = 0
    with RecordingWriter(
        os.fspath(path), fmt, channels, config=stored_config, overwrite=overwrite
    ) as writer:
        for first, samples, bursts in _blocks(config, n_total, geometry, sources_path):
            writer.push(first, samples)
            writer.add_truth(bursts)  # /truth stores each burst's type_name
            n_rows += len(bursts)
    logger.info("wrote %s (%d bursts)", path, n_rows)
    return n_rows


def _config_dict(config: SimConfig | SensorGeometry) -> dict[str, Any]:
    return {name: getattr(config, name) for name in config.__dataclass_fields__}


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
