"""`aemon repair` on a file whose writer process was killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401
import numpy as np
import pytest

from aemon.cli import main
from aemon.io import schema
from aemon.io.recording import RecordingReader
from aemon.io.repair import lookup3
from aemon.io.writer_lock import is_being_written

WRITER = """
import sys, time, numpy as np
from aemon.io.recording import RecordingWriter
from aemon.types import ChannelInfo, StreamFormat
w = RecordingWriter(sys.argv[1], StreamFormat(1e6, 2, "int16", 1e-6),
                    [ChannelInfo("a"), ChannelInfo("b")], flush_interval_s=0.1)
i = 0
while True:
    w.push(i, np.random.default_rng(i).integers(-3000, 3000, (2, 40000)).astype(np.int16))
    i += 40000
    print(i, flush=True)
    time.sleep(0.005)
"""


def test_lookup3_matches_hdf5_superblock_checksums(tmp_path: Path) -> None:
    path = tmp_path / "plain.h5"
    h5py.File(path, "w", libver="latest").close()
    head = path.read_bytes()[:48]
    assert lookup3(head[:44]) == int.from_bytes(head[44:48], "little")
    assert lookup3(b"") == 0xDEADBEEF


def _start_writer(path: Path, samples: int) -> subprocess.Popen[str]:
    """A real writer process, returned once it has pushed ``samples`` samples per channel."""
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert writer.stdout is not None
    while int(writer.stdout.readline()) < samples:
        pass
    return writer


def test_repair_refuses_a_file_a_live_writer_holds_and_info_says_being_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "live.partial.h5"
    writer = _start_writer(path, 400_000)
    try:
        assert is_being_written(path)
        assert main(["repair", str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("aemon: error: ") and "being written" in err and "\n" not in err
        assert main(["info", str(path)]) == 0
        out = capsys.readouterr().out
        assert "being written" in out and "aemon repair" not in out
        time.sleep(0.3)  # the writer goes on flushing into an untouched file
        with RecordingReader(path) as reader:
            assert reader.info.samples >= 400_000 - 40000
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        assert writer.stdout is not None
        writer.stdout.close()
    assert not is_being_written(path)  # the kernel dropped the lock with the process
    assert main(["repair", str(path)]) == 0
    with h5py.File(path, "r") as f:
        assert f["status"][0]["state"] == schema.STATE_REPAIRED and f["raw"].shape[1] > 0


def test_repair_makes_a_killed_writers_file_openable_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "killed.h5"
    writer = _start_writer(path, 1_000_000)
    time.sleep(0.3)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert writer.stdout is not None
    writer.stdout.close()
    with pytest.raises(OSError, match="already open for write"):
        h5py.File(path, "r")
    assert main(["info", str(path)]) == 0
    assert f"aemon repair {path}" in capsys.readouterr().out
    assert main(["repair", str(path)]) == 0
    with h5py.File(path, "r") as f:  # a plain open, as any HDF5 reader does
        raw = f["raw"][()]
        assert f["status"][0]["state"] == schema.STATE_REPAIRED
    assert raw.shape[1] >= 1_000_000 - 40000
    expected = np.concatenate(
        [np.random.default_rng(i).integers(-3000, 3000, (2, 40000)).astype(np.int16)
         for i in range(0, raw.shape[1] + 40000, 40000)], axis=1,
    )  # fmt: skip
    np.testing.assert_array_equal(raw, expected[:, : raw.shape[1]])
    with RecordingReader(path) as reader:
        assert not reader.info.closed_cleanly
        assert [i[3] for i in reader.incidents()] == ["repaired"]
    assert not Path(f"{path}.reserve").exists()
    assert main(["repair", str(path)]) == 0
    assert "nothing to repair" in capsys.readouterr().out
