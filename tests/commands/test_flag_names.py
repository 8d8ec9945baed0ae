"""Flag names on real files through the command line: ``--probability`` (nn, cascade),
``--threshold-db`` (threshold, cascade) and the alias ``--threshold`` with its old meaning per
detector; ``--rate`` for a raw file's sample rate, with the older ``--fs``."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from aemon.cli import main
from aemon.commands._checks import threshold_arguments
from aemon.commands.gui import monitor_args
from aemon.io.event_tables import list_event_tables, open_tables
from aemon.io.recording import RecordingWriter
from aemon.types import ChannelInfo, StreamFormat
from tests.detect.test_offline import signal
from tests.detect_models import RATE, energy_model


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(energy model directory, 2-channel recording with four bursts)."""
    folder = tmp_path_factory.mktemp("flags")
    energy_model(folder / "energy")
    path = folder / "rec.h5"
    with RecordingWriter(
        path, StreamFormat(RATE, 2, "int16", 1e-6), [ChannelInfo("a"), ChannelInfo("b")]
    ) as rec:
        rec.push(0, signal())
    return folder / "energy", path


def detect(tmp_path: Path, rec: Path, name: str, *flags: str) -> bytes:
    out = tmp_path / f"{name}.csv"
    assert main(["detect", str(rec), "-o", str(out), "--no-progress", *flags]) == 0
    return out.read_bytes()


def test_threshold_is_threshold_db_for_the_threshold_detector(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    _, rec = files
    thr = ["--detector", "threshold"]
    old = detect(tmp_path, rec, "old", *thr, "--threshold", "45")
    new = detect(tmp_path, rec, "new", *thr, "--threshold-db", "45")
    high = detect(tmp_path, rec, "high", *thr, "--threshold-db", "65")
    assert old == new
    assert high.count(b"\n") == 1 < new.count(b"\n")  # header only: bursts are ~60 dBAE


def test_threshold_is_probability_for_nn(files: tuple[Path, Path], tmp_path: Path) -> None:
    model, rec = files
    nn = ["--model", str(model)]
    old = detect(tmp_path, rec, "old", *nn, "--threshold", "0.3")
    new = detect(tmp_path, rec, "new", *nn, "--probability", "0.3")
    strict = detect(tmp_path, rec, "strict", *nn, "--probability", "0.999999")
    assert old == new
    assert strict != new  # a stricter probability shortens the runs the events come from


def test_cascade_takes_both_and_replay_records_them(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    model, rec = files
    copy = tmp_path / "rec.h5"
    copy.write_bytes(rec.read_bytes())
    cascade = ["--detector", "cascade", "--model", str(model), "--no-progress"]
    assert main(["replay", str(copy), "--table", "a", *cascade, "--threshold-db", "42",
                 "--probability", "0.2"]) == 0  # fmt: skip
    assert main(["replay", str(copy), "--table", "b", *cascade, "--threshold", "42"]) == 0
    with open_tables(copy) as f:
        tables = {t.name: t for t in list_event_tables(f)}
    assert tables["a"].threshold == tables["b"].threshold == 42.0
    assert tables["a"].rows == tables["b"].rows > 0


def test_a_child_monitor_gets_the_resolved_flag() -> None:
    def gui_args(detector: str, **flags: float) -> argparse.Namespace:
        values = {"threshold": None, "probability": None, "threshold_db": None, **flags}
        return argparse.Namespace(detector=detector, model=None, **values)

    assert monitor_args(gui_args("nn", threshold=0.7)) == ["--detector", "nn", "--probability",
                                                           "0.7"]  # fmt: skip
    assert threshold_arguments(gui_args("threshold", threshold=45.0)) == ["--threshold-db", "45"]
    assert threshold_arguments(gui_args("cascade", probability=0.6, threshold_db=50.0)) == [
        "--probability", "0.6", "--threshold-db", "50"]  # fmt: skip


def test_rate_and_its_older_name_fs_read_a_raw_file_alike(tmp_path: Path) -> None:
    raw = tmp_path / "dump.raw"
    signal().T.tofile(raw)  # interleaved int16 frames
    flags = ["--dtype", "int16", "--channels", "2", "--volts-per-count", "1e-6"]
    thr = ["--detector", "threshold", *flags]
    new = detect(tmp_path, raw, "rate", *thr, "--rate", str(RATE))
    old = detect(tmp_path, raw, "fs", *thr, "--fs", str(RATE))
    assert new == old and new.count(b"\n") == 5  # header + the four bursts
    out = tmp_path / "x.csv"
    assert main(["detect", str(raw), "-o", str(out), *flags]) == 2  # no rate: refused
