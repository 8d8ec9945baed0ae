"""What live commands (``record``, ``monitor``) share: stop signals, status line, heartbeat.

* :func:`stop_on_signals`: Ctrl-C, SIGTERM and SIGHUP (a closed terminal) all ask the
  command to stop and close its files; a second signal interrupts at once.
* :func:`fit_fields`: a status line that fits the terminal, dropping the least important
  fields first.
* :class:`StatusPrinter`: on a terminal, one line rewritten in place; without one, a plain
  line every :data:`PLAIN_INTERVAL_S`; nothing with ``--quiet``.
* :func:`run_live`: the wait loop with the heartbeat: a source that delivers nothing for
  ``--stall-warning`` seconds shows ``no data for N s``; after ``--idle-timeout`` seconds the
  command ends as if stopped, and says why. It also returns the allocator's free memory to
  the system every 10 s (:mod:`aemon.commands._heap`), so the resident size stays flat.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TextIO

from aemon.commands._checks import positive
from aemon.commands._heap import HeapTrimmer

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals that end a live command cleanly (files closed, summary printed)."""
DEFAULT_STALL_S = 5.0
"""Seconds without samples after which the status says ``no data for N s``."""
DEFAULT_IDLE_TIMEOUT_S = 60.0
"""Seconds without samples after which a live command ends by itself."""
PLAIN_INTERVAL_S = 10.0
"""Seconds between two plain status lines when stderr is not a terminal."""
TTY_INTERVAL_S = 0.5
"""Seconds between two updates of the in-place status line."""

Fields = Sequence[tuple[int, str]]
"""Status fields as ``(priority, text)``; 0 is kept longest, higher numbers are dropped first."""

ENDED_BY_SOURCE = "the source ended"
ENDED_BY_SIGNAL = "stopped by a signal"
ENDED_IDLE = "idle timeout"


def add_heartbeat_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--stall-warning`` and ``--idle-timeout`` (live sources only)."""
    parser.add_argument(
        "--stall-warning", type=float, default=DEFAULT_STALL_S, metavar="S",
        help=f"say 'no data for N s' after S seconds without samples (default {DEFAULT_STALL_S:g})",
    )  # fmt: skip
    parser.add_argument(
        "--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT_S, metavar="S",
        help="end cleanly after S seconds without samples from a DAQ or soundcard "
        f"(default {DEFAULT_IDLE_TIMEOUT_S:g}; 0 = wait forever)",
    )  # fmt: skip


def check_heartbeat_arguments(args: argparse.Namespace) -> None:
    """Validate ``--stall-warning`` and ``--idle-timeout``."""
    positive("--stall-warning", args.stall_warning, "seconds", "5")
    if args.idle_timeout != 0:
        positive("--idle-timeout", args.idle_timeout, "seconds (or 0 to wait forever)", "60")


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by Ctrl-C, SIGTERM or SIGHUP while the block runs.

    A second signal raises KeyboardInterrupt, for a user who does not want to wait for the
    files to close. The previous handlers are restored afterwards.
    """
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def fit_fields(fields: Fields, width: int) -> str:
    """Join the fields with two spaces, dropping the least important until it fits ``width``."""
    kept = list(fields)
    while kept:
        line = "  ".join(text for _, text in kept)
        if len(line) <= width or len(kept) == 1:
            return line[:width]
        drop = max(range(len(kept)), key=lambda i: (kept[i][0], i))
        del kept[drop]
    return ""


class StatusPrinter:
    """Prints status lines: in place on a terminal, plainly every 10 s otherwise.

    Args:
        quiet: Print nothing.
        stream: Where to print (stderr).
    """

    def __init__(self, *, quiet: bool, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self._last = -float("inf")
        self._in_place = False
        self.lock = threading.Lock()

    @property
    def width(self) -> int:
        """Columns available for the status line (80 when unknown)."""
        return max(shutil.get_terminal_size((80, 24)).columns - 1, 20)

    def show(self, fields: Fields, *, force: bool = False) -> None:
        """Print the status if it is due (or ``force``)."""
        now = time.monotonic()
        interval = TTY_INTERVAL_S if self.tty else PLAIN_INTERVAL_S
        if self.quiet or (not force and now - self._last < interval):
            return
        self._last = now
        line = fit_fields(fields, self.width)
        with self.lock:
            if self.tty:
                self.stream.write("\r" + line.ljust(self.width))
                self._in_place = True
            else:
                self.stream.write(line + "\n")
            self.stream.flush()

    def message(self, text: str) -> None:
        """Print a line of its own (clears the in-place status line first)."""
        with self.lock:
            self._clear()
            self.stream.write(text + "\n")
            self.stream.flush()

    def clear(self) -> None:
        """Blank the in-place status line, so other output (events on stdout) starts clean."""
        with self.lock:
            self._clear()
            self.stream.flush()

    def _clear(self) -> None:
        if self._in_place:
            self.stream.write("\r" + " " * self.width + "\r")
            self._in_place = False

    def close(self) -> None:
        """End the in-place line so the next output starts on a fresh one."""
        with self.lock:
            if self._in_place:
                self.stream.write("\n")
                self.stream.flush()
                self._in_place = False


def run_live(
    wait: Callable[[float], bool],
    snapshot: Callable[[], tuple[int, list[tuple[int, str]]]],
    stop: threading.Event,
    printer: StatusPrinter,
    *,
    live: bool,
    stall_s: float = DEFAULT_STALL_S,
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
    on_status: Callable[[], None] | None = None,
) -> str:
    """Wait until the source ends, a stop signal arrives or a live source stays silent.

    Args:
        wait: ``wait(timeout_s)`` → True once the source has ended by itself.
        snapshot: Samples received so far and the status fields.
        stop: Set by :func:`stop_on_signals`.
        printer: Where the status goes.
        live: The source is a DAQ or soundcard (the heartbeat applies).
        stall_s: Silence (s) after which the status says ``no data for N s``.
        idle_timeout_s: Silence (s) after which the command ends; 0: never.
        on_status: Called about once a second (e.g. to publish the status).

    Returns:
        Why it ended: :data:`ENDED_BY_SOURCE`, :data:`ENDED_BY_SIGNAL` or :data:`ENDED_IDLE`.
    """
    last_samples, _ = snapshot()
    last_data = time.monotonic()
    heap = HeapTrimmer()  # long runs: give the allocator's free pages back (see _heap)
    warned = False
    last_status = 0.0
    while True:
        if stop.is_set():
            return ENDED_BY_SIGNAL
        if wait(0.2):
            return ENDED_BY_SOURCE
        now = time.monotonic()
        samples, fields = snapshot()
        if samples != last_samples:
            last_samples, last_data = samples, now
            if warned:
                printer.message("aemon: data is flowing again")
                warned = False
        silent = now - last_data
        if live and silent >= stall_s:
            fields = [(0, f"no data for {silent:.0f} s"), *fields]
            if not warned:
                warned = True
                printer.message(
                    f"aemon: warning: no data for {silent:.0f} s; is the DAQ running? (ending "
                    + (f"after {idle_timeout_s:g} s of silence)" if idle_timeout_s else "never)")
                )
            if idle_timeout_s and silent >= idle_timeout_s:
                printer.message(f"aemon: no data for {silent:.0f} s; ending (--idle-timeout)")
                return ENDED_IDLE
        printer.show(fields)
        heap.maybe_trim()
        if on_status is not None and now - last_status >= 1.0:
            on_status()
            last_status = now
