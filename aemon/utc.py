"""UTC timestamps as recordings and event files write them (ISO 8601 with a ``Z`` suffix)."""

from __future__ import annotations

from datetime import UTC, datetime

from aemon.errors import ConfigError

__all__ = ["format_utc", "parse_utc"]


def format_utc(when: datetime) -> str:
    """Format ``when`` as ISO 8601 UTC with microseconds and a ``Z`` suffix.

    A naive ``datetime`` is taken to be UTC already.
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(when: datetime | str | None) -> datetime | None:
    """A start time as an aware UTC datetime (ISO text with ``Z`` accepted); None stays None."""
    if when is None or when == "":
        return None
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(
                f"start time {when!r} is not ISO 8601 (YYYY-MM-DDTHH:MM:SSZ)"
            ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
