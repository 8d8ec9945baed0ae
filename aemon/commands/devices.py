"""``aemon devices``: list the audio inputs usable as ``sound:DEVICE``."""

from __future__ import annotations

import argparse
import json

from aemon.drivers.audio_devices import default_input_index, list_input_devices


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon devices``."""
    parser = subparsers.add_parser(
        "devices",
        help="list audio input devices usable as sound:DEVICE",
        description="List the audio inputs PortAudio sees. Use one as SOURCE with "
        "sound:INDEX or sound:NAME (any unique part of the name); * marks the default. "
        "No device is an answer, not an error: the exit status is 0 either way.",
        epilog="examples:\n  aemon devices\n  aemon devices --json\n"
        "  aemon record sound:1 -o lab.h5 --rate 192000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list instead")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    """Print the input devices (exit status 0, also when there are none)."""
    devices = list_input_devices()
    if getattr(args, "json", False):
        print(json.dumps([d._asdict() for d in devices]))
        return 0
    if not devices:
        print("no audio input devices found (check the soundcard with `arecord -l`)")
        return 0
    default = default_input_index()
    width = max(len(d.name) for d in devices)
    print(f"    {'index':>5}  {'name':<{width}}  {'host API':<10}  {'inputs':>6}  default rate")
    for d in devices:
        mark = "*" if d.index == default else " "
        print(
            f"  {mark} {d.index:>5}  {d.name:<{width}}  {d.hostapi:<10}  "
            f"{d.max_input_channels:>6}  {d.default_samplerate_hz:g} Hz"
        )
    return 0
