"""Named event tables: staged beside the recording, committed in one step, listed by info."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from aemon.commands.info import describe, format_text
from aemon.errors import ConfigError, FileFormatError
from aemon.io.event_tables import (
    EventTableWriter,
    check_table_name,
    iter_table_rows,
    list_event_tables,
    open_tables,
    table_dataset,
)
from aemon.io.recording import EVENT_DTYPE, RecordingWriter
from aemon.types import ChannelInfo, StreamFormat

FMT = StreamFormat(100_000.0, 1, "int16", 1e-6)


def recording(path: Path, close: bool = True) -> RecordingWriter:
    writer = RecordingWriter(path, FMT, [ChannelInfo("a")])
    writer.push(0, np.arange(1000, dtype=np.int16)[None, :])
    writer.add_events([{"time_s": 0.001, "sample_index": 100, "channel": 0}])
    if close:
        writer.close()
    return writer


def rows(times: list[float]) -> np.ndarray:
    out = np.zeros(len(times), dtype=EVENT_DTYPE)
    out["time_s"] = times
    out["sample_index"] = np.round(np.array(times) * FMT.sample_rate_hz)
    out["type"] = b"hit"
    return out


def test_commit_adds_a_table_and_keeps_raw_and_earlier_tables(tmp_path: Path) -> None:
    path = tmp_path / "r.h5"
    recording(path)
    with h5py.File(path, "r") as f:
        raw_before = f["raw"][()]
    attrs = {"detector": "threshold", "model": "", "threshold": 45.0, "source": "test"}
    with EventTableWriter(path, "first", attrs) as table:
        table.write_rows(rows([0.001, 0.002]))
    with EventTableWriter(path, "second", {**attrs, "threshold": None}) as table:
        table.write_rows(rows([0.003]))
    assert not [p for p in tmp_path.iterdir() if p.name != "r.h5"]  # no staging left behind
    with open_tables(path) as f:
        tables = {t.name: t for t in list_event_tables(f)}
        assert np.array_equal(f["raw"][()], raw_before)
        assert table_dataset(f, "first")["time_s"].tolist() == [0.001, 0.002]
        assert table_dataset(f, None).shape == (1,)  # the live table
    assert list(tables) == ["events", "first", "second"]
    assert (tables["first"].rows, tables["first"].threshold) == (2, 45.0)
    assert tables["second"].threshold is None and tables["second"].detector == "threshold"
    text = format_text(describe(str(path)))
    assert "first" in text and "45" in text and "second" in text


def test_a_failed_run_leaves_the_recording_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "r.h5"
    recording(path)
    with pytest.raises(RuntimeError), EventTableWriter(path, "t", {}) as table:
        table.write_rows(rows([0.001]))
        raise RuntimeError("detector crashed")
    with open_tables(path) as f:
        assert [t.name for t in list_event_tables(f)] == ["events"]
    assert [p.name for p in tmp_path.iterdir()] == ["r.h5"]


def test_existing_names_and_bad_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.h5"
    recording(path)
    with EventTableWriter(path, "t", {}) as table:
        table.write_rows(rows([0.001]))
    with pytest.raises(ConfigError, match=r"exists.*--overwrite"):
        EventTableWriter(path, "t", {})
    with EventTableWriter(path, "t", {}, overwrite=True) as table:
        table.write_rows(rows([0.002, 0.003]))
    with open_tables(path) as f:
        assert table_dataset(f, "t").shape == (2,)
        with pytest.raises(ConfigError, match="tables: events, t"):
            table_dataset(f, "missing")
    for bad in ("events", "", ".hidden", "a/b"):
        with pytest.raises(ConfigError):
            check_table_name(bad)


def test_a_recording_still_being_written_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.h5"
    writer = recording(path, close=False)
    writer.flush()
    try:
        with pytest.raises(FileFormatError, match="still being written"):
            EventTableWriter(path, "t", {})
    finally:
        writer.close()


def test_a_table_without_the_location_columns_reads_with_defaults(tmp_path: Path) -> None:
    new = ("event_id", "x_m", "y_m", "location_uncertainty_m", "location_residual_us")
    names = [n for n in EVENT_DTYPE.names or () if n not in new and n != "location_status"]
    old = np.zeros(3, dtype=[(n, EVENT_DTYPE.fields[n][0]) for n in names])  # type: ignore[index]
    old["time_s"] = [0.1, 0.2, 0.3]
    with h5py.File(tmp_path / "old.h5", "w") as f:  # a table written before issue 14
        f.create_dataset("events", data=old)
        back = np.concatenate(list(iter_table_rows(f["events"], chunk_rows=2)))
    assert back.dtype == EVENT_DTYPE
    assert back["time_s"].tolist() == [0.1, 0.2, 0.3]
    assert (back["event_id"] == -1).all() and np.isnan(back["x_m"]).all()
    assert (back["location_status"] == b"").all()
