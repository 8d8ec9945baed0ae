"""``aemon repair FILE``: make a recording whose writer was killed openable by any HDF5 reader."""

from __future__ import annotations

import argparse
import logging

logger = logging.getLogger(__name__)

_EXAMPLES = """\
examples:
  aemon repair run.h5          # after the recording process was killed (kill -9, power cut)
  aemon info run.h5            # then: closed cleanly NO (repaired), and the incident"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``repair`` subcommand."""
    parser = subparsers.add_parser(
        "repair",
        help="make a recording from a killed writer openable by any HDF5 reader",
        description="Clear the 'open for writing' flags a killed writer left in FILE, cut it "
        "to the writer's last flush and mark it as repaired (never 'closed cleanly'). A file an "
        "aemon process is still writing (it holds the writer lock) is refused. The file is "
        "changed in place.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="recording (.h5) written by aemon")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Repair ``args.file``; FileFormatError propagates to the CLI as one line."""
    from aemon.io.repair import repair_recording

    result = repair_recording(args.file)
    if not result.cleared_flags:
        print(f"{result.path}: not marked as open for writing; nothing to repair")
    else:
        print(
            f"{result.path}: repaired; {result.samples:,} samples per channel kept (the "
            f"writer's last flush), {result.dropped_bytes:,} unreferenced bytes cut"
        )
    return 0
