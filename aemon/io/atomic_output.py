"""Output files that appear whole or not at all: refuse to replace without permission, write
to a temporary name in the same directory, rename on success.

Example:
    >>> with atomic_output("events.csv", overwrite=False) as tmp:
    ...     write_event_csv(tmp, events)      # events.csv appears only if this succeeds
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from aemon.errors import ConfigError

logger = logging.getLogger(__name__)

TEMP_MARK = ".part-"
"""Infix of temporary output names: ``DIR/.NAME.part-PID``."""


def check_output(path: str | os.PathLike[str], *, overwrite: bool, what: str = "output") -> None:
    """Raise ConfigError if ``path`` exists (and ``overwrite`` is False) or cannot be made.

    Args:
        path: The output file or directory.
        overwrite: Allow replacing an existing file.
        what: What the output is, for the message (e.g. ``"event CSV"``).
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise ConfigError(f"{target}: {what} exists; choose another name or pass --overwrite")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(f"{target}: directory {parent} does not exist; create it first")


def partial_path(path: Path) -> Path:
    """Where a command's output ``path`` is written until it is complete (and where an
    interrupted one stays): ``run.h5`` -> ``run.partial.h5`` (docs/cli.md)."""
    return path.with_name(f"{path.stem}.partial{path.suffix}")


def temp_path(path: str | os.PathLike[str]) -> Path:
    """A temporary name beside ``path`` (same directory, so the rename is atomic)."""
    target = Path(path)
    return target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}")


def remove_quietly(path: str | os.PathLike[str]) -> None:
    """Remove a file or directory tree if it exists; log instead of raising."""
    p = Path(path)
    try:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()
    except OSError as exc:
        logger.warning("could not remove temporary %s: %s", p, exc)


@contextlib.contextmanager
def atomic_output(
    path: str | os.PathLike[str], *, overwrite: bool, what: str = "output"
) -> Iterator[Path]:
    """Yield a temporary path to write; rename it to ``path`` when the block succeeds.

    On any exception the temporary file (or directory) is removed and ``path`` is left as it
    was. An existing directory at ``path`` is replaced as a whole when ``overwrite`` is set.

    Raises:
        ConfigError: ``path`` exists and ``overwrite`` is False, or its directory is missing.
    """
    check_output(path, overwrite=overwrite, what=what)
    tmp = temp_path(path)
    remove_quietly(tmp)
    try:
        yield tmp
    except BaseException:
        remove_quietly(tmp)
        raise
    target = Path(path)
    if target.is_dir() and not target.is_symlink():
        remove_quietly(target)
    os.replace(tmp, target)
    logger.info("wrote %s", target)
