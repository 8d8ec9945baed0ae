"""A reserve file that keeps some disk space free for closing a recording when the disk fills.

When the disk is full, HDF5 cannot even write the metadata it needs to close a file: the
file is left marked "open for writing" with a half-written tail. The recording writer
therefore allocates a small file next to the recording when it starts and deletes it when a
write fails for lack of space; the space it frees is enough to truncate the recording to its
last consistent flush, mark it as closed early and close it.
"""

from __future__ import annotations

import errno
import logging
import os

logger = logging.getLogger(__name__)

RESERVE_SUFFIX = ".reserve"
"""The reserve file is the recording's path plus this suffix."""

MIN_RESERVE_BYTES = 1 << 20
"""Reserve for the metadata of the close alone (bytes)."""

MAX_RESERVE_BYTES = 64 << 20
"""Upper bound of the reserve, however many channels (bytes)."""


def reserve_bytes(channels: int, chunk_bytes: int) -> int:
    """Reserve size for a recording of ``channels`` whose chunks are ``chunk_bytes`` each.

    One uncompressed chunk per channel (the staged tail HDF5 may still hold in its cache)
    plus :data:`MIN_RESERVE_BYTES`, at most :data:`MAX_RESERVE_BYTES`.
    """
    return min(MIN_RESERVE_BYTES + channels * chunk_bytes, MAX_RESERVE_BYTES)


def is_disk_full(error: BaseException) -> bool:
    """True if ``error`` (an OSError, or the RuntimeError h5py raises) means "no space left"."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(error)
    return "No space left on device" in text or "errno = 28" in text or "Disk quota" in text


class DiskReserve:
    """A file of ``size`` bytes at ``path`` holding disk space until :meth:`release`.

    Args:
        path: Where to put the reserve file (next to the recording, same file system).
        size: Bytes to hold.

    A reserve that cannot be created (the disk is already almost full, or the file system
    cannot allocate) is logged and left out: the recording still works, but a disk-full
    error may then leave the file for ``aemon repair``.
    """

    def __init__(self, path: str, size: int) -> None:
        self.path = path
        self.size = 0
        try:
            fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        except OSError as exc:
            logger.warning("no disk reserve for the recording (%s): %s", path, exc.strerror)
            return
        try:
            _allocate(fd, size)
            self.size = size
        except OSError as exc:
            logger.warning(
                "cannot reserve %d bytes next to the recording (%s); a full disk may leave "
                "the file for `aemon repair`",
                size,
                exc.strerror,
            )
            os.close(fd)
            fd = -1
            self.release()
        finally:
            if fd >= 0:
                os.close(fd)

    def release(self) -> bool:
        """Delete the reserve file (idempotent); True if it freed space."""
        freed = self.size > 0
        self.size = 0
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.warning("cannot delete the disk reserve %s: %s", self.path, exc.strerror)
            return False
        return freed


def _allocate(fd: int, size: int) -> None:
    """Really allocate ``size`` bytes (not a sparse file)."""
    try:
        os.posix_fallocate(fd, 0, size)
        return
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
    block = b"\0" * (1 << 20)
    written = 0
    while written < size:
        written += os.write(fd, block[: size - written])
    os.fsync(fd)
