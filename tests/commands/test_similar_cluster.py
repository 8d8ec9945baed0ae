"""``aemon similar`` and ``aemon cluster`` end to end on a small simulator recording."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from aemon.cli import main
from aemon.events.features import hit_features
from aemon.events.hit import Hit
from aemon.io.event_csv import write_event_csv
from aemon.io.recording import RecordingReader

WINDOW = 1024
THRESHOLD_V = 100e-6  # 40 dBAE


def _event_at(reader: RecordingReader, onset: int, channel: int, kind: str) -> Hit:
    rate = reader.format.sample_rate_hz
    wave = reader.read(reader.raw_index(onset) or 0, WINDOW, volts=True)[channel]
    f = hit_features(wave, rate, THRESHOLD_V)
    pp = f.partial_powers_pct
    return Hit(
        time_s=onset / rate, utc="", sample_index=onset, channel=channel, type=kind, score=1.0,
        detector="truth", onset_s=onset / rate, duration_us=f.duration_us,
        amplitude_V=f.amplitude_v, amplitude_dBAE=f.amplitude_dbae, rise_time_us=f.rise_time_us,
        counts=f.counts, energy_eu=f.energy_eu, rms_V=f.rms_v,
        signal_strength_nVs=f.signal_strength_nvs, peak_freq_kHz=f.peak_freq_khz,
        centroid_kHz=f.centroid_khz, pp1_pct=pp[0], pp2_pct=pp[1], pp3_pct=pp[2], pp4_pct=pp[3],
    )  # fmt: skip


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 0.4 s recording with ~40 bursts, and an events CSV: one event per true burst (the
    onset as the detector would refine it) plus one event on background only."""
    folder = tmp_path_factory.mktemp("sim")
    path = folder / "rec.h5"
    args = ["sim", "--duration", "0.4", "--burst-rate", "100", "--snr-min", "25", "--seed", "5"]
    assert main([*args, "--out", str(path)]) == 0
    with RecordingReader(path) as reader:
        truth = reader.truth()
        events = [
            _event_at(reader, int(r["onset_sample"]), int(r["channel"]), "burst") for r in truth
        ]
        # Background: 1 ms before the first burst, or late in the file if that is too early.
        quiet = int(truth["onset_sample"].min()) - 1600
        if quiet < 0:
            quiet = reader.samples - 2 * WINDOW
        events.append(_event_at(reader, quiet, 0, "burst"))
    events.sort(key=lambda e: e.sample_index)
    csv_path = folder / "rec.h5.events.csv"  # the name `aemon detect rec.h5` writes
    write_event_csv(csv_path, events)
    return path, csv_path


def test_similar_lists_nearest_events_of_the_same_type(
    recording: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = recording
    assert main(["similar", str(path), "--event", "3", "-k", "5", "--space", "correlation",
                 "--json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    ids = [n["event"] for n in out["neighbours"]]
    distances = [n["distance"] for n in out["neighbours"]]
    assert len(ids) == 5 and 3 not in ids and len(set(ids)) == 5
    assert distances == sorted(distances)
    assert out["true_type"] in ("low", "high")
    assert out["same_true_type"] >= 4

    assert main(["similar", str(path), "--event", "3", "-k", "5"]) == 0
    text = capsys.readouterr().out
    assert "neighbours share the event's true type" in text


def test_similar_rejects_an_unknown_event(recording: tuple[Path, Path]) -> None:
    path, _ = recording
    assert main(["similar", str(path), "--event", "100000"]) == 2


def test_cluster_writes_tables_and_map_and_reports_purity(
    recording: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, csv_path = recording
    prefix = tmp_path / "out"
    assert main(["cluster", str(path), "--k", "2", "--space", "correlation", "--out",
                 str(prefix), "--json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    with open(csv_path, newline="", encoding="utf-8") as f:
        n_events = sum(1 for _ in csv.DictReader(f))
    assert out["events"] == n_events and sum(out["sizes"]) == n_events
    assert out["purity"]["burst_type"] >= 0.9
    assert out["purity"]["matched"] == n_events - 1 and out["purity"]["unmatched"] == 1

    with open(prefix.with_name("out.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == n_events and {r["cluster"] for r in rows} == {"0", "1"}
    with h5py.File(prefix.with_name("out.h5"), "r") as h5:
        table = h5["events"]
        assert table.attrs["k"] == 2 and table.attrs["space"] == "correlation"
        assert np.array_equal(table["cluster"], [int(r["cluster"]) for r in rows])
        assert np.array_equal(table["sample_index"], [int(r["sample_index"]) for r in rows])
    assert prefix.with_name("out.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob("*.partial.*"))

    # The outputs exist now: refused (nothing touched) unless --overwrite.
    before = prefix.with_name("out.csv").stat().st_mtime_ns
    again = ["cluster", str(path), "--k", "3", "--space", "correlation", "--out", str(prefix)]
    assert main(again) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert prefix.with_name("out.csv").stat().st_mtime_ns == before
    assert main([*again, "--overwrite", "--no-map"]) == 0
    with open(prefix.with_name("out.csv"), newline="", encoding="utf-8") as f:
        assert {r["cluster"] for r in csv.DictReader(f)} == {"0", "1", "2"}


def test_cluster_auto_chooses_k_by_silhouette(
    recording: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = recording
    prefix = tmp_path / "auto"
    assert (
        main(
            [
                "cluster",
                str(path),
                "--auto",
                "--method",
                "agglomerative",
                "--no-map",
                "--out",
                str(prefix),
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    scores = {int(k): s for k, s in out["silhouettes"].items()}
    assert out["k"] == max(scores, key=lambda k: scores[k])
    assert not prefix.with_name("auto.png").exists()


def test_latent_space_uses_the_shipped_embedding_by_default(
    recording: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = recording
    assert main(["similar", str(path), "--event", "1", "-k", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["space"] == "latent" and out["same_true_type"] >= 4
    assert main(["similar", str(path), "--event", "1", "--embedding", str(tmp_path)]) == 2
    assert "embedding model" in capsys.readouterr().err
