"""Files written by the release before the record declarations were unified still open.

``tests/fixtures/release-0ca94d1/`` was written by ``tests/fixtures/make_release_fixtures.sh``
with the aemon of commit 0ca94d1: a 2-channel simulated recording with ``/truth`` and a named
event table (``bar.h5``), a copy with the hits in ``/events`` (``recording.h5``), the hit CSV
and multi-channel event CSV of ``aemon detect --location``, and a WAV with its truth CSV. The
files are never rewritten; these tests read them with today's code and compare what they read
with the cells of the CSV files themselves (read with the ``csv`` module).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from aemon.io.event_csv import array_to_events, read_event_csv, write_event_csv
from aemon.io.event_tables import iter_table_rows, list_event_tables, open_tables, table_dataset
from aemon.io.located_events import LOCATED_EVENT_COLUMNS
from aemon.io.recording import RecordingReader
from aemon.io.truth import read_truth, score_event_list

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "release-0ca94d1"


def cells(name: str) -> list[dict[str, str]]:
    with open(FIXTURES / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_hit_csv_reads_as_written_and_writes_back_byte_for_byte(tmp_path: Path) -> None:
    rows = cells("bar.events.csv")
    hits = read_event_csv(FIXTURES / "bar.events.csv")
    assert len(hits) == len(rows) > 4
    for hit, row in zip(hits, rows, strict=True):
        assert hit.sample_index == int(row["sample_index"])
        assert hit.channel == int(row["channel"])
        assert hit.event_id == int(row["event_id"])
        assert hit.amplitude_dBAE == pytest.approx(float(row["amplitude_dBAE"]))
        assert hit.x_m == pytest.approx(float(row["x_m"]))
        assert hit.location_status == row["location_status"]
        assert hit.utc == row["utc"]
    again = tmp_path / "again.csv"
    write_event_csv(again, hits)
    assert again.read_bytes() == (FIXTURES / "bar.events.csv").read_bytes()


def test_recording_events_and_truth_open() -> None:
    rows = cells("bar.events.csv")
    with RecordingReader(FIXTURES / "recording.h5") as reader:
        assert reader.format.channels == 2
        assert reader.format.sample_rate_hz == 192_000
        hits = array_to_events(reader.events(), reader.info.start_time_utc)
        truth = reader.truth()
    assert [(h.sample_index, h.channel, h.event_id) for h in hits] == [
        (int(r["sample_index"]), int(r["channel"]), int(r["event_id"])) for r in rows
    ]
    for hit, row in zip(hits, rows, strict=True):
        assert hit.time_s == pytest.approx(float(row["time_s"]), abs=1e-9)
        assert hit.energy_eu == pytest.approx(float(row["energy_eu"]), rel=1e-5)
        assert hit.location_status == row["location_status"]
        assert hit.utc[:19] == row["utc"][:19]
    assert len(truth) > 4
    assert set(np.unique(truth["channel"])) <= {0, 1}
    assert np.all(truth["end_sample"] > truth["onset_sample"])


def test_named_event_table_opens() -> None:
    rows = cells("bar.events.csv")
    with open_tables(FIXTURES / "bar.h5") as f:
        tables = {t.name: t for t in list_event_tables(f)}
        assert tables["replay-0"].detector == "threshold"
        assert tables["replay-0"].rows == len(rows)
        table = np.concatenate(list(iter_table_rows(table_dataset(f, "replay-0"))))
    hits = array_to_events(table)
    assert [(h.sample_index, h.channel, h.event_id) for h in hits] == [
        (int(r["sample_index"]), int(r["channel"]), int(r["event_id"])) for r in rows
    ]


def test_truth_from_recording_and_from_truth_csv() -> None:
    bursts, types, rate = read_truth(FIXTURES / "recording.h5")
    with RecordingReader(FIXTURES / "bar.h5") as reader:
        original = reader.truth()
    assert [(b.onset, b.end, b.channel) for b in bursts] == [
        (int(r["onset_sample"]), int(r["end_sample"]), int(r["channel"])) for r in original
    ]
    assert rate == 192_000
    assert types == sorted({t.decode() for t in original["burst_type"]})

    rows = cells("mono.truth.csv")
    bursts, types, rate = read_truth(FIXTURES / "mono.truth.csv")
    assert [(b.onset, b.end, b.channel) for b in bursts] == [
        (int(r["sample_index"]), int(r["end_sample"]), int(r["channel"])) for r in rows
    ]
    assert types == sorted({r["type"] for r in rows})
    assert rate == pytest.approx(192_000, rel=1e-6)


def test_hits_score_against_the_recorded_truth() -> None:
    score = score_event_list(FIXTURES / "bar.events.csv", FIXTURES / "recording.h5")
    assert score.true_bursts == len(cells("bar.events.csv"))  # one burst per detected hit
    assert score.detected == score.true_bursts
    assert score.recall > 0.5


def test_multichannel_event_csv_header_is_still_the_one_written() -> None:
    with open(FIXTURES / "bar.event-table.csv", newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert tuple(header) == tuple(LOCATED_EVENT_COLUMNS)
    events = cells("bar.event-table.csv")
    hits = cells("bar.events.csv")
    for event in events:
        members = [h for h in hits if h["event_id"] == event["event_id"]]
        assert len(members) == int(event["hits"])
        assert min(int(h["sample_index"]) for h in members) == int(event["sample_index"])
        assert math.isclose(float(members[0]["x_m"]), float(event["x_m"]), abs_tol=1e-5)
