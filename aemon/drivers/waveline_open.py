"""``linwave://HOST[:PORT]`` and ``spotwave://PORT`` → a WaveLine source (not yet opened)."""

from __future__ import annotations

from dataclasses import replace

from aemon.drivers.waveline_settings import WaveLineSettings
from aemon.errors import ConfigError
from aemon.stream.source import Source

DEFAULT_CONNECT_TIMEOUT_S = 5.0


def parse_linwave(spec: str) -> tuple[str, int]:
    """``linwave://HOST[:PORT]`` → ``(host, control port)``; the port defaults to 5432."""
    from aemon.drivers.linwave_source import LINWAVE_PORT

    rest = spec.removeprefix("linwave://").rstrip("/")
    host, sep, port = rest.rpartition(":")
    if not sep:
        host, port = rest, str(LINWAVE_PORT)
    if not host or not port.isdigit() or not 0 < int(port) < 65534:
        raise ConfigError(
            f"{spec}: expected linwave://HOST or linwave://HOST:PORT, e.g. linwave://192.168.0.100"
        )
    return host, int(port)


def open_waveline(
    spec: str,
    settings: WaveLineSettings | None,
    rate_hz: float | None,
    channels: int | None,
    duration_s: float | None,
    wait_s: float | None,
) -> Source:
    """The source a ``linwave://`` or ``spotwave://`` string names.

    Args:
        spec: The SOURCE string.
        settings: From ``--device-config`` and the device flags; None for the defaults.
        rate_hz: ``--rate``: the device rate wanted (clock / a whole decimation).
        channels: ``--channels N``: stream the first N channels.
        duration_s: Stop after this much signal (s).
        wait_s: ``--wait``: how long to wait for the device to answer (s, default 5).
    """
    settings = settings or WaveLineSettings()
    if rate_hz is not None:
        settings = replace(settings, rate_hz=rate_hz)
    timeout = DEFAULT_CONNECT_TIMEOUT_S if wait_s is None else wait_s
    if timeout <= 0:
        raise ConfigError(f"--wait must be positive, not {timeout:g}")
    if spec.startswith("spotwave://"):
        from aemon.drivers.spotwave_source import SpotWaveSource

        port = spec.removeprefix("spotwave://")
        if not port:
            raise ConfigError(f"{spec}: expected spotwave://PORT, e.g. spotwave:///dev/ttyACM0")
        return SpotWaveSource(
            port, settings=settings, channel_count=channels, duration_s=duration_s,
            connect_timeout_s=timeout,
        )  # fmt: skip
    from aemon.drivers.linwave_source import LinWaveSource

    host, port_number = parse_linwave(spec)
    return LinWaveSource(
        host, port=port_number, settings=settings, channel_count=channels,
        duration_s=duration_s, connect_timeout_s=timeout,
    )  # fmt: skip
