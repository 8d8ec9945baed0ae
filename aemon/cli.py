"""The ``aemon`` command line.

Subcommands are listed in :data:`aemon.commands.COMMANDS`, one module each; the parser is
built from that table, so the source tree alone says which commands exist.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from aemon import __version__
from aemon.commands import register_all
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
    register_all(subparsers)
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
