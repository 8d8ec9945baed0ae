"""Argument checks shared by the subcommands, with one wording for every message.

A rejected value always reads ``FLAG VALUE is invalid: it must be RULE; use e.g. FLAG EXAMPLE``
and reaches the user as ``aemon: error: ...`` with exit status 2.
"""

from __future__ import annotations

import argparse
import math

from aemon.errors import ConfigError

DETECTOR_ONLY_FLAGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "x_noise": ("--x-noise", ("threshold", "cascade")),
    "probability": ("--probability", ("cascade",)),
}
"""Option dest → (flag, the detectors that use it); others refuse it rather than ignore it."""


def invalid(flag: str, value: object, rule: str, example: str) -> ConfigError:
    """The one message for a value a flag cannot take."""
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return ConfigError(f"{flag} {shown} is invalid: it must be {rule}; use e.g. {flag} {example}")


def positive(flag: str, value: float | None, unit: str, example: str) -> None:
    """Refuse a value that is not a finite number above 0 (None passes: not given)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise invalid(flag, value, f"a positive number of {unit}", example)


def at_least(flag: str, value: int | None, low: int, example: str) -> None:
    """Refuse an integer below ``low`` (None passes)."""
    if value is not None and value < low:
        raise invalid(flag, value, f"a whole number of at least {low}", example)


def fraction(flag: str, value: float | None, example: str) -> None:
    """Refuse a value outside 0..1 (None passes)."""
    if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise invalid(flag, value, "a number from 0 to 1", example)


def check_detector_flags(args: argparse.Namespace) -> None:
    """Refuse detector options the chosen ``--detector`` would silently ignore, and check ranges.

    Raises:
        ConfigError: e.g. ``--x-noise`` with ``--detector nn``.
    """
    detector = getattr(args, "detector", "nn")
    for dest, (flag, users) in DETECTOR_ONLY_FLAGS.items():
        if getattr(args, dest, None) is not None and detector not in users:
            raise ConfigError(
                f"{flag} has no effect with --detector {detector}; drop it or use "
                f"--detector {' or '.join(users)}"
            )
    threshold = getattr(args, "threshold", None)
    if detector == "nn":
        fraction("--threshold", threshold, "0.5")
    elif threshold is not None and not math.isfinite(threshold):
        raise invalid("--threshold", threshold, "a level in dBAE", "40")
    positive("--x-noise", getattr(args, "x_noise", None), "noise RMS multiples", "5")
    fraction("--probability", getattr(args, "probability", None), "0.5")
    at_least("--threads", getattr(args, "threads", None), 1, "2")
