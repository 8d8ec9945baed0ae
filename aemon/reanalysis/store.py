"""Finished chunks on disk, so that a rerun after Ctrl-C or a failure skips them.

Layout, under the output directory::

    .aemon-reanalyse/NAME-KEY/chunk-00003.csv    the events the chunk owns (event CSV)
    .aemon-reanalyse/NAME-KEY/chunk-00003.json   its ChunkResult without the events

``KEY`` is a hash of everything the events depend on: the recording (absolute path, size,
modification time), the model (card name and the bytes of its ONNX file), the detector
options, the location set-up and the chunk geometry. A changed recording, model or option
therefore finds no finished chunks, and the chunk files of one set-up never mix with
another's. Each file is written under a temporary name and renamed; the JSON comes last, so
a chunk counts as done only when both are whole. The directory is removed when every
recording it served is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path

from aemon.io.atomic_output import atomic_output, remove_quietly
from aemon.io.event_csv import read_event_csv, write_event_csv
from aemon.reanalysis.task import ChunkResult

logger = logging.getLogger(__name__)

STORE_DIR = ".aemon-reanalyse"
"""Directory (inside the output directory) that holds the finished chunks."""


def model_key(card_name: str, onnx_path: Path) -> str:
    """The model's identity for the store: its name and a hash of its ONNX bytes."""
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()[:16]
    return f"{card_name}:{digest}"


def recording_key(path: Path, *parts: object) -> str:
    """A short hash of the recording's identity and ``parts`` (model key, options, …)."""
    stat = path.stat()
    text = repr((str(path.resolve()), stat.st_size, stat.st_mtime_ns, *parts))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class ChunkStore:
    """The finished chunks of one recording.

    Args:
        out_dir: The output directory.
        name: The recording's output name (for a readable directory name).
        key: :func:`recording_key` of the recording and the set-up.
    """

    def __init__(self, out_dir: Path, name: str, key: str) -> None:
        self.root = out_dir / STORE_DIR
        self.directory = self.root / f"{name}-{key}"

    def _paths(self, index: int) -> tuple[Path, Path]:
        stem = self.directory / f"chunk-{index:05d}"
        return stem.with_suffix(".csv"), stem.with_suffix(".json")

    def load(self, index: int) -> ChunkResult | None:
        """The stored result of chunk ``index``, or None if it is not (wholly) there."""
        events_csv, meta_json = self._paths(index)
        if not meta_json.is_file() or not events_csv.is_file():
            return None
        try:
            meta = json.loads(meta_json.read_text(encoding="utf-8"))
            return ChunkResult(events=read_event_csv(events_csv), **meta)
        except (ValueError, TypeError, OSError) as exc:  # damaged: redo the chunk
            logger.warning("%s: unreadable (%s); the chunk is run again", meta_json, exc)
            return None

    def save(self, index: int, result: ChunkResult) -> None:
        """Store chunk ``index``'s result (events first, the JSON that marks it done last)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        events_csv, meta_json = self._paths(index)
        with atomic_output(events_csv, overwrite=True, what="chunk events") as tmp:
            write_event_csv(tmp, result.events)
        meta = result._asdict()
        del meta["events"]
        with atomic_output(meta_json, overwrite=True, what="chunk result") as tmp:
            tmp.write_text(json.dumps(meta), encoding="utf-8")

    def remove(self) -> None:
        """Forget this recording's chunks (its output is written); the store directory goes
        too when it is empty."""
        remove_quietly(self.directory)
        with contextlib.suppress(OSError):  # other recordings' chunks are still there
            os.rmdir(self.root)
