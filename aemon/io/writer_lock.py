"""Say, and check, that a process is writing a recording.

A :class:`WriterLock` is an exclusive *open file description* lock (Linux ``F_OFD_SETLK``) on
the whole recording file, held by :class:`aemon.io.recording_writer.RecordingWriter` from
creating the file until it is closed. The kernel drops it when the writer's process dies
(``kill -9`` and power cuts included), so a lock found on a file always means a live writer.
:func:`is_being_written` tests for it without taking it (``F_OFD_GETLK``): ``aemon repair``
refuses such a file and ``aemon info`` says "being written".

The lock is advisory and independent of HDF5's own ``flock()`` locks, so readers (SWMR
included) open the file as before. Where OFD locks do not exist (not Linux), nothing is
locked and :func:`is_being_written` answers False.
"""

from __future__ import annotations

import logging
import os
import struct

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no fcntl
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

_FLOCK = struct.Struct("hhqqi4x")
"""``struct flock`` of 64-bit Linux: ``l_type, l_whence, l_start, l_len, l_pid``."""

_SUPPORTED = hasattr(fcntl, "F_OFD_SETLK") and _FLOCK.size == 32  # False without fcntl


class WriterLock:
    """Hold the writer's lock on ``path`` until :meth:`release`.

    Args:
        path: The recording, already created.

    A file system without such locks (some network mounts) or any other failure only costs the
    protection: a warning says so and the recording goes on unlocked.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._fd: int | None = None
        if not _SUPPORTED:
            return
        fd = -1
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0))
        except OSError as exc:
            if fd >= 0:
                os.close(fd)
            logger.warning("cannot lock %s (%s): repair cannot tell it is written", path, exc)
            return
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def is_being_written(path: str | os.PathLike[str]) -> bool:
    """True if a live process holds the :class:`WriterLock` of ``path``."""
    if not _SUPPORTED:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        probe = _FLOCK.pack(fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0)
        held = _FLOCK.unpack(fcntl.fcntl(fd, fcntl.F_OFD_GETLK, probe))[0]
    except OSError as exc:  # a file system without locks: say nothing rather than guess
        logger.debug("cannot test the writer lock of %s: %s", path, exc)
        return False
    finally:
        os.close(fd)
    return bool(held != fcntl.F_UNLCK)
