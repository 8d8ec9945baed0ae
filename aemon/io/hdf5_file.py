"""Open HDF5 recordings read-only, also ones a writer has open or was killed with, and
read the superblock's "open for writing" flags (which ``aemon repair`` clears)."""

from __future__ import annotations

import logging
import os

import h5py

from aemon.errors import FileFormatError

logger = logging.getLogger(__name__)


def open_hdf5(path: str) -> h5py.File:
    """Open ``path`` read-only, in SWMR mode when the file allows it."""
    if not os.path.exists(path):
        raise FileFormatError(f"{path}: no such file; check the path")
    if os.path.isdir(path):
        raise FileFormatError(f"{path}: is a directory, not a recording; give an .h5 file")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot be read ({exc}); check permissions") from None
    if not is_hdf5:
        raise FileFormatError(
            f"{path}: not an HDF5 file (no HDF5 signature); give an aemon .h5 recording"
        )
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    # A file a writer has open (or had open when it died) refuses a plain open; SWMR read
    # mode opens it. SWMR reads retry damaged metadata for a long time, so go there only
    # when the superblock says so and the file is as long as the superblock says.
    superblock = read_superblock(path)
    if superblock is None or not superblock[0] & WRITE_FLAGS:
        raise FileFormatError(
            f"{path}: HDF5 file is truncated or corrupt ({reason}); restore it from a backup"
        )
    size, eof = os.path.getsize(path), superblock[1]
    if size < eof:
        raise FileFormatError(
            f"{path}: file is truncated ({size:,} of {eof:,} bytes); copy it again or restore "
            "it from a backup"
        )
    try:
        return h5py.File(path, "r", swmr=True)
    except OSError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FileFormatError(
            f"{path}: cannot open the recording while it is written ({reason}); if no "
            "writer is running, the file is corrupt"
        ) from None


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
WRITE_FLAGS = 0x01 | 0x04  # superblock v2/v3 file consistency flags: write, SWMR write


def read_superblock(path: str) -> tuple[int, int] | None:
    """``(consistency flags, end-of-file address)`` of a version 2/3 superblock at byte 0.

    None for other superblock versions or positions (aemon writes version 3 at byte 0).
    """
    with open(path, "rb") as f:
        head = f.read(64)
    if not head.startswith(HDF5_SIGNATURE) or len(head) < 12 or head[8] not in (2, 3):
        return None
    offset_size, flags = head[9], head[11]
    eof_at = 12 + 2 * offset_size
    if offset_size not in (2, 4, 8) or len(head) < eof_at + offset_size:
        return None
    return flags, int.from_bytes(head[eof_at : eof_at + offset_size], "little")
