"""Stage samples for ``/raw`` one chunk per channel and write them as whole chunks.

Used by :class:`aemon.io.recording_writer.RecordingWriter`: a chunk is written once it fills
up; :meth:`RawStage.write_tail` writes the partly filled one (it is rewritten whole later),
which is what a flush needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import h5py
import numpy as np
import numpy.typing as npt

from aemon.io import schema


class RawStage:
    """The staging buffer in front of the ``/raw`` dataset.

    Args:
        raw: The resizable ``(channels, N)`` dataset.
        dtype: Sample dtype of the dataset.

    Attributes:
        columns: Columns appended so far (written or staged), zero fill included.
    """

    def __init__(self, raw: h5py.Dataset, dtype: np.dtype[np.generic]) -> None:
        self._raw = raw
        self._stage = np.zeros((raw.shape[0], schema.RAW_CHUNK_SAMPLES), dtype=dtype)
        self._base = 0  # raw column of self._stage[:, 0], a multiple of the chunk length
        self._fill = 0  # valid columns in the stage
        self.columns = 0

    def append(self, block: npt.NDArray[np.generic]) -> None:
        """Copy ``block`` into the stage, writing every chunk that fills up."""
        n, done = block.shape[1], 0
        while done < n:
            k = min(schema.RAW_CHUNK_SAMPLES - self._fill, n - done)
            self._stage[:, self._fill : self._fill + k] = block[:, done : done + k]
            self._advance(k)
            done += k

    def append_zeros(self, n: int) -> None:
        """Append ``n`` zero columns, one chunk at a time."""
        while n > 0:
            k = min(schema.RAW_CHUNK_SAMPLES - self._fill, n)
            self._stage[:, self._fill : self._fill + k] = 0
            self._advance(k)
            n -= k

    def write_tail(self) -> None:
        """Write the partly filled chunk (rewritten whole once it fills up)."""
        if self._fill and self._raw.shape[1] < self.columns:
            self._write(self._fill)

    def tail(self) -> npt.NDArray[np.generic]:
        """A copy of the partly filled chunk: the columns ``columns - k .. columns``."""
        return self._stage[:, : self._fill].copy()

    def _advance(self, k: int) -> None:
        self._fill += k
        self.columns += k
        if self._fill == schema.RAW_CHUNK_SAMPLES:
            self._write(schema.RAW_CHUNK_SAMPLES)
            self._base += schema.RAW_CHUNK_SAMPLES
            self._fill = 0

    def _write(self, columns: int) -> None:
        end = self._base + columns
        if self._raw.shape[1] < end:
            self._raw.resize(end, axis=1)
        self._raw[:, self._base : end] = self._stage[:, :columns]


def uncovered(start: int, stop: int, covered: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Parts of ``[start, stop)`` not inside any ``[lo, hi)`` of ``covered``."""
    parts: list[tuple[int, int]] = []
    pos = start
    for lo, hi in sorted(covered):
        if hi <= pos:
            continue
        if lo >= stop:
            break
        if lo > pos:
            parts.append((pos, lo))
        pos = max(pos, hi)
    if pos < stop:
        parts.append((pos, stop))
    return parts


def check_block(
    samples: npt.NDArray[np.generic], channels: int, dtype: np.dtype[np.generic]
) -> npt.NDArray[np.generic]:
    """``samples`` as an array, after checking it fits a recording of ``channels`` × ``dtype``.

    Raises:
        ValueError: Not a ``(channels, n)`` block.
        TypeError: A non-int16 block for int16, or a non-float block for float32.
    """
    block = np.asarray(samples)
    if block.ndim != 2 or block.shape[0] != channels:
        raise ValueError(f"expected a ({channels}, n) block, got shape {block.shape}")
    if dtype == np.int16:
        if block.dtype != np.int16:
            raise TypeError(f"int16 recording needs int16 blocks, got {block.dtype}")
    elif block.dtype.kind != "f":
        raise TypeError(f"float32 recording needs float blocks (volts), got {block.dtype}")
    return block
