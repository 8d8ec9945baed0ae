"""Argument checks shared by the subcommands, with one wording for every message.

A rejected value always reads ``FLAG VALUE is invalid: it must be RULE; use e.g. FLAG EXAMPLE``
and reaches the user as ``aemon: error: ...`` with exit status 2.
"""

from __future__ import annotations

import argparse
import math

from aemon.detect.options import DetectOptions
from aemon.errors import ConfigError

DETECTOR_ONLY_FLAGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "probability": ("--probability", ("nn", "cascade")),
    "threshold_db": ("--threshold-db", ("threshold", "cascade")),
    "x_noise": ("--x-noise", ("threshold", "cascade")),
}
"""Option dest → (flag, the detectors that use it); others refuse it rather than ignore it."""

THRESHOLD_HELP = """\
--probability P is the probability 0..1 a hit must reach (nn) or a class must reach to
confirm a hit (cascade); default: the model card's. --threshold-db DB is the hit threshold in
dBAE at the sensor (threshold and cascade; default 40 dBAE). --threshold X, the older flag,
still works: it means --probability for nn and --threshold-db for threshold and cascade.
Options a detector does not use (--x-noise or --threshold-db with nn, --probability with
threshold) are refused, not ignored."""
"""What the threshold flags mean, for the epilog of every command that has them."""


def add_threshold_arguments(group: argparse._ActionsContainer) -> None:
    """Add ``--probability``, ``--threshold-db`` and the alias ``--threshold``."""
    group.add_argument(
        "--probability", type=float, metavar="P",
        help="nn: probability 0..1 a hit must reach; cascade: probability a class must "
        "reach to confirm a hit (default: the model card's)",
    )  # fmt: skip
    group.add_argument(
        "--threshold-db", type=float, metavar="DB",
        help="threshold/cascade: hit threshold in dBAE at the sensor (default 40)",
    )  # fmt: skip
    group.add_argument(
        "--threshold", type=float, metavar="X",
        help="alias: --probability for nn, --threshold-db for threshold/cascade",
    )  # fmt: skip


def resolve_threshold_alias(args: argparse.Namespace) -> None:
    """Move ``--threshold`` to the flag it stands for with this ``--detector``.

    Raises:
        ConfigError: ``--threshold`` together with the flag it stands for.
    """
    threshold = getattr(args, "threshold", None)
    if threshold is None:
        return
    dest = "probability" if getattr(args, "detector", "nn") == "nn" else "threshold_db"
    flag = DETECTOR_ONLY_FLAGS[dest][0]
    if dest == "probability":
        fraction("--threshold", threshold, "0.5")
    elif not math.isfinite(threshold):
        raise invalid("--threshold", threshold, "a level in dBAE", "40")
    if getattr(args, dest, None) is not None:
        raise ConfigError(
            f"--threshold means {flag} with --detector {args.detector}; give only {flag}"
        )
    setattr(args, dest, threshold)
    args.threshold = None


def threshold_arguments(args: argparse.Namespace) -> list[str]:
    """The threshold flags of ``args`` (alias resolved) as arguments for a child command."""
    resolve_threshold_alias(args)
    found: list[str] = []
    for dest in ("probability", "threshold_db"):
        value = getattr(args, dest, None)
        if value is not None:
            found += [DETECTOR_ONLY_FLAGS[dest][0], f"{value:g}"]
    return found


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
    """Resolve the ``--threshold`` alias, refuse detector options the chosen ``--detector``
    would silently ignore, and check ranges.

    Raises:
        ConfigError: e.g. ``--x-noise`` with ``--detector nn``.
    """
    resolve_threshold_alias(args)
    detector = getattr(args, "detector", "nn")
    for dest, (flag, users) in DETECTOR_ONLY_FLAGS.items():
        if getattr(args, dest, None) is not None and detector not in users:
            raise ConfigError(
                f"{flag} has no effect with --detector {detector}; drop it or use "
                f"--detector {' or '.join(users)}"
            )
    threshold_db = getattr(args, "threshold_db", None)
    if threshold_db is not None and not math.isfinite(threshold_db):
        raise invalid("--threshold-db", threshold_db, "a level in dBAE", "40")
    positive("--x-noise", getattr(args, "x_noise", None), "noise RMS multiples", "5")
    fraction("--probability", getattr(args, "probability", None), "0.5")
    at_least("--threads", getattr(args, "threads", None), 1, "2")


def detect_options(args: argparse.Namespace) -> DetectOptions:
    """The detector settings from parsed arguments (after :func:`check_detector_flags`)."""
    return DetectOptions(
        model=args.model,
        detector=args.detector,
        probability=args.probability,
        threshold_db=args.threshold_db,
        x_noise=args.x_noise,
        provider=args.provider,
        threads=args.threads,
        backend=getattr(args, "backend", "auto"),
    )
