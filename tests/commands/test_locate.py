"""``aemon sim`` with geometry → ``aemon detect --location`` → ``locate-calibrate``."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from aemon.cli import main
from aemon.events.location_config import load_location_config
from aemon.io.event_csv import read_event_csv

SIM = ["--channels", "2", "--sensor-spacing", "0.2", "--wave-speed", "5000",
       "--snr-min", "30", "--snr-max", "40", "--seed", "4"]  # fmt: skip
DETECT = ["--detector", "threshold", "--x-noise", "6", "--no-progress"]


@pytest.fixture(scope="module")
def bar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bar") / "bar.h5"
    args = ["sim", "--duration", "0.5", "--burst-rate", "40", "--grip-rate", "20"]
    assert main([*args, *SIM, "--out", str(out)]) == 0
    return out


def test_sim_writes_layout_and_sources(bar: Path) -> None:
    config = load_location_config(bar.with_name("bar.location.toml"))
    assert [(s.channel, s.x_m) for s in config.sensors] == [(0, 0.0), (1, 0.2)]
    assert config.wave_speed_m_s == 5000.0
    with open(bar.with_name("bar.sources.csv"), newline="") as f:
        sources = list(csv.DictReader(f))
    assert {r["kind"] for r in sources} == {"crack", "grip"}


def test_detect_locates_and_filters_inside(bar: Path, tmp_path: Path) -> None:
    location = str(bar.with_name("bar.location.toml"))
    everything, inside = tmp_path / "all.csv", tmp_path / "inside.csv"
    table = tmp_path / "table.csv"
    args = ["--location", location, "--event-table", str(table)]
    assert main(["detect", str(bar), "-o", str(everything), *DETECT, *args]) == 0
    args = ["--location", location, "--only-located-inside"]
    assert main(["detect", str(bar), "-o", str(inside), *DETECT, *args]) == 0
    hits = read_event_csv(everything)
    kept = read_event_csv(inside)
    assert {e.location_status for e in hits} >= {"inside", "outside"}
    assert kept and all(e.location_status == "inside" for e in kept)
    assert len(kept) == sum(e.location_status == "inside" for e in hits)
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["event_id"]) for r in rows] == sorted({e.event_id for e in hits})
    for r in rows:
        mine = [e for e in hits if e.event_id == int(r["event_id"])]
        assert int(r["hits"]) == len(mine) and r["location_status"] == mine[0].location_status
        assert int(r["first_channel"]) == min(mine, key=lambda e: e.time_s).channel
    with open(bar.with_name("bar.sources.csv"), newline="") as f:
        sources = [(float(r["time_s"]), float(r["x_m"]), r["kind"]) for r in csv.DictReader(f)]
    # Every event located inside comes from a crack source, within 2 mm of its position.
    for event_id in {e.event_id for e in kept}:
        first = min((e for e in kept if e.event_id == event_id), key=lambda e: e.time_s)
        # The first arrival follows the emission by at most 0.1 m / 5000 m/s = 20 µs.
        (x, kind), *more = [(s[1], s[2]) for s in sources if -5e-6 < first.time_s - s[0] < 25e-6]
        assert not more and kind == "crack" and abs(first.x_m - x) < 2e-3


def test_calibrate_recovers_the_wave_speed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "plb.h5"
    breaks = ["--break-at", "0.04", "--break-at", "0.15"]
    assert main(["sim", "--duration", "0.6", "--burst-rate", "30", *SIM, *breaks,
                 "--out", str(out)]) == 0  # fmt: skip
    guess = tmp_path / "guess.toml"
    text = out.with_name("plb.location.toml").read_text()
    guess.write_text(text.replace("wave_speed_m_s = 5000.0", "wave_speed_m_s = 4500.0"))
    fitted = tmp_path / "fitted.toml"
    positions = str(out.with_name("plb.breaks.csv"))
    args = ["--location", str(guess), "--positions", positions, "--write", str(fitted)]
    assert main(["locate-calibrate", str(out), *args]) == 0
    report = capsys.readouterr().out
    assert "wave speed" in report and "0.0400" in report and "0.1500" in report
    assert load_location_config(fitted).wave_speed_m_s == pytest.approx(5000.0, rel=0.02)


@pytest.mark.parametrize(
    "args",
    [
        ["detect", "x.h5", "--only-located-inside"],
        ["detect", "x.h5", "--event-table", "t.csv"],
        ["detect", "x.h5", "--location", "missing.toml"],
        ["locate-calibrate", "x.h5", "--location", "missing.toml", "--at", "0.1@0:1"],
        ["sim", "--duration", "1", "--out", "x.h5", "--break-at", "0.1"],
        ["sim", "--duration", "1", "--out", "x.h5", "--plate", "0.5", "--channels", "2"],
    ],
)
def test_location_options_fail_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str]
) -> None:
    args = [str(tmp_path / a) if a.startswith(("x.", "missing")) else a for a in args]
    (tmp_path / "x.h5").touch() if args[0] == "detect" else None
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aemon: error:") and "\n" not in err


def test_monitor_locates_live(bar: Path, tmp_path: Path) -> None:
    out_csv = tmp_path / "live.csv"
    location = str(bar.with_name("bar.location.toml"))
    args = ["monitor", str(bar), "--csv", str(out_csv), "--events-endpoint", "none", "-q",
            "--detector", "threshold", "--threshold", "45", "--location", location,
            "--only-located-inside"]  # fmt: skip
    assert main(args) == 0
    live = read_event_csv(out_csv)
    assert live and all(e.location_status == "inside" and e.event_id >= 0 for e in live)
    assert all(0.0 < e.x_m < 0.2 for e in live)


def test_sim_geometry_outputs_are_atomic(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "rod.h5"
    layout = tmp_path / "rod.location.toml"
    layout.write_text("kept")
    args = ["sim", "--duration", "0.05", *SIM, "--out", str(out)]
    assert main(args) == 2  # an existing side file is refused before anything is written
    assert "rod.location.toml already exists" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rod.location.toml"]
    assert layout.read_text() == "kept"
    assert main([*args, "--overwrite"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["rod.h5", "rod.location.toml", "rod.sources.csv"]  # no .partial left
    assert load_location_config(layout).wave_speed_m_s == 5000.0


def test_replay_locates_like_detect(bar: Path, tmp_path: Path) -> None:
    location = ["--location", str(bar.with_name("bar.location.toml"))]
    detected, replayed = tmp_path / "detect.csv", tmp_path / "replay.csv"
    assert main(["detect", str(bar), "-o", str(detected), *DETECT, *location]) == 0
    replay = ["replay", str(bar), "-o", str(replayed), "--detector", "threshold"]
    assert main([*replay, "--x-noise", "6", "--no-progress", *location]) == 0
    hits, again = read_event_csv(detected), read_event_csv(replayed)
    assert {e.location_status for e in again} >= {"inside", "outside"}
    key = [(e.sample_index, e.channel, e.event_id, e.location_status) for e in hits]
    assert [(e.sample_index, e.channel, e.event_id, e.location_status) for e in again] == key
    inside = tmp_path / "inside.csv"
    only = ["--x-noise", "6", "--only-located-inside", *location]
    assert main(["replay", str(bar), "-o", str(inside), "--detector", "threshold", *only]) == 0
    kept = read_event_csv(inside)
    assert kept and all(e.location_status == "inside" for e in kept)
