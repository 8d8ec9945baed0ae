"""Create a recording file; close one early after a write error, keeping what the last flush
made durable.

Used by :meth:`aemon.io.recording_writer.RecordingWriter.abort`. The file is truncated to the
last successful flush (the chunk that flush wrote partly is written back from a copy, since
HDF5 may have begun to rewrite it), an ``/incidents`` row says why and where the recording
stopped, and ``/status`` says "closed early". If even that fails, the file is left for
``aemon repair``.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import h5py
import numpy as np
import numpy.typing as npt

from aemon.errors import ConfigError
from aemon.io import schema
from aemon.io.disk_reserve import is_disk_full

logger = logging.getLogger(__name__)

_Method = TypeVar("_Method", bound=Callable[..., Any])


def locked(method: _Method) -> _Method:
    """Run a writer method under the writer's lock."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return cast(_Method, wrapper)


def guarded(method: _Method) -> _Method:
    """Run a writing method under the lock; an I/O error closes the file early and raises
    :class:`RecordingError` (h5py reports failed writes as OSError or RuntimeError)."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self._check_open()
            try:
                return method(self, *args, **kwargs)
            except (OSError, RuntimeError) as exc:
                raise self._fail(exc) from exc

    return cast(_Method, wrapper)


def create_file(path: str, overwrite: bool) -> h5py.File:
    """Create ``path`` for writing with the latest HDF5 format (needed for SWMR).

    Raises:
        ConfigError: The file exists (without ``overwrite``) or cannot be created.
    """
    try:
        return h5py.File(path, "w" if overwrite else "x", libver="latest")
    except FileExistsError:
        raise ConfigError(
            f"{path}: file exists; choose another output path or allow overwriting"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create recording ({_first_line(exc)})") from None


def close_early(
    f: h5py.File,
    keep: int,
    tail: npt.NDArray[np.generic],
    incident: npt.NDArray[np.void],
) -> bool:
    """Truncate ``/raw`` to ``keep`` columns, mark the file closed early and close it.

    Args:
        f: The recording, open for writing (SWMR).
        keep: Columns of ``/raw`` durable as of the last flush.
        tail: The partly filled chunk of that flush: the columns ``keep - k .. keep``.
        incident: The ``/incidents`` row to append.

    Returns:
        True if the file was closed in a consistent state.
    """
    path = f.filename
    ok = True
    try:
        raw = f[schema.RAW]
        raw.resize(keep, axis=1)
        if tail.shape[1]:
            raw[:, keep - tail.shape[1] : keep] = tail
        segments = f[schema.SEGMENTS]
        rows = segments[()]
        kept = 1 + int(np.count_nonzero(rows["raw_start"][1:] < keep))
        if kept < len(rows):
            segments.resize(kept, axis=0)
        schema.append_rows(f[schema.INCIDENTS], incident)
        f[schema.STATUS][0] = np.array(
            (schema.STATE_ABORTED, keep, time.time()), dtype=schema.STATUS_DTYPE
        )
        f.flush()
    except Exception as exc:
        ok = False
        logger.error(
            "%s could not be closed cleanly after the error (%s); run `aemon repair %s`",
            path,
            _first_line(exc),
            path,
        )
    finally:
        try:
            f.close()
        except Exception as exc:
            ok = False
            logger.error("closing %s failed: %s", path, _first_line(exc))
    return ok


def failure_message(path: str, exc: BaseException, first_unrecorded: int) -> tuple[str, str]:
    """``(incident kind, one-line error)`` for a write of ``path`` that failed with ``exc``."""
    full = is_disk_full(exc)
    what = "disk full" if full else f"write failed ({_first_line(exc)})"
    fix = "free disk space" if full else "check the disk"
    message = (
        f"{path}: {what}: recording stopped; the file is closed and readable, samples from "
        f"index {first_unrecorded} on are not in it; {fix} and start a new recording"
    )
    return ("disk_full" if full else "writer_error"), message


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
