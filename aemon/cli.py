"""The ``aemon`` command line.

Subcommands are listed in :data:`aemon.commands.COMMANDS`, one module each; the parser is
built from that table, so the source tree alone says which commands exist.

The contract (``docs/cli.md``): every bad input or environment problem ends with one line
``aemon: error: WHAT; do THIS`` on stderr and exit status 2; an interrupted command (Ctrl-C,
SIGTERM, SIGHUP) exits 130 unless stopping is its normal end (``record``, ``monitor``).
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn

from aemon import __version__
from aemon.commands import register_all
from aemon.errors import AemonError

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

_EPILOG = """\
examples:
  aemon demo --headless                          # simulated DAQ + live detector, 30 s
  aemon sim --duration 10 -o test.h5             # a synthetic recording with ground truth
  aemon detect test.h5 -o events.csv             # events of a file
  aemon record tcp://127.0.0.1:5555 -o run.h5    # record a DAQ feed
run `aemon COMMAND --help` for a command's options and examples."""


_REST_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj):`~?([^`]+)`")
_REST_LITERAL = re.compile(r"``([^`]+)``")
_REST_STRONG = re.compile(r"\*\*([^*]+)\*\*")
_REST_BLOCK = re.compile(r"(?<=\S)::$", re.MULTILINE)


def plain_help(text: str) -> str:
    """Help text without reStructuredText markup (descriptions are often module docstrings):
    double back-quotes and roles such as ``:func:`` become single back-quotes, bold stars go,
    and a literal block's double colon becomes one colon."""
    text = _REST_BLOCK.sub(":", text)
    text = _REST_ROLE.sub(r"`\1`", text)
    text = _REST_LITERAL.sub(r"`\1`", text)
    return _REST_STRONG.sub(r"\1", text)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are the one-line ``aemon: error: ...; ...`` (exit 2)
    and whose help shows no reST markup (:func:`plain_help`)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"aemon: error: {message}; see `{self.prog} --help`\n")

    def format_help(self) -> str:
        return plain_help(super().format_help())


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Build the top-level parser: with only the subcommand that ``argv`` (the command line
    without the program name) runs when it names one (faster startup), else with every
    registered subcommand."""
    parser = _Parser(
        prog="aemon",
        description="Real-time acoustic-emission monitor: detect crack bursts live, record "
        "to HDF5, replay recordings and retrain the detector.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"aemon {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser]
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")  # type: ignore[assignment]
    words = argv or ()
    register_all(subparsers, only=next((w for w in words if not w.startswith("-")), None))
    return parser


def _subparser(parser: argparse.ArgumentParser, name: str | None) -> argparse.ArgumentParser:
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            return action.choices[name]
    return parser


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP interrupt like Ctrl-C, so every command cleans up the same way."""
    signals = (signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the process exit status."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the subcommand, whose usage is the one that helps
        _subparser(parser, getattr(args, "command", None)).error(
            f"unrecognized arguments: {' '.join(extra)}"
        )
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        print(
            "aemon: error: no COMMAND given; choose one above, e.g. `aemon demo --headless`",
            file=sys.stderr,
        )
        return EXIT_ERROR
    try:
        with _signals_interrupt():
            return int(args.func(args) or 0)
    except AemonError as exc:
        print(f"aemon: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # the environment: missing files, permissions, a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        print(
            f"aemon: error: {where}{exc.strerror or exc}; check the path, its permissions "
            "and the free space",
            file=sys.stderr,
        )
        return EXIT_ERROR
    except KeyboardInterrupt as exc:  # with a message when an output was kept (said once)
        print(f"aemon: {exc}" if exc.args else "aemon: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
