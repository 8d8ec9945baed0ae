"""The live monitor's event CSV: never ahead of the recording, and a failure is reported, not
raised.

:class:`LiveEventCsv` is an :class:`aemon.io.event_csv.EventCsvWriter` for ``aemon monitor
--csv``:

* While ``hold()`` is true (the HDF5 recording is open), rows wait in memory until
  :meth:`LiveEventCsv.commit`, which the recording calls after each of its flushes
  (``RecordingWriter.on_flush``). An event therefore reaches the CSV on disk only after the
  recording holds it durably: after ``kill -9`` the CSV never has an event the recording
  lacks. Without a recording every write is flushed at once.
* A write that fails (disk full, I/O error) does not raise: the file is cut back to its last
  complete row and closed, later events are counted as lost, and ``on_failure`` gets one line
  naming the file (``aemon monitor`` notes it in the recording and applies
  ``--on-disk-full``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterable

from aemon.events.hit import Hit
from aemon.io.event_csv import EventCsvWriter

logger = logging.getLogger(__name__)

ROWS_PER_FLUSH = 64
"""Rows written per flush when committing, so a full disk keeps every complete row that fit."""


class LiveEventCsv(EventCsvWriter):
    """An event CSV for a live run; see the module doc.

    Args:
        path: File to write (replaced if it exists).
        hold: Rows wait for :meth:`commit` while this returns True; None: never wait.
        on_failure: Called once, outside any lock, with a one-line message when writing fails.

    Attributes:
        failure: The message of the failure, or None while the file is fine.
        lost: Events not written because of the failure.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        hold: Callable[[], bool] | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(path)
        self._hold = hold
        self._on_failure = on_failure
        self._pending: list[Hit] = []
        self._lock = threading.Lock()
        self._good_bytes = os.path.getsize(self.path)  # the header line
        self.failure: str | None = None
        self.lost = 0

    def write(self, events: Iterable[Hit]) -> int:
        """Queue ``events``; write them now unless ``hold()`` says to wait. Returns how many
        were accepted (0 after a failure)."""
        batch = list(events)
        with self._lock:
            if self.failure is not None:
                self.lost += len(batch)
                return 0
            self._pending += batch
        if self._hold is None or not self._hold():
            self.commit()
        return len(batch)

    def commit(self) -> None:
        """Write and flush the queued rows; on failure report it (never raises OSError)."""
        with self._lock:
            batch, self._pending = self._pending, []
            if self.failure is not None:
                self.lost += len(batch)
                return
            if not batch:
                return
            try:
                for start in range(0, len(batch), ROWS_PER_FLUSH):  # keep all rows that fit
                    super().write(batch[start : start + ROWS_PER_FLUSH])
                    self._good_bytes = os.fstat(self._file.fileno()).st_size
                return
            except OSError as exc:
                message = self._fail(exc, batch[start:])
        logger.error("%s", message)
        if self._on_failure is not None:
            self._on_failure(message)

    def _fail(self, exc: OSError, batch: list[Hit]) -> str:
        """Close the file cut back to its last complete row; return the one-line message."""
        self.lost += len(batch)
        written = batch[0].sample_index
        self.failure = (
            f"cannot write the event CSV {self.path} ({exc.strerror or exc}); it keeps its "
            f"first {self.rows} events, the events from sample {written} on are not in it"
        )
        with contextlib.suppress(OSError):  # the buffered rows cannot be flushed either
            self._file.close()
        try:
            os.truncate(self.path, self._good_bytes)  # no half-written row at the end
        except OSError as cut:
            logger.warning("could not cut %s back to its last row: %s", self.path, cut)
        return self.failure

    def close(self) -> None:
        """Write what is queued, then close (idempotent)."""
        self.commit()
        with contextlib.suppress(OSError):  # after a failure the file is closed already
            super().close()
