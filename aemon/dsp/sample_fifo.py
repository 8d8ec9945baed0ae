"""A growable FIFO of multichannel float32 samples (the preprocessing's pending samples)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]


class SampleFifo:
    """A growable ``(channels, n)`` float32 FIFO: :attr:`view` holds the samples in order.

    Args:
        channels: Rows.
        capacity: Samples it holds before it grows (at least 16).
    """

    def __init__(self, channels: int, capacity: int) -> None:
        self.data = np.empty((channels, max(capacity, 16)), np.float32)
        self.start = self.stop = 0

    @property
    def size(self) -> int:
        """Samples held."""
        return self.stop - self.start

    @property
    def view(self) -> F32:
        """The samples held, oldest first (a view: valid until the next append)."""
        return self.data[:, self.start : self.stop]

    def clear(self) -> None:
        """Forget every sample."""
        self.start = self.stop = 0

    def append(self, block: npt.NDArray[np.floating]) -> None:
        """Add ``block`` (``(channels, n)``) after the samples held."""
        n, size = block.shape[1], self.size
        if self.stop + n > self.data.shape[1]:  # move to the front, grow if still too small
            target = self.data
            if size + n > self.data.shape[1]:
                target = np.empty((self.data.shape[0], 2 * (size + n)), np.float32)
            target[:, :size] = self.data[:, self.start : self.stop]
            self.data, self.start, self.stop = target, 0, size
        self.data[:, self.stop : self.stop + n] = block
        self.stop += n

    def drop(self, n: int) -> None:
        """Forget the oldest ``n`` samples."""
        self.start += n

    def __getstate__(self) -> dict[str, object]:
        """Pickled and copied without the free room (a state handed to another process is
        a few hundred kB instead of the 8 MB it grows to)."""
        return {"data": self.view.copy(), "start": 0, "stop": self.size}
