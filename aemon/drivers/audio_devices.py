"""Audio input devices as PortAudio lists them, and the ``aemon devices`` command.

``sounddevice`` is imported only when needed, so the rest of aemon works on a machine without
PortAudio; a missing library becomes a one-line :class:`~aemon.errors.SourceError`.
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import NamedTuple

from aemon.errors import SourceError

logger = logging.getLogger(__name__)

PORTAUDIO_MISSING = (
    "soundcard capture needs the PortAudio library, which was not found; install it "
    "(apt-get install libportaudio2) or use a ZeroMQ or file SOURCE"
)


def import_sounddevice() -> ModuleType:
    """Import ``sounddevice``, turning a missing PortAudio into a one-line SourceError."""
    try:
        import sounddevice
    except OSError:
        raise SourceError(PORTAUDIO_MISSING) from None
    except ImportError as exc:
        raise SourceError(
            f"soundcard capture needs the sounddevice package ({exc}); pip install sounddevice"
        ) from None
    return sounddevice


class InputDevice(NamedTuple):
    """An audio input as PortAudio lists it.

    Attributes:
        index: PortAudio device index (use as ``sound:INDEX``).
        name: Device name (``sound:NAME`` matches substrings of it).
        hostapi: Host API name, e.g. ``"ALSA"``.
        max_input_channels: Most input channels the device offers.
        default_samplerate_hz: The device's default sample rate (Hz).
    """

    index: int  # type: ignore[assignment]  # shadows tuple.index, by design
    name: str
    hostapi: str
    max_input_channels: int
    default_samplerate_hz: float


def list_input_devices() -> list[InputDevice]:
    """Every device with at least one input channel, in PortAudio order."""
    sd = import_sounddevice()
    hostapis = sd.query_hostapis()
    return [
        InputDevice(
            int(dev["index"]),
            str(dev["name"]),
            str(hostapis[dev["hostapi"]]["name"]),
            int(dev["max_input_channels"]),
            float(dev["default_samplerate"]),
        )
        for dev in sd.query_devices()
        if int(dev["max_input_channels"]) > 0
    ]


def default_input_index() -> int | None:
    """PortAudio's default input device index, or None if there is none."""
    sd = import_sounddevice()
    try:
        index = int(sd.query_hostapis(sd.default.hostapi)["default_input_device"])
        device = sd.default.device[0]
        if device is not None and int(device) >= 0:
            index = int(device)
    except (sd.PortAudioError, TypeError, ValueError):
        return None
    return index if index >= 0 else None


def find_input_device(device: str | int | None) -> InputDevice:
    """Resolve ``device`` (None = default, an index, or name substrings) to one input.

    Names match like ``sounddevice`` matches them: the space-separated parts of ``device``
    must appear, in order and ignoring case, in ``"NAME, HOSTAPI"``; an exact name wins.

    Raises:
        SourceError: No input device at all, no match, or an ambiguous name.
    """
    devices = list_input_devices()
    if not devices:
        raise SourceError(
            "no audio input device found; connect a soundcard (check it with `arecord -l`) "
            "or use a ZeroMQ or file SOURCE"
        )
    if isinstance(device, str) and device.strip().isdigit():
        device = int(device)
    if device is None or device == "":
        index = default_input_index()
        found = [d for d in devices if d.index == index]
        if not found:
            raise SourceError(
                "no default audio input device; choose one with sound:NAME or sound:INDEX "
                "(`aemon devices` lists them)"
            )
        return found[0]
    if isinstance(device, int):
        found = [d for d in devices if d.index == device]
        if not found:
            raise SourceError(
                f"no audio input device with index {device}; `aemon devices` lists them"
            )
        return found[0]
    query = device.lower()
    matches, exact = [], []
    for dev in devices:
        full = f"{dev.name}, {dev.hostapi}".lower()
        pos = 0
        for part in query.split():
            pos = full.find(part, pos)
            if pos < 0:
                break
            pos += len(part)
        else:
            matches.append(dev)
            if query in (dev.name.lower(), full):
                exact.append(dev)
    if len(matches) == 1:
        return matches[0]
    if len(exact) == 1:
        return exact[0]
    if not matches:
        raise SourceError(f"no audio input device matches {device!r}; `aemon devices` lists them")
    names = ", ".join(f"[{d.index}] {d.name}" for d in matches)
    raise SourceError(
        f"audio input {device!r} is ambiguous ({names}); give the full name or sound:INDEX"
    )
