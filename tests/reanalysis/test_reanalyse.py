"""``aemon reanalyse`` end to end: real Dask processes, real files, equality with ``detect``."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import h5py
import pytest

from aemon.detect.offline import detect_file
from aemon.io.event_csv import event_row, read_event_csv
from aemon.io.event_tables import GROUP
from aemon.reanalysis.store import STORE_DIR
from tests.reanalysis.archive import REPO, aemon, env, whitening_model, write_recording, write_wav
from tests.reanalysis.archive import signal as make_signal

pytest.importorskip("distributed")

CHUNK_S = "5"


class Archive:
    """Recordings, the model and what sequential ``aemon detect`` writes for each."""

    def __init__(self, root: Path) -> None:
        self.model = whitening_model(root / "wenergy")
        self.a = write_recording(root / "a.h5", make_signal(30, seed=1))  # 30 s, 2 channels
        self.b = write_recording(root / "b.h5", make_signal(12, seed=2), gap_at=700_000)
        self.c = write_wav(root / "c.wav", make_signal(8, seed=3))
        self.expected = {}
        for path in (self.a, self.b, self.c):
            out = root / f"{path.name}.sequential.csv"
            detect_file(path, out, model=self.model, progress=False)
            self.expected[path.name] = rows(out)


def rows(csv: Path) -> list[list[str]]:
    """The CSV's rows as written (every column, formatted)."""
    return [event_row(e) for e in read_event_csv(csv)]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    return Archive(tmp_path_factory.mktemp("archive"))


def reanalyse(
    archive: Archive, out: Path, *extra: str | Path, recordings: tuple[Path, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``aemon reanalyse`` of ``recordings`` (default a.h5, b.h5, c.wav) with 5 s chunks."""
    paths = recordings or (archive.a, archive.b, archive.c)
    options = ("--model", archive.model, "--chunk", CHUNK_S, "--no-progress", *extra)
    return aemon("reanalyse", *paths, "--out", out, *options)


def assert_equal_to_sequential(archive: Archive, out: Path) -> None:
    for name, expected in archive.expected.items():
        got = rows(out / f"{name}.events.csv")
        assert len(got) > 20
        # hit for hit, every column; rows of two channels reported at nearly the same time
        # may come in the other order (aemon detect infers beside its preprocessing)
        assert sorted(got) == sorted(expected), name


def test_embedded_cluster_of_two_workers_equals_sequential_detect(
    archive: Archive, tmp_path: Path
) -> None:
    done = reanalyse(archive, tmp_path / "out", "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert_equal_to_sequential(archive, tmp_path / "out")
    assert "a.h5: " in done.stdout and " 6 chunks on 2 workers" in done.stdout, done.stdout
    assert "3 of 3 recordings written" in done.stdout
    assert not (tmp_path / "out" / STORE_DIR).exists()  # the finished chunks are cleaned up


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[str]:
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, started by hand."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    log = (tmp_path / "cluster.log").open("w")
    procs = [
        subprocess.Popen(
            [
                *dask,
                "--host",
                "127.0.0.1",
                "--port",
                address.rsplit(":", 1)[1],
                "--dashboard-address",
                ":0",
            ],
            stdout=log,
            stderr=log,
            env=env(),
        )
    ]
    for i in range(2):
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    address,
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                    "--name",
                    f"w{i}",
                    "--local-directory",
                    str(tmp_path / f"w{i}"),
                ],
                stdout=log,
                stderr=log,
                env=env(),
            )
        )
    try:
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


def test_existing_cluster_of_real_processes_equals_sequential_detect(
    archive: Archive, dask_cluster: str, tmp_path: Path
) -> None:
    done = reanalyse(archive, tmp_path / "out", "--scheduler", dask_cluster)
    assert done.returncode == 0, done.stderr
    assert_equal_to_sequential(archive, tmp_path / "out")
    assert "a.h5: " in done.stdout and " 6 chunks on " in done.stdout  # the 30 s recording
    # both workers ran chunks (which ones depends on the timing: the client hands a task to
    # whichever worker is free)
    assert " chunks on 2 workers" in done.stdout and "2 workers" in done.stdout.splitlines()[-1]


def test_rerun_after_ctrl_c_redoes_only_the_missing_chunks(
    archive: Archive, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "aemon.cli",
        "reanalyse",
        str(archive.a),
        "--out",
        str(out),
        "--model",
        str(archive.model),
        "--chunk",
        "2",
        "--workers",
        "1",
        "--no-progress",
    ]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env()
    )
    deadline = time.monotonic() + 180
    while not list(out.glob(f"{STORE_DIR}/*/chunk-*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)  # Ctrl-C once the first chunks are finished
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "aemon: interrupted" in stderr
    done_before = len(list(out.glob(f"{STORE_DIR}/*/chunk-*.json")))
    assert 1 <= done_before < 15
    assert not list(out.glob("a.h5*.csv"))  # neither the final CSV nor a partial one

    again = aemon(*command[3:])
    assert again.returncode == 0, again.stderr
    assert f"{15 - done_before} chunks run ({done_before} done before)" in again.stdout
    assert sorted(rows(out / "a.h5.events.csv")) == sorted(archive.expected["a.h5"])


def test_corrupt_recordings_get_one_error_line_each_and_the_others_are_written(
    archive: Archive, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.h5"
    broken.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(4000))  # no recording in it
    damaged = tmp_path / "damaged.h5"  # readable, but a compressed block late in it is not
    shutil.copy(archive.b, damaged)
    with h5py.File(damaged) as f:
        raw = f["raw"].id
        block = raw.get_chunk_info(raw.get_num_chunks() - 2)
    with damaged.open("r+b") as f:
        f.seek(block.byte_offset + 16)
        f.write(b"\xff" * 64)
    recordings = (archive.a, broken, damaged, archive.c)
    done = reanalyse(archive, tmp_path / "out", "--workers", "2", recordings=recordings)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("aemon: error:")]
    assert len(errors) == 2 and len(done.stderr.strip().splitlines()) == 2, done.stderr
    assert str(broken) in errors[0]
    assert f"{damaged} chunk 2/2 (" in errors[1] and "cannot decode samples" in errors[1]
    for name in ("a.h5", "c.wav"):
        assert sorted(rows(tmp_path / "out" / f"{name}.events.csv")) == sorted(
            archive.expected[name]
        )
    assert "2 of 4 recordings written" in done.stdout
    assert not (tmp_path / "out" / "damaged.h5.events.csv").exists()


def test_bad_arguments_are_refused_in_one_line(archive: Archive, tmp_path: Path) -> None:
    done = aemon("reanalyse", tmp_path / "nothing-*.h5", "--out", tmp_path / "out")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("aemon: error:") and "holds no recording" in done.stderr
    done = aemon("reanalyse", archive.a, "--out", tmp_path, "--workers", "0")
    assert done.returncode == 2 and "--workers 0 is invalid" in done.stderr


def test_directories_globs_tradb_and_named_tables(archive: Archive, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    recording = Path(shutil.copy(archive.a, inputs / "a.h5"))
    wav = Path(shutil.copy(archive.c, inputs / "c.wav"))
    tradb = REPO / "recordings" / "sim-1m5-hits.tradb"
    out = tmp_path / "out"
    command = ("reanalyse", inputs, str(REPO / "recordings" / "*.tradb"), "--out", out,
               "--detector", "threshold", "--table", "thr", "--workers", "1", "--chunk", "5",
               "--no-progress")  # fmt: skip
    done = aemon(*command)
    assert done.returncode == 0, done.stderr
    for path in (recording, wav, tradb):
        expected = tmp_path / f"{path.name}.csv"
        detect_file(path, expected, detector="threshold", progress=False)
        # the same rows; the threshold detector reports a block's hits channel by channel,
        # so next to a chunk border two channels' rows may come in the other order
        assert sorted(rows(out / f"{path.name}.events.csv")) == sorted(rows(expected)), path
    with h5py.File(recording) as f:  # the .h5 got the events as a named table too
        table = f[GROUP]["thr"]
        assert len(table) == len(rows(out / "a.h5.events.csv")) > 20
        assert table.attrs["detector"] == "threshold" and "reanalyse" in table.attrs["source"]
    again = aemon(*command)  # everything is written: nothing to do
    assert again.returncode == 0 and again.stdout.count("exists; skipped") == 3, again.stdout
