"""Atomic outputs and the checks every output flag shares.

An output is written under ``NAME.partial.EXT`` in its own directory and renamed to ``NAME.EXT``
when the command succeeds, so a failed or interrupted command never leaves a half-written file
under the real name and never touches an existing one. What happens to the partial file when
the command does not succeed depends on what it holds:

* nothing worth keeping (a failure before any result): it is removed;
* a result cut short (``detect`` interrupted, a recording whose source failed): it stays as
  ``NAME.partial.EXT`` and a message on stderr says so.

Example:
    >>> with AtomicOutput(Path("events.csv"), overwrite=False, keep_on_interrupt=True) as out:
    ...     write_everything(out.partial)
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from aemon.errors import ConfigError
from aemon.io.atomic_output import partial_path

__all__ = ["AtomicOutput", "check_output", "partial_path", "write_text_atomic"]

logger = logging.getLogger(__name__)


def check_output(path: Path, *, overwrite: bool, flag: str = "--out") -> None:
    """Refuse an output that exists (without ``--overwrite``) or whose directory is missing.

    Raises:
        ConfigError: One line saying what is wrong and which flag fixes it.
    """
    if path.is_dir():
        raise ConfigError(f"{flag} {path} is a directory; give a file name, e.g. {path}/out")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(
            f"{flag} {path}: directory {parent} does not exist; create it (mkdir -p {parent}) "
            f"or choose another {flag}"
        )
    if not os.access(parent, os.W_OK):
        raise ConfigError(f"{flag} {path}: directory {parent} is not writable; choose another")
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} already exists; choose another {flag} or add --overwrite")


class AtomicOutput:
    """Write to ``NAME.partial.EXT``, rename to ``NAME.EXT`` on success; a context manager.

    Args:
        path: The final output path.
        overwrite: Replace an existing ``path`` (the old file stays until the rename).
        flag: The option that named ``path``, for messages.
        keep_on_interrupt: Keep the partial file when the command is interrupted (Ctrl-C,
            SIGTERM, SIGHUP arrive as KeyboardInterrupt).
        keep_if: Called when the command fails: True keeps the partial file (it holds data
            worth having, e.g. recorded samples). None: remove it.
        protect_partial: Refuse to start when ``NAME.partial.EXT`` exists (it may hold data
            of a crashed run) unless ``overwrite``.

    Attributes:
        partial: The path to write to while the command runs.
        kept: The partial file left behind after a failure or interruption, else None.
        incomplete: Set it when the output was cut short although the command goes on to
            the end (e.g. a full disk under ``monitor --csv``): the partial file is kept.
    """

    def __init__(
        self,
        path: Path,
        *,
        overwrite: bool,
        flag: str = "--out",
        keep_on_interrupt: bool = False,
        keep_if: Callable[[], bool] | None = None,
        protect_partial: bool = False,
    ) -> None:
        check_output(path, overwrite=overwrite, flag=flag)
        self.flag = flag
        self.path = path
        self.partial = partial_path(path)
        if self.partial.exists():
            if protect_partial and not overwrite:
                raise ConfigError(
                    f"{self.partial} exists (left by an interrupted run); move it away or add "
                    "--overwrite"
                )
            self.partial.unlink()
        self.keep_on_interrupt = keep_on_interrupt
        self.keep_if = keep_if
        self.kept: Path | None = None
        self.incomplete = False

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.partial.exists():
            return
        if exc_type is None and not self.incomplete:
            os.replace(self.partial, self.path)
            return
        interrupted = exc_type is not None and issubclass(exc_type, KeyboardInterrupt)
        keep = self.incomplete or (self.keep_on_interrupt if interrupted else False)
        if not keep and self.keep_if is not None:
            try:
                keep = bool(self.keep_if())
            except Exception:  # deciding must not hide the original error
                logger.exception("cannot tell whether %s holds data", self.partial)
                keep = True
        if not keep:
            self.partial.unlink()
            return
        self.kept = self.partial
        kept = (
            f"the incomplete result is kept as {self.partial} "
            f"({self.path} {'was left as it was' if self.path.exists() else 'not written'})"
        )
        if interrupted:  # the CLI prints it as its one "aemon: interrupted; ..." line
            said = str(exc) if exc is not None and exc.args else "interrupted"
            raise KeyboardInterrupt(f"{said}; {kept}") from None
        why = f"{self.flag} was cut short" if self.incomplete else "the command failed"
        print(f"aemon: {why}; {kept}", file=sys.stderr)


def write_text_atomic(path: Path, text: str) -> None:
    """Write a small text file (a JSON summary) under a temporary name, then rename it."""
    partial = partial_path(path)
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {path}: {exc.strerror}; check the directory") from None
