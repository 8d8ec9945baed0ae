"""The aemon HDF5 recording format: raw samples, gaps, events and ground truth.

Layout and reading with plain h5py: ``docs/recording-format.md``. This module gathers the
public names; the code lives in :mod:`aemon.io.recording_writer`,
:mod:`aemon.io.recording_reader` and :mod:`aemon.io.schema`.
"""

from __future__ import annotations

from aemon.io.recording_reader import RecordingInfo, RecordingReader
from aemon.io.recording_writer import RecordingWriter
from aemon.io.schema import (
    COMPRESSIONS,
    EVENT_COLUMNS,
    EVENT_DTYPE,
    FORMAT_NAME,
    FORMAT_VERSION,
    GAP_DTYPE,
    TRUTH_COLUMNS,
    TRUTH_DTYPE,
)

__all__ = [
    "COMPRESSIONS",
    "EVENT_COLUMNS",
    "EVENT_DTYPE",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "GAP_DTYPE",
    "TRUTH_COLUMNS",
    "TRUTH_DTYPE",
    "RecordingInfo",
    "RecordingReader",
    "RecordingWriter",
]
