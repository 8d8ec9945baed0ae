"""Repair a recording whose writer was killed, so any HDF5 reader can open it.

A killed writer leaves the superblock's "open for writing" flags set: HDF5 refuses a plain
open (``file is already open for write``). :func:`repair_recording` refuses a file whose
writer is alive (it holds the :class:`aemon.io.writer_lock.WriterLock`; repairing under a
live writer would corrupt the finished file), then

1. checks the file is an aemon recording readable in SWMR mode, and reads how many samples
   its last flush made durable (``/status`` ``raw_samples``);
2. truncates the file to the end-of-file address of the superblock (bytes written after the
   last flush are not referenced by anything);
3. clears the flags, recomputing the superblock checksum (Jenkins lookup3, as HDF5 does);
4. opens the file normally, truncates ``/raw`` to the last flush, marks it repaired
   (``/status`` state 3, never "closed cleanly") with an ``/incidents`` row, and closes it.

The file is changed in place; only the superblock's flag byte and checksum, the length of
``/raw`` and two small tables are written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import NamedTuple

import h5py
import numpy as np

from aemon.errors import FileFormatError
from aemon.io import schema
from aemon.io.disk_reserve import RESERVE_SUFFIX
from aemon.io.hdf5_file import HDF5_SIGNATURE, WRITE_FLAGS
from aemon.io.recording_reader import RecordingReader
from aemon.io.writer_lock import is_being_written

logger = logging.getLogger(__name__)


class RepairResult(NamedTuple):
    """What :func:`repair_recording` did.

    Attributes:
        path: The file.
        cleared_flags: The superblock flags were set and are now cleared.
        samples: Samples per channel kept (as of the writer's last flush).
        dropped_bytes: Bytes cut from the end of the file.
    """

    path: str
    cleared_flags: bool
    samples: int
    dropped_bytes: int


def repair_recording(path: str) -> RepairResult:
    """Make the recording at ``path`` openable by any HDF5 reader (see the module doc).

    Raises:
        FileFormatError: Not an aemon recording, a superblock this tool cannot fix, or a
            file shorter than its superblock says (copied incompletely).
    """
    if is_being_written(path):
        raise FileFormatError(
            f"{path} is being written by a running aemon process (it holds the writer lock); "
            "stop that process (Ctrl-C) and it closes the file itself: repair is only for a "
            "file whose writer was killed"
        )
    superblock = _read_superblock_v2(path)
    flags = superblock[11]
    if not flags & WRITE_FLAGS:
        with RecordingReader(path) as reader:
            return RepairResult(path, False, reader.samples, 0)
    with RecordingReader(path) as reader:  # SWMR read: validates the layout
        durable = int(reader._ds[schema.STATUS][0]["raw_samples"])
        first_unrecorded = reader.sample_index(durable) if durable else reader.first_sample
    offset_size = superblock[9]
    eof_at = 12 + 2 * offset_size
    eof = int.from_bytes(superblock[eof_at : eof_at + offset_size], "little")
    size = os.path.getsize(path)
    if size < eof:
        raise FileFormatError(
            f"{path}: file is truncated ({size:,} of {eof:,} bytes); copy it again or restore it"
        )
    with open(path, "r+b") as f:
        f.truncate(eof)
        fixed = bytearray(superblock)
        fixed[11] = flags & ~WRITE_FLAGS & 0xFF
        end = 12 + 4 * offset_size
        fixed[end : end + 4] = lookup3(bytes(fixed[:end])).to_bytes(4, "little")
        f.seek(0)
        f.write(fixed[: end + 4])
        f.flush()
        os.fsync(f.fileno())
    try:
        with h5py.File(path, "r+") as h5:
            raw = h5[schema.RAW]
            if raw.shape[1] > durable:
                raw.resize(durable, axis=1)
            detail = (
                f"writer was killed; repaired by aemon repair, {durable} samples per channel "
                f"kept (the last flush), samples from index {first_unrecorded} on are lost"
            )
            if schema.INCIDENTS in h5:
                schema.append_rows(
                    h5[schema.INCIDENTS],
                    schema.incident_row("repaired", first_unrecorded, -1, detail),
                )
            h5[schema.STATUS][0] = np.array(
                (schema.STATE_REPAIRED, durable, time.time()), dtype=schema.STATUS_DTYPE
            )
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot be repaired ({exc}); restore it") from None
    with contextlib.suppress(FileNotFoundError):
        os.remove(path + RESERVE_SUFFIX)
    return RepairResult(path, True, durable, size - eof)


def _read_superblock_v2(path: str) -> bytes:
    """The version 2/3 superblock at byte 0, checksum verified."""
    with open(path, "rb") as f:
        head = f.read(64)
    if not head.startswith(HDF5_SIGNATURE) or len(head) < 12 or head[8] not in (2, 3):
        raise FileFormatError(
            f"{path}: not an HDF5 file with a version 2/3 superblock (aemon writes those); "
            "nothing to repair here"
        )
    offset_size = head[9]
    end = 12 + 4 * offset_size
    if offset_size not in (4, 8) or len(head) < end + 4:
        raise FileFormatError(f"{path}: unexpected superblock layout; cannot repair it")
    stored = int.from_bytes(head[end : end + 4], "little")
    if lookup3(head[:end]) != stored:
        raise FileFormatError(f"{path}: superblock checksum is wrong; the file is corrupt")
    return head[: end + 4]


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashlittle``, HDF5's metadata checksum (``H5_checksum_lookup3``)."""
    mask = 0xFFFFFFFF

    def rot(x: int, k: int) -> int:
        return ((x << k) | (x >> (32 - k))) & mask

    a = b = c = (0xDEADBEEF + len(data) + initval) & mask
    k, length = 0, len(data)
    while length > 12:
        a = (a + int.from_bytes(data[k : k + 4], "little")) & mask
        b = (b + int.from_bytes(data[k + 4 : k + 8], "little")) & mask
        c = (c + int.from_bytes(data[k + 8 : k + 12], "little")) & mask
        a = (a - c) & mask ^ rot(c, 4)
        c = (c + b) & mask
        b = (b - a) & mask ^ rot(a, 6)
        a = (a + c) & mask
        c = (c - b) & mask ^ rot(b, 8)
        b = (b + a) & mask
        a = (a - c) & mask ^ rot(c, 16)
        c = (c + b) & mask
        b = (b - a) & mask ^ rot(a, 19)
        a = (a + c) & mask
        c = (c - b) & mask ^ rot(b, 4)
        b = (b + a) & mask
        k += 12
        length -= 12
    if length == 0:
        return c
    tail = data[k:] + bytes(12 - length)
    a = (a + int.from_bytes(tail[0:4], "little")) & mask
    b = (b + int.from_bytes(tail[4:8], "little")) & mask
    c = (c + int.from_bytes(tail[8:12], "little")) & mask
    c = (c ^ b) - rot(b, 14) & mask
    a = (a ^ c) - rot(c, 11) & mask
    b = (b ^ a) - rot(a, 25) & mask
    c = (c ^ b) - rot(b, 16) & mask
    a = (a ^ c) - rot(c, 4) & mask
    b = (b ^ a) - rot(a, 14) & mask
    c = (c ^ b) - rot(b, 24) & mask
    return c
