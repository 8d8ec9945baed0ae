"""``aemon monitor --csv``: the live event CSV behind the recording, and what a failure of it
does under ``--on-disk-full``.

* With ``--out`` the CSV gets an event only after the recording has flushed it
  (:class:`aemon.io.live_event_csv.LiveEventCsv`), so after ``kill -9`` the CSV never holds
  an event the recording lacks.
* When the CSV cannot be written (disk full, I/O error) it is cut back to its last complete
  row and closed, the failure is an ``/incidents`` row (kind ``csv_error``) of the recording,
  and a warning names the file. A running recording always goes on (it holds every event);
  without one, ``--on-disk-full stop`` ends the run and ``continue-detecting`` goes on
  detecting and publishing. Either way the command ends with exit status 2 and the CSV keeps
  its ``.partial`` name.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from aemon.commands._live import StatusPrinter
from aemon.errors import AemonError
from aemon.io.live_event_csv import LiveEventCsv

if TYPE_CHECKING:
    from aemon.io.recording import RecordingWriter

logger = logging.getLogger(__name__)

CSV_STOPPED = "the event CSV could not be written"
"""How the run ended when a failed ``--csv`` stopped it (``--on-disk-full stop``, no ``--out``)."""


class MonitorCsv:
    """The ``--csv`` output of a monitor run.

    Args:
        path: The file to write (the output's ``.partial`` name).
        policy: ``--on-disk-full``: ``"stop"`` or ``"continue-detecting"``.
        printer: Where the warning goes.

    Attributes:
        csv: The writer to hand to :class:`aemon.monitor.LiveMonitor`.
        failure: One line saying why the CSV stopped, or None.
        stopped_run: The failure ended the run (set ``stop`` with :meth:`attach`).
    """

    def __init__(self, path: Path, policy: str, printer: StatusPrinter) -> None:
        self._policy = policy
        self._printer = printer
        self._writer: RecordingWriter | None = None
        self._stop: threading.Event | None = None
        self.failure: str | None = None
        self.stopped_run = False
        self.csv = LiveEventCsv(path, hold=self._recording, on_failure=self._failed)

    def attach(self, writer: RecordingWriter | None, stop: threading.Event) -> None:
        """Follow ``writer``'s flushes (if recording) and end the run through ``stop``."""
        self._writer, self._stop = writer, stop
        if writer is not None:
            writer.on_flush.append(self.csv.commit)

    def _recording(self) -> bool:
        writer = self._writer
        return writer is not None and not writer.closed

    def _failed(self, message: str) -> None:
        self.failure = message
        writer = self._writer
        if self._recording() and writer is not None:
            with contextlib.suppress(AemonError):  # a failing recording reports itself
                writer.note("csv_error", -1, -1, message)
            then = f"the recording goes on and holds every event ({writer.path})"
        elif self._policy == "stop":
            then = "stopping (--on-disk-full stop)"
            self.stopped_run = True
            if self._stop is not None:
                self._stop.set()
        else:
            then = "detecting and publishing go on (--on-disk-full continue-detecting)"
        self._printer.message(f"aemon: warning: {message}; {then}")

    def close(self) -> None:
        """Write what is left and close the file."""
        self.csv.close()
