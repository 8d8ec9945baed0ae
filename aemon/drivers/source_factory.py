"""SOURCE strings: one argument that names a DAQ feed, a soundcard or a file.

* ``tcp://HOST:PORT``, ``ipc://PATH`` (any ZeroMQ endpoint): :class:`ZmqSource`.
* ``sound:DEVICE`` (index or name substrings; ``sound:`` is the default input):
  :class:`SoundcardSource`, 192 kHz unless ``--rate`` says otherwise.
* ``linwave://HOST``, ``spotwave://PORT``: a Vallen WaveLine device through ``waveline``
  (:mod:`aemon.drivers.waveline_open`).
* anything else is a file path: :class:`FileSource` (recording, WAV/FLAC or raw).

:func:`add_source_arguments` adds the options every acquiring command shares (``aemon
record``, ``aemon monitor``, ``aemon detect``); :func:`source_from_args` builds the source.
Options that make no sense for the chosen kind of source are refused with a one-line
:class:`~aemon.errors.ConfigError` rather than silently ignored.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from aemon.drivers.waveline_settings import (
    SETTINGS_FLAGS,
    WaveLineSettings,
    add_waveline_arguments,
    settings_from_args,
)
from aemon.errors import ConfigError
from aemon.io.file_readers import RAW_DTYPES
from aemon.stream.source import Source

logger = logging.getLogger(__name__)

DEFAULT_SOUND_RATE_HZ = 192000.0
ZMQ_TRANSPORTS = ("tcp://", "ipc://", "inproc://", "pgm://", "epgm://", "ws://", "wss://")
SOUND_PREFIX = "sound:"
WAVELINE_PREFIXES = ("linwave://", "spotwave://")

_OPTION_FLAGS = {
    "sample_rate_hz": "--rate",
    "channels": "--channels",
    "dtype": "--dtype",
    "volts_per_count": "--volts-per-count",
    "realtime": "--realtime",
    "start_s": "--start",
    "device_blocksize": "--device-blocksize",
    "pattern": "--pattern",
    "block_samples": "block_samples",
    "wait_s": "--wait",
    "curve_key": "--curve-key",
    "curve_server_key": "--curve-server-key",
}


def source_kind(spec: str) -> str:
    """``"zmq"``, ``"sound"``, ``"waveline"`` or ``"file"`` for a SOURCE string."""
    if spec.startswith(ZMQ_TRANSPORTS):
        return "zmq"
    if spec.startswith(SOUND_PREFIX):
        return "sound"
    if spec.startswith(WAVELINE_PREFIXES):
        return "waveline"
    return "file"


def source_from_spec(
    spec: str,
    *,
    sample_rate_hz: float | None = None,
    channels: int | None = None,
    dtype: str | None = None,
    volts_per_count: float | None = None,
    realtime: bool = False,
    start_s: float | None = None,
    device_blocksize: int | None = None,
    pattern: str | None = None,
    block_samples: int | None = None,
    duration_s: float | None = None,
    wait_s: float | None = None,
    curve_key: str | None = None,
    curve_server_key: str | None = None,
    device_settings: WaveLineSettings | None = None,
) -> Source:
    """Build (not open) the source a SOURCE string names; open it with ``with``.

    Args:
        spec: ``tcp://…``/``ipc://…``, ``sound:DEVICE``, or a file path.
        sample_rate_hz: Soundcard sample rate (Hz, default 192 kHz); for ZeroMQ the rate the
            DAQ must send; for a raw file its sample rate.
        channels: Soundcard channels; channels a DAQ must send; channels of a raw file.
        dtype: Raw file sample type (int16, int32, float32, float64), or the soundcard
            sample format (int16 or float32, default float32).
        volts_per_count: Volts per sample unit (V) for soundcards and files.
        realtime: Replay a file at its recorded pace.
        start_s: Start this far into a file (s).
        device_blocksize: Soundcard frames per callback (0 = PortAudio's choice).
        pattern: ZeroMQ socket pattern, ``pull`` (lossless) or ``sub`` (lossy fan-out).
        block_samples: Samples per block for file replay.
        duration_s: Stop by itself after this much signal (s).
        curve_key: ZeroMQ: this receiver's CURVE secret key file (``aemon keys``).
        curve_server_key: ZeroMQ: the DAQ's CURVE public key file.
        device_settings: WaveLine acquisition settings (``--device-config`` and flags).

    Raises:
        ConfigError: An option that does not apply to this kind of source.
    """
    kind = source_kind(spec)
    if device_settings is not None and kind != "waveline":
        raise ConfigError(f"{'/'.join(SETTINGS_FLAGS)} apply only to linwave:// and spotwave://")
    given = {
        name: value
        for name, value in {
            "sample_rate_hz": sample_rate_hz,
            "channels": channels,
            "dtype": dtype,
            "volts_per_count": volts_per_count,
            "realtime": realtime or None,
            "start_s": start_s,
            "device_blocksize": device_blocksize,
            "pattern": pattern,
            "block_samples": block_samples,
            "wait_s": wait_s,
            "curve_key": curve_key,
            "curve_server_key": curve_server_key,
        }.items()
        if value is not None
    }
    allowed = {
        "zmq": {"sample_rate_hz", "channels", "pattern", "wait_s", "curve_key",
                "curve_server_key"},
        "sound": {"sample_rate_hz", "channels", "dtype", "volts_per_count", "device_blocksize"},
        "file": {"sample_rate_hz", "channels", "dtype", "volts_per_count", "realtime",
                 "start_s", "block_samples"},
        "waveline": {"rate_hz", "channels", "wait_s"},
    }[kind]  # fmt: skip
    refused = sorted(_OPTION_FLAGS[name] for name in given if name not in allowed)
    if refused:
        what = {"zmq": "a ZeroMQ source", "sound": "a soundcard", "file": "a file source",
                "waveline": "a WaveLine device"}[kind]  # fmt: skip
        raise ConfigError(f"{', '.join(refused)} cannot be used with {what} ({spec})")

    if kind == "zmq":
        from aemon.drivers.receiver_socket import CurveOptions
        from aemon.drivers.zmq_source import ZmqSource

        if (curve_key is None) != (curve_server_key is None):
            raise ConfigError("CURVE needs both --curve-key and --curve-server-key")

        return ZmqSource(
            spec,
            pattern=pattern or "pull",
            expected_rate_hz=sample_rate_hz,
            expected_channels=channels,
            duration_s=duration_s,
            first_frame_timeout_s=10.0 if wait_s is None else wait_s,
            curve=CurveOptions(curve_key, curve_server_key),
        )
    if kind == "waveline":
        from aemon.drivers.waveline_open import open_waveline

        return open_waveline(spec, device_settings, sample_rate_hz, channels, duration_s, wait_s)
    if kind == "sound":
        from aemon.drivers.soundcard import SoundcardSource

        name = spec[len(SOUND_PREFIX) :].strip()
        device: str | int | None = int(name) if name.isdigit() else (name or None)
        return SoundcardSource(
            device,
            sample_rate_hz=DEFAULT_SOUND_RATE_HZ if sample_rate_hz is None else sample_rate_hz,
            channels=channels or 1,
            blocksize=device_blocksize or 0,
            volts_per_count=1.0 if volts_per_count is None else volts_per_count,
            duration_s=duration_s,
            dtype=dtype or "float32",
        )
    from aemon.drivers.file_source import FileSource

    return FileSource(
        spec,
        realtime=realtime,
        block_samples=block_samples or 65536,
        sample_rate_hz=sample_rate_hz,
        dtype=dtype,
        channels=channels,
        volts_per_count=volts_per_count,
        duration_s=duration_s,
        start_s=start_s or 0.0,
    )


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the source options shared by ``aemon record``, ``monitor`` and ``detect``."""
    group = parser.add_argument_group(
        "source options",
        "SOURCE is tcp://HOST:PORT (DAQ), sound:DEVICE (soundcard), linwave://HOST or "
        "spotwave://PORT (Vallen WaveLine, docs/waveline.md), or a file",
    )
    group.add_argument(
        "--rate", "--fs", type=float, metavar="HZ", dest="rate",
        help=f"soundcard sample rate (default {DEFAULT_SOUND_RATE_HZ:g}); for a DAQ the rate it "
        "must send; for a raw file its sample rate (--fs is an older name)",
    )  # fmt: skip
    group.add_argument(
        "--channels", type=int, metavar="N",
        help="soundcard channels (default 1), channels a DAQ must send, or raw file channels",
    )  # fmt: skip
    group.add_argument(
        "--dtype", choices=sorted(RAW_DTYPES),
        help="raw file sample type (little-endian, interleaved), or the soundcard sample "
        "format (int16 or float32, default float32)",
    )  # fmt: skip
    group.add_argument(
        "--volts-per-count", type=float, metavar="V",
        help="volts at the sensor per sample unit: per count for integers, per full scale for "
        "WAV/FLAC and float soundcard data (default 1)",
    )  # fmt: skip
    group.add_argument(
        "--realtime", action="store_true", default=None,
        help="replay a file at its recorded pace instead of as fast as possible",
    )  # fmt: skip
    group.add_argument("--start", type=float, metavar="S", help="start this far into a file")
    group.add_argument(
        "--device-blocksize", type=int, metavar="FRAMES",
        help="soundcard frames per callback (default 0: PortAudio chooses)",
    )  # fmt: skip
    group.add_argument(
        "--pattern", choices=["pull", "sub"],
        help="ZeroMQ pattern: pull (lossless, default) or sub (lossy fan-out)",
    )  # fmt: skip
    group.add_argument(
        "--wait", type=float, metavar="S", dest="wait_s",
        help="how long to wait for the DAQ's first frame (s, default 10)",
    )  # fmt: skip
    group.add_argument(
        "--curve-key", metavar="FILE",
        help="ZeroMQ CURVE: this receiver's secret key file (from `aemon keys`)",
    )  # fmt: skip
    group.add_argument(
        "--curve-server-key", metavar="FILE", help="ZeroMQ CURVE: the DAQ's public key file"
    )
    add_waveline_arguments(group)


def source_from_args(spec: str, args: argparse.Namespace, **overrides: Any) -> Source:
    """Build the source for ``spec`` from options added by :func:`add_source_arguments`.

    Args:
        spec: The SOURCE string.
        args: Parsed arguments; options the command did not add count as not given.
        **overrides: Keyword arguments of :func:`source_from_spec` that win over ``args``
            (e.g. ``duration_s``).
    """
    options: dict[str, Any] = {
        "sample_rate_hz": getattr(args, "rate", None),
        "channels": getattr(args, "channels", None),
        "dtype": getattr(args, "dtype", None),
        "volts_per_count": getattr(args, "volts_per_count", None),
        "realtime": bool(getattr(args, "realtime", False)),
        "start_s": getattr(args, "start", None),
        "device_blocksize": getattr(args, "device_blocksize", None),
        "pattern": getattr(args, "pattern", None),
        "wait_s": getattr(args, "wait_s", None),
        "curve_key": getattr(args, "curve_key", None),
        "curve_server_key": getattr(args, "curve_server_key", None),
        "device_settings": settings_from_args(args),
    }
    options.update(overrides)
    return source_from_spec(spec, **options)
