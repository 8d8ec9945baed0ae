"""Review labels: confirm, reject, re-type or add events; kept in the recording, exported as
the labelled CSV that ``aemon train`` reads (:func:`aemon.train.labelled.read_labelled_csv`).

Labels live in their own table ``/labels`` of the HDF5 recording (:data:`LABEL_DTYPE`); the file
is opened in append mode and nothing else in it (``/raw``, ``/events``) is touched. The table is
written under a temporary name and renamed, so an interrupted save leaves the old labels.

Each label names the event it reviews by ``(channel, sample_index)`` (the event's refined
onset), or, for an event the reviewer added, by the span they dragged.
"""

from __future__ import annotations

import csv
import logging
import os
import time
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import h5py
import hdf5plugin  # noqa: F401  (the recording's /raw filter)
import numpy as np
import numpy.typing as npt

from aemon.errors import FileFormatError
from aemon.events.hit import Hit
from aemon.io.schema import decode_text, encode_text

logger = logging.getLogger(__name__)

LABELS = "labels"
"""Name of the label table in the recording."""
ACTIONS = ("confirmed", "rejected", "retyped", "added")
"""What a reviewer did to an event."""
REJECTED_TYPE = "noise"
"""Type written to the labelled CSV for a rejected event (a negative label for training)."""

LABEL_DTYPE = np.dtype(
    [
        ("channel", "<i2"),
        ("start_sample", "<i8"),  # absolute index: the event's refined onset
        ("end_sample", "<i8"),  # absolute index one past its end
        ("action", "S16"),  # one of ACTIONS
        ("type", "S16"),  # the type after review
        ("original_type", "S16"),  # the detector's type ("" for added events)
        ("detector", "S32"),  # the detector that found it ("" for added events)
        ("labelled_unix_s", "<f8"),  # when the reviewer decided (s since 1970, UTC)
    ]
)
LABEL_CSV_COLUMNS = ["time_s", "end_s", "channel", "type", "label", "detector", "score"]
"""Columns of the exported labelled CSV (``aemon train`` needs time_s, end_s, channel, type)."""


class Label(NamedTuple):
    """One review decision (see :data:`LABEL_DTYPE` for the fields)."""

    channel: int
    start_sample: int
    end_sample: int
    action: str
    type: str
    original_type: str = ""
    detector: str = ""
    labelled_unix_s: float = 0.0


def event_end_sample(event: Hit, sample_rate_hz: float) -> int:
    """Absolute index one past the event's last sample."""
    duration = 0.0 if not np.isfinite(event.duration_us) else float(event.duration_us)
    return int(event.sample_index + max(round(duration * 1e-6 * sample_rate_hz), 1))


class LabelSet:
    """The review labels of one recording, keyed by ``(channel, start_sample)``.

    Args:
        sample_rate_hz: Samples per second (Hz), for event ends.
    """

    def __init__(self, sample_rate_hz: float, labels: Iterable[Label] = ()) -> None:
        self.sample_rate_hz = float(sample_rate_hz)
        self._labels: dict[tuple[int, int], Label] = {}
        for label in labels:
            self._labels[(label.channel, label.start_sample)] = label
        self.dirty = False

    def __len__(self) -> int:
        return len(self._labels)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self._labels.values(), key=lambda x: (x.start_sample, x.channel)))

    def get(self, event: Hit) -> Label | None:
        """The label of ``event``, or None when it is unreviewed."""
        return self._labels.get((int(event.channel), int(event.sample_index)))

    def review(self, event: Hit, action: str, new_type: str | None = None) -> Label:
        """Confirm, reject or re-type a detected event (replaces an earlier verdict)."""
        if action not in ("confirmed", "rejected", "retyped"):
            raise ValueError(f"action must be confirmed, rejected or retyped, not {action!r}")
        kind = {"confirmed": event.type, "rejected": REJECTED_TYPE}.get(action, new_type or "")
        if not kind:
            raise ValueError("a re-typed event needs its new type")
        label = Label(
            int(event.channel), int(event.sample_index),
            event_end_sample(event, self.sample_rate_hz), action, kind, event.type,
            event.detector, time.time(),
        )  # fmt: skip
        self._labels[(label.channel, label.start_sample)] = label
        self.dirty = True
        return label

    def add(self, channel: int, start_sample: int, end_sample: int, kind: str) -> Label:
        """Add an event the detector missed (the span the reviewer dragged)."""
        if end_sample <= start_sample or not kind:
            raise ValueError("an added event needs a type and end_sample > start_sample")
        label = Label(channel, start_sample, end_sample, "added", kind, "", "", time.time())
        self._labels[(channel, start_sample)] = label
        self.dirty = True
        return label

    def remove(self, channel: int, start_sample: int) -> None:
        """Forget the label at ``(channel, start_sample)``."""
        if self._labels.pop((channel, start_sample), None) is not None:
            self.dirty = True

    def to_array(self) -> npt.NDArray[np.void]:
        """All labels as rows of :data:`LABEL_DTYPE`."""
        rows = np.zeros(len(self._labels), dtype=LABEL_DTYPE)
        for i, label in enumerate(self):
            rows[i] = tuple(encode_text(v) if isinstance(v, str) else v for v in label)
        return rows


def load_labels(path: str | os.PathLike[str], sample_rate_hz: float) -> LabelSet:
    """The labels stored in a recording (empty if it has none yet)."""
    try:
        with h5py.File(path, "r") as f:
            rows = f[LABELS][()] if LABELS in f else np.zeros(0, dtype=LABEL_DTYPE)
    except OSError as exc:
        raise FileFormatError(f"cannot read labels from {path}: {exc}") from None
    labels = [
        Label(
            int(r["channel"]),
            int(r["start_sample"]),
            int(r["end_sample"]),
            decode_text(r["action"]),
            decode_text(r["type"]),
            decode_text(r["original_type"]),
            decode_text(r["detector"]),
            float(r["labelled_unix_s"]),
        )
        for r in rows
    ]
    return LabelSet(sample_rate_hz, labels)


def count_labels(f: h5py.File) -> dict[str, int]:
    """Labels per action in an open recording's ``/labels`` table (empty if it has none)."""
    if LABELS not in f:
        return {}
    actions = [decode_text(a) for a in f[LABELS]["action"][()]]
    return {action: actions.count(action) for action in ACTIONS if action in actions}


def save_labels(path: str | os.PathLike[str], labels: LabelSet) -> None:
    """Write the label table into the recording (append mode; nothing else is touched).

    Raises:
        FileFormatError: The file cannot be opened for writing (e.g. a monitor still writes it).
    """
    rows = labels.to_array()
    try:
        with h5py.File(path, "r+") as f:
            temporary = LABELS + ".new"
            if temporary in f:
                del f[temporary]
            f.create_dataset(temporary, data=rows, maxshape=(None,), chunks=(256,))
            if LABELS in f:
                del f[LABELS]
            f.move(temporary, LABELS)
    except OSError as exc:
        raise FileFormatError(
            f"cannot store labels in {path}: {exc}; close the program that is recording it"
        ) from None
    labels.dirty = False
    logger.info("stored %d labels in %s", len(rows), path)


def labelled_rows(
    events: Sequence[Hit],
    labels: LabelSet,
    first_sample: int,
    *,
    include_unreviewed: bool = True,
) -> list[list[str]]:
    """Rows of the labelled CSV: reviewed events with their verdict, added events, and (when
    ``include_unreviewed``) the other events as detected."""
    rate = labels.sample_rate_hz
    rows: list[tuple[int, int, list[str]]] = []
    seen: set[tuple[int, int]] = set()
    for e in events:
        label = labels.get(e)
        if label is None and not include_unreviewed:
            continue
        end = label.end_sample if label else event_end_sample(e, rate)
        kind, verdict = (label.type, label.action) if label else (e.type, "unreviewed")
        seen.add((int(e.channel), int(e.sample_index)))
        rows.append((int(e.sample_index), int(e.channel), _csv_row(
            int(e.sample_index), end, int(e.channel), kind, verdict, e.detector,
            f"{e.score:.4f}", first_sample, rate,
        )))  # fmt: skip
    for label in labels:
        if (label.channel, label.start_sample) not in seen:
            rows.append((label.start_sample, label.channel, _csv_row(
                label.start_sample, label.end_sample, label.channel, label.type, label.action,
                label.detector, "", first_sample, rate,
            )))  # fmt: skip
    return [r for _, _, r in sorted(rows, key=lambda x: (x[0], x[1]))]


def _csv_row(
    start: int, end: int, channel: int, kind: str, verdict: str, detector: str, score: str,
    first_sample: int, rate: float,
) -> list[str]:  # fmt: skip
    return [
        f"{(start - first_sample) / rate:.9f}", f"{(end - first_sample) / rate:.9f}",
        str(channel), kind, verdict, detector, score,
    ]  # fmt: skip


def export_labelled_csv(
    path: str | os.PathLike[str],
    events: Sequence[Hit],
    labels: LabelSet,
    first_sample: int,
    *,
    include_unreviewed: bool = True,
) -> int:
    """Write the labelled CSV (``aemon train`` reads it next to the recording as ``REC.csv``).

    Written to a temporary name and renamed, so a failed export leaves no half file.

    Returns:
        Rows written.
    """
    rows = labelled_rows(events, labels, first_sample, include_unreviewed=include_unreviewed)
    target = os.fspath(path)
    temporary = target + ".partial"
    with open(temporary, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(LABEL_CSV_COLUMNS)
        writer.writerows(rows)
    os.replace(temporary, target)
    return len(rows)
