"""Event CSV: exact header, round trips through the csv module, pandas and the HDF5 table."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from aemon.detect.threshold_hit_stream import threshold_hits_to_hits
from aemon.detect.threshold_hits import HitDetectorConfig, detect_hits
from aemon.errors import FileFormatError
from aemon.events.hit import Hit, HitBuilder
from aemon.io.event_csv import (
    CSV_COLUMNS,
    EventCsvWriter,
    array_to_events,
    event_row,
    events_to_array,
    read_event_csv,
    write_event_csv,
)
from aemon.io.recording import EVENT_DTYPE, RecordingReader, RecordingWriter
from aemon.sim.simulator import AESimulator, SimConfig
from aemon.types import ChannelInfo, StreamFormat

RATE = 1_562_500.0
START = "2024-05-01T12:00:00.000000Z"
HEADER = (
    "time_s,utc,sample_index,channel,type,score,detector,onset_s,duration_us,amplitude_V,"
    "amplitude_dBAE,rise_time_us,counts,energy_eu,rms_V,signal_strength_nVs,peak_freq_kHz,"
    "centroid_kHz,pp1_pct,pp2_pct,pp3_pct,pp4_pct,"
    "event_id,x_m,y_m,location_uncertainty_m,location_residual_us,location_status"
)
NUMERIC = [c for c in CSV_COLUMNS if c not in ("utc", "type", "detector", "location_status")]


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    config = SimConfig(channels=2, seed=5, burst_rate_hz=80.0, friction_rate_hz=0.0)
    return AESimulator(config).render(int(RATE * 0.15)).samples


@pytest.fixture(scope="module")
def events(signal: np.ndarray) -> list[Hit]:
    hits = detect_hits(signal, HitDetectorConfig(threshold_dbae=40.0), RATE)
    builder = HitBuilder(RATE, first_sample=0, start_time_utc=START)
    found = threshold_hits_to_hits(hits, signal, 0, builder)
    assert len(found) >= 5
    return found


def test_header_is_exact_and_units_are_in_the_names(tmp_path: Path, events: list[Hit]) -> None:
    path = tmp_path / "events.csv"
    assert write_event_csv(path, events) == len(events)
    with open(path, newline="", encoding="utf-8") as f:
        first_line = f.readline()
    assert first_line == HEADER + "\r\n"
    assert ",".join(CSV_COLUMNS) == HEADER


def test_round_trip_through_the_csv_module(tmp_path: Path, events: list[Hit]) -> None:
    path = tmp_path / "events.csv"
    write_event_csv(path, events)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(events)
    for row, event in zip(rows, events, strict=True):
        assert int(row["sample_index"]) == event.sample_index
        assert float(row["time_s"]) == pytest.approx(event.time_s, abs=1e-9)
        assert float(row["amplitude_dBAE"]) == pytest.approx(event.amplitude_dBAE, abs=0.005)
        assert float(row["amplitude_V"]) == pytest.approx(event.amplitude_V, rel=1e-6)
        assert float(row["energy_eu"]) == pytest.approx(event.energy_eu, rel=1e-5)
        assert row["utc"] == event.utc and row["utc"].startswith("2024-05-01T12:00:00.")
        assert (row["type"], row["detector"]) == ("hit", "threshold")
    back = read_event_csv(path)
    assert [e.sample_index for e in back] == [e.sample_index for e in events]
    for name in NUMERIC:
        got = [getattr(e, name) for e in back]
        np.testing.assert_allclose(got, [getattr(e, name) for e in events], rtol=1e-5, atol=5e-3)
    again = tmp_path / "again.csv"
    write_event_csv(again, back)
    assert again.read_bytes() == path.read_bytes()


def test_pandas_reads_numeric_columns_and_utc(tmp_path: Path, events: list[Hit]) -> None:
    pd = pytest.importorskip("pandas")
    path = tmp_path / "events.csv"
    write_event_csv(path, events)
    frame = pd.read_csv(path)
    assert list(frame.columns) == CSV_COLUMNS
    assert len(frame) == len(events)
    for name in NUMERIC:
        assert pd.api.types.is_numeric_dtype(frame[name]), name
    assert frame["counts"].dtype.kind == "i" and frame["sample_index"].dtype.kind == "i"
    utc = pd.to_datetime(frame["utc"], utc=True)
    start = pd.Timestamp(START)
    seconds = (utc - start).dt.total_seconds().to_numpy()
    np.testing.assert_allclose(seconds, frame["time_s"].to_numpy(), atol=2e-6)


def test_live_writer_appends_and_missing_values_are_empty(
    tmp_path: Path, events: list[Hit]
) -> None:
    path = tmp_path / "live.csv"
    with EventCsvWriter(path) as out:
        out.write(events[:2])
    nan_event = events[2]._replace(peak_freq_kHz=math.nan, utc="")
    with EventCsvWriter(path, append=True) as out:
        out.write([nan_event])
        assert out.rows == 1
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4 and lines[0] == HEADER
    back = read_event_csv(path)
    assert math.isnan(back[2].peak_freq_kHz) and back[2].utc == ""
    with EventCsvWriter(path) as out:  # no append: replaced
        out.write(events[:1])
    assert len(read_event_csv(path)) == 1


def test_foreign_or_broken_files_are_refused(tmp_path: Path, events: list[Hit]) -> None:
    other = tmp_path / "other.csv"
    other.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match="not an aemon event CSV"):
        read_event_csv(other)
    with pytest.raises(FileFormatError, match="not an aemon event CSV"):
        EventCsvWriter(other, append=True)
    broken = tmp_path / "broken.csv"
    write_event_csv(broken, events[:2])
    with open(broken, "a", encoding="utf-8") as f:
        f.write("0.5,,12,0,hit,1,threshold,not-a-number\n")
    with pytest.raises(FileFormatError, match="line 4"):
        read_event_csv(broken)
    with pytest.raises(FileFormatError, match="cannot read"):
        read_event_csv(tmp_path / "missing.csv")


def test_events_through_the_hdf5_events_table(tmp_path: Path, events: list[Hit]) -> None:
    rows = events_to_array(events)
    assert rows.dtype == EVENT_DTYPE and len(rows) == len(events)
    path = tmp_path / "rec.h5"
    fmt = StreamFormat(RATE, 2, "float32", 1.0)
    start = datetime(2024, 5, 1, 12, tzinfo=UTC)
    with RecordingWriter(
        path, fmt, [ChannelInfo("ch1"), ChannelInfo("ch2")], start_time_utc=start
    ) as w:
        w.push(0, np.zeros((2, 1000), dtype=np.float32))
        w.add_events(rows)
    with RecordingReader(path) as reader:
        stored = reader.events()
        start_text = reader.info.start_time_utc
    back = array_to_events(stored, start_text)
    for got, want in zip(back, events, strict=True):
        assert (got.sample_index, got.channel, got.type, got.detector, got.counts) == (
            want.sample_index,
            want.channel,
            want.type,
            want.detector,
            want.counts,
        )
        assert got.time_s == want.time_s  # float64 column
        assert got.amplitude_dBAE == pytest.approx(want.amplitude_dBAE, abs=1e-4)  # float32
        assert got.utc == want.utc
    no_start = array_to_events(stored)
    assert no_start[0].utc == ""


def _located(events: list[Hit]) -> list[Hit]:
    statuses = ["inside", "outside", "guard", "unlocated"]
    return [
        e._replace(
            event_id=i // 2,
            x_m=0.01 * i if i % 4 != 3 else math.nan,
            y_m=0.0 if i % 4 != 3 else math.nan,
            location_uncertainty_m=0.0007,
            location_residual_us=0.25 * i,
            location_status=statuses[i % 4],
        )
        for i, e in enumerate(events)
    ]


def test_location_columns_round_trip_through_csv_and_hdf5(
    tmp_path: Path, events: list[Hit]
) -> None:
    located = _located(events)
    path = tmp_path / "located.csv"
    write_event_csv(path, located)
    back = read_event_csv(path)
    for a, b in zip(located, back, strict=True):
        assert b.event_id == a.event_id and b.location_status == a.location_status
        for name in ("x_m", "y_m", "location_uncertainty_m", "location_residual_us"):
            x, y = getattr(a, name), getattr(b, name)
            assert (math.isnan(x) and math.isnan(y)) or y == pytest.approx(x, abs=1e-5)
    rows = events_to_array(located)
    assert list(rows["location_status"]) == [e.location_status.encode() for e in located]
    h5 = tmp_path / "rec.h5"
    fmt = StreamFormat(RATE, 2, "float32", 1.0)
    with RecordingWriter(h5, fmt, [ChannelInfo("a"), ChannelInfo("b")]) as writer:
        writer.add_events(rows)
    with RecordingReader(h5) as reader:
        stored = array_to_events(reader.events())
    assert [e.event_id for e in stored] == [e.event_id for e in located]
    assert [e.location_status for e in stored] == [e.location_status for e in located]
    assert stored[2].x_m == pytest.approx(located[2].x_m, rel=1e-6)


def test_event_csv_without_location_columns_still_reads(tmp_path: Path, events: list[Hit]) -> None:
    path = tmp_path / "old.csv"
    old_columns = CSV_COLUMNS[: CSV_COLUMNS.index("event_id")]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(old_columns)
        writer.writerows(event_row(e)[: len(old_columns)] for e in events)
    back = read_event_csv(path)
    assert [e.sample_index for e in back] == [e.sample_index for e in events]
    assert all(e.event_id == -1 and e.location_status == "" and math.isnan(e.x_m) for e in back)


def test_events_table_of_an_older_recording_gets_empty_location(tmp_path: Path) -> None:
    import h5py

    h5 = tmp_path / "old.h5"
    fmt = StreamFormat(RATE, 1, "float32", 1.0)
    with RecordingWriter(h5, fmt, [ChannelInfo("a")]):
        pass
    old_dtype = np.dtype([(n, EVENT_DTYPE.fields[n][0]) for n in EVENT_DTYPE.names[:21]])
    with h5py.File(h5, "r+") as f:
        del f["events"]
        rows = np.zeros(2, dtype=old_dtype)
        rows["sample_index"] = [10, 20]
        f.create_dataset("events", data=rows, maxshape=(None,))
    with RecordingReader(h5) as reader:
        table = reader.events()
    assert list(table["sample_index"]) == [10, 20]
    assert list(table["event_id"]) == [-1, -1] and np.isnan(table["x_m"]).all()


def test_rows_with_some_columns_fill_the_rest_as_unknown() -> None:
    rows = np.zeros(3, dtype=[("time_s", "f8"), ("channel", "i4"), ("type", "S8")])
    rows["time_s"] = [0.5, np.nan, 2.0]
    rows["channel"] = [0, 1, 2]
    rows["type"] = [b"high", b"low", b"\xff"]  # invalid UTF-8 is replaced, not an error
    events = array_to_events(rows, START)
    assert [e.channel for e in events] == [0, 1, 2]
    assert [e.type for e in events] == ["high", "low", "\ufffd"]
    assert events[0].utc == "2024-05-01T12:00:00.500000Z" and events[1].utc == ""
    assert all(e.sample_index == -1 and e.counts == -1 and e.detector == "" for e in events)
    assert all(math.isnan(e.amplitude_dBAE) for e in events)
    assert isinstance(events[0].channel, int) and isinstance(events[0].time_s, float)
