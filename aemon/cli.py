"""The ``aemon`` command line.

Subcommands are discovered through the ``aemon.commands`` entry-point group, so modules in
``aemon.drivers`` and ``aemon.gui`` can add commands without the core importing them. Each
entry point names a ``register(subparsers)`` function that adds one subparser and sets
``func`` to a callable taking the parsed ``argparse.Namespace`` and returning an exit code.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from aemon import __version__
from aemon.errors import AemonError

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="aemon",
        description="Real-time acoustic-emission monitor: detect crack bursts live, record "
        "to HDF5, replay recordings and retrain the detector.",
    )
    parser.add_argument("--version", action="version", version=f"aemon {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for entry in sorted(entry_points(group="aemon.commands"), key=lambda e: e.name):
        try:
            register = entry.load()
        except ImportError as exc:  # an optional extra (e.g. gui) is not installed
            logger.debug("command %s unavailable: %s", entry.name, exc)
            continue
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except AemonError as exc:
        print(f"aemon: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aemon: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
