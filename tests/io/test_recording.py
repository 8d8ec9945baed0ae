"""HDF5 recording format: real files, real SWMR readers in other processes, real crashes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import h5py
import hdf5plugin
import numpy as np
import pytest

from aemon import __version__
from aemon.cli import main as cli_main
from aemon.errors import ConfigError, FileFormatError
from aemon.io import schema
from aemon.io.recording import (
    EVENT_COLUMNS,
    EVENT_DTYPE,
    RecordingReader,
    RecordingWriter,
)
from aemon.types import ChannelInfo, Gap, StreamFormat

RATE = 1_562_500.0
CHUNK = schema.RAW_CHUNK_SAMPLES

# Deterministic int16 test signal, shared with the subprocess scripts below.
PATTERN_SRC = """
import numpy as np
def pattern(channels, start, n):
    i = np.arange(start, start + n, dtype=np.int64)
    rows = [((i * 7 + c * 1000 + (i >> 9) * 13) % 65536 - 32768) for c in range(channels)]
    return np.array(rows, dtype=np.int16)
"""
_namespace: dict = {}
exec(PATTERN_SRC, _namespace)
pattern = _namespace["pattern"]


def int16_format(channels: int = 2, vpc: float = 3.05e-5) -> tuple:
    fmt = StreamFormat(RATE, channels, "int16", vpc)
    infos = [
        ChannelInfo(f"ch{c + 1}", "VS150-RIC", 34.0 + c, vpc * (c + 1)) for c in range(channels)
    ]
    return fmt, infos


def push_in_blocks(writer: RecordingWriter, data: np.ndarray, first: int, block: int) -> None:
    for off in range(0, data.shape[1], block):
        writer.push(first + off, data[:, off : off + block])


def test_int16_round_trip_keeps_samples_and_metadata(tmp_path: Path) -> None:
    fmt, infos = int16_format(3)
    start = datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    n = 2 * CHUNK + 12345  # crosses chunk boundaries, ends mid-chunk
    data = pattern(3, 1000, n)
    path = tmp_path / "rec.h5"
    config = {"detector": {"threshold": 0.5}, "channels": [1, 2, 3]}
    # flush on every push: partial chunks are written, then rewritten when they fill up
    with RecordingWriter(
        path,
        fmt,
        infos,
        start_time_utc=start,
        first_sample=1000,
        config=config,
        flush_interval_s=0.0,
    ) as writer:
        push_in_blocks(writer, data, 1000, 50_000)
        assert writer.samples_written == n
    with RecordingReader(path) as reader:
        info = reader.info
        assert info.samples == n and info.channels == 3 and info.dtype == "int16"
        assert info.sample_rate_hz == RATE
        assert info.duration_s == pytest.approx(n / RATE)
        assert info.first_sample == 1000
        assert info.start_time_utc == "2025-03-04T05:06:07.890123Z"
        assert info.software_version == __version__
        assert info.closed_cleanly and info.compression == "blosc-lz4"
        assert info.gaps == 0 and info.samples_lost == 0 and info.events == 0
        assert reader.format == fmt
        assert reader.channel_info == infos
        assert reader.config == config
        np.testing.assert_array_equal(reader.read(0, n), data)
        np.testing.assert_array_equal(reader.read(n - 10, 100), data[:, -10:])  # clipped
        volts = reader.read(5, 20, volts=True)
        assert volts.dtype == np.float32
        scale = np.array([c.volts_per_count for c in infos])[:, None]
        np.testing.assert_allclose(volts, data[:, 5:25] * scale, rtol=1e-6)
        blocks = list(reader.iter_blocks(100_000))
        assert [b[0] for b in blocks] == list(range(1000, 1000 + n, 100_000))
        np.testing.assert_array_equal(np.concatenate([b[1] for b in blocks], axis=1), data)


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_float32_round_trip_casts_float64(tmp_path: Path, compression: str) -> None:
    fmt = StreamFormat(48_000.0, 2, "float32", 1.0)
    infos = [ChannelInfo("left"), ChannelInfo("right")]
    data = np.random.default_rng(3).normal(0, 0.01, (2, 70_000))  # float64 volts
    path = tmp_path / "f.h5"
    with RecordingWriter(path, fmt, infos, compression=compression) as writer:
        push_in_blocks(writer, data, 0, 4096)
        with pytest.raises(TypeError):
            writer.push(writer.next_sample, np.zeros((2, 10), np.int16))
    with RecordingReader(path) as reader:
        assert reader.info.compression == compression and reader.info.dtype == "float32"
        np.testing.assert_array_equal(reader.read(0, 70_000), data.astype(np.float32))
        np.testing.assert_array_equal(reader.read(0, 10, volts=True), data[:, :10].astype("f4"))


def test_gaps_from_gap_calls_and_jumps_are_zero_filled(tmp_path: Path) -> None:
    fmt, infos = int16_format(2)
    path = tmp_path / "gaps.h5"
    data = pattern(2, 0, 10_000)
    with RecordingWriter(path, fmt, infos) as writer:
        writer.push(0, data[:, :1000])
        writer.gap(Gap(1000, 1500, "sequence"))  # reported by the source
        writer.push(1500, data[:, 1500:3000])
        writer.push(4000, data[:, 4000:5000])  # silent jump: recorded as "missing"
        writer.gap(Gap(5000, 5200, "overflow"))  # covers only part of the next jump
        writer.push(6000, data[:, 6000:10_000])
        with pytest.raises(ValueError, match="in order"):
            writer.push(9000, data[:, :10])
        assert writer.samples_written == 1000 + 1500 + 1000 + 4000
    with RecordingReader(path) as reader:
        assert reader.gaps() == [
            Gap(1000, 1500, "sequence"),
            Gap(3000, 4000, "missing"),
            Gap(5000, 5200, "overflow"),
            Gap(5200, 6000, "missing"),
        ]
        info = reader.info
        assert info.gaps == 4 and info.samples_lost == 500 + 1000 + 1000
        assert info.samples == 10_000
        raw = reader.read(0, 10_000)
        for gap in reader.gaps():
            assert not raw[:, gap.start_sample : gap.stop_sample].any()
        keep = np.ones(10_000, bool)
        for gap in reader.gaps():
            keep[gap.start_sample : gap.stop_sample] = False
        np.testing.assert_array_equal(raw[:, keep], data[:, keep])


def test_long_gap_starts_a_new_segment(tmp_path: Path) -> None:
    fmt, infos = int16_format(1)
    path = tmp_path / "seg.h5"
    jump = int(20 * RATE)  # 20 s, beyond max_zero_fill_s
    with RecordingWriter(path, fmt, infos, first_sample=50, max_zero_fill_s=10.0) as writer:
        writer.push(50, pattern(1, 50, 3000))
        writer.push(50 + 3000 + jump, pattern(1, 3050 + jump, 2000))
    with RecordingReader(path) as reader:
        assert reader.samples == 5000  # the 20 s were not zero-filled
        assert reader.gaps() == [Gap(3050, 3050 + jump, "missing")]
        assert reader.segments() == [(0, 50), (3000, 3050 + jump)]
        assert reader.sample_index(3000) == 3050 + jump
        assert reader.raw_index(3049) == 2999 and reader.raw_index(3050) is None
        blocks = list(reader.iter_blocks(1500))
        assert [b[0] for b in blocks] == [50, 1550, 3050 + jump, 4550 + jump]
        assert [b[1].shape[1] for b in blocks] == [1500, 1500, 1500, 500]
        np.testing.assert_array_equal(blocks[3][1], pattern(1, 4550 + jump, 500))


class FakeBurst(NamedTuple):  # the fields of aemon.sim.simulator.BurstTruth
    onset_sample: int
    end_sample: int
    channel: int
    burst_type: str
    peak_amplitude_v: float
    snr_db: float


def test_events_and_truth_tables(tmp_path: Path) -> None:
    fmt, infos = int16_format(2)
    path = tmp_path / "ev.h5"
    structured = np.zeros(3, [("sample_index", "i8"), ("type", "U8"), ("amplitude_dBAE", "f8")])
    structured["sample_index"] = [10, 20, 30]
    structured["type"] = ["burst", "burst", "noise"]
    structured["amplitude_dBAE"] = [45.0, 61.5, 40.2]
    with RecordingWriter(path, fmt, infos) as writer:
        writer.push(0, pattern(2, 0, 100))
        writer.add_events(structured)
        writer.add_events([{"sample_index": 40, "channel": 1, "type": "burst", "score": 0.9}])
        with pytest.raises(ValueError, match="unknown event column"):
            writer.add_events([{"sample_idx": 1}])
        writer.add_truth(
            [FakeBurst(100, 352, 1, "A", 0.012, 18.5), FakeBurst(900, 1150, 0, "B", 1e-3, 3.0)]
        )
    with RecordingReader(path) as reader:
        events = reader.events()
        assert events.dtype == EVENT_DTYPE and events.dtype.names == tuple(EVENT_COLUMNS)
        assert events["sample_index"].tolist() == [10, 20, 30, 40]
        assert events["type"].tolist() == [b"burst", b"burst", b"noise", b"burst"]
        assert events["channel"][3] == 1 and events["score"][3] == pytest.approx(0.9)
        assert np.isnan(events["score"][0])  # missing float column: unknown
        assert events["amplitude_dBAE"][1] == pytest.approx(61.5)
        assert events["counts"][3] == -1  # missing int column: unknown
        truth = reader.truth()
        assert truth["onset_sample"].tolist() == [100, 900]
        assert truth["burst_type"].tolist() == [b"A", b"B"]
        assert truth["snr_db"][0] == pytest.approx(18.5)
        assert reader.info.events == 4 and reader.info.truth_bursts == 2


def test_channel_sha256_matches_hashlib(tmp_path: Path) -> None:
    fmt, infos = int16_format(3)
    data = pattern(3, 0, CHUNK + 777)
    path = tmp_path / "h.h5"
    with RecordingWriter(path, fmt, infos) as writer:
        push_in_blocks(writer, data, 0, 10_000)
    expected = [hashlib.sha256(data[c].astype("<i2").tobytes()).hexdigest() for c in range(3)]
    with RecordingReader(path) as reader:
        assert reader.channel_sha256(block_samples=50_000) == expected
        assert reader.channel_sha256() == expected


def test_plain_h5py_reads_the_documented_layout(tmp_path: Path) -> None:
    fmt, infos = int16_format(2)
    data = pattern(2, 0, 5000)
    path = tmp_path / "plain.h5"
    with RecordingWriter(path, fmt, infos, config={"a": 1}) as writer:
        writer.push(0, data)
    assert hdf5plugin  # registers the Blosc filter for plain h5py
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "aemon-recording" and f.attrs["format_version"] == 1
        assert json.loads(f.attrs["config_json"]) == {"a": 1}
        assert f["raw"].chunks == (1, CHUNK)
        np.testing.assert_array_equal(f["raw"][:, :], data)
        assert f["channels"]["name"].tolist() == [b"ch1", b"ch2"]
        assert f["status"][0]["state"] == schema.STATE_CLOSED


def test_writer_rejects_bad_setup(tmp_path: Path) -> None:
    fmt, infos = int16_format(2)
    path = tmp_path / "x.h5"
    RecordingWriter(path, fmt, infos).close()
    with pytest.raises(ConfigError, match="exists"):
        RecordingWriter(path, fmt, infos)
    RecordingWriter(path, fmt, infos, overwrite=True).close()
    with pytest.raises(ConfigError, match="channel descriptions"):
        RecordingWriter(tmp_path / "y.h5", fmt, infos[:1])
    with pytest.raises(ConfigError, match="compression"):
        RecordingWriter(tmp_path / "z.h5", fmt, infos, compression="zip")
    with pytest.raises(ConfigError, match="cannot create"):
        RecordingWriter(tmp_path / "no" / "dir.h5", fmt, infos)
    with RecordingWriter(tmp_path / "w.h5", fmt, infos) as writer:
        with pytest.raises(ValueError, match="block"):
            writer.push(0, np.zeros((3, 10), np.int16))
        with pytest.raises(TypeError):
            writer.push(0, np.zeros((2, 10), np.float32))


LIVE_READER = (
    PATTERN_SRC
    + """
import json, sys, time
from aemon.io.recording import RecordingReader
path, channels = sys.argv[1], int(sys.argv[2])
seen, ok = [], True
with RecordingReader(path) as reader:
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        info = reader.info
        if not seen or info.samples != seen[-1]:
            seen.append(info.samples)
            ok &= bool((reader.read(0, info.samples) == pattern(channels, 0, info.samples)).all())
        if info.closed_cleanly:
            break
        time.sleep(0.01)
    print(json.dumps({"seen": seen, "ok": ok, "closed": info.closed_cleanly}), flush=True)
"""
)


def test_reader_in_another_process_follows_a_live_recording(tmp_path: Path) -> None:
    fmt, infos = int16_format(2)
    path = tmp_path / "live.h5"
    block, blocks = 20_000, 25
    data = pattern(2, 0, block * blocks)
    with RecordingWriter(path, fmt, infos, flush_interval_s=0.0) as writer:
        writer.push(0, data[:, :block])
        proc = subprocess.Popen(
            [sys.executable, "-c", LIVE_READER, str(path), "2"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            for i in range(1, blocks):
                writer.push(i * block, data[:, i * block : (i + 1) * block])
                time.sleep(0.03)
        except BaseException:
            proc.kill()
            raise
    out, _ = proc.communicate(timeout=60)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["ok"] and result["closed"]
    seen = result["seen"]
    assert seen == sorted(seen) and len(seen) >= 3, seen  # grew while it was being read
    assert seen[-1] == block * blocks


CRASHING_WRITER = (
    PATTERN_SRC
    + """
import sys
from aemon.io.recording import RecordingWriter
from aemon.types import ChannelInfo, Gap, StreamFormat
path = sys.argv[1]
fmt = StreamFormat(1562500.0, 2, "int16", 1e-4)
writer = RecordingWriter(path, fmt, [ChannelInfo("a"), ChannelInfo("b")], flush_interval_s=1e9)
block, first = 30_000, 0
while True:
    writer.push(first, pattern(2, first, block))
    first += block
    if first % (4 * block) == 0:
        writer.add_events([{"sample_index": first, "channel": 0}])
        writer.flush()
        print(first, flush=True)
"""
)


def test_killed_writer_leaves_a_readable_file_with_flushed_samples(tmp_path: Path) -> None:
    path = tmp_path / "crash.h5"
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        flushed = [int(proc.stdout.readline()) for _ in range(3)]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with RecordingReader(path) as reader:
        info = reader.info
        assert not info.closed_cleanly
        assert info.samples >= flushed[-1]
        assert info.events >= 3
        np.testing.assert_array_equal(reader.read(0, flushed[-1]), pattern(2, 0, flushed[-1]))
    assert cli_main(["info", str(path)]) == 0


def test_unreadable_files_raise_one_line_file_format_errors(tmp_path: Path) -> None:
    cases: dict[str, Path] = {}
    cases["missing"] = tmp_path / "missing.h5"
    cases["random"] = tmp_path / "random.h5"
    cases["random"].write_bytes(np.random.default_rng(0).bytes(100_000))
    cases["foreign"] = tmp_path / "foreign.h5"
    with h5py.File(cases["foreign"], "w") as f:
        f["data"] = np.arange(10)
    cases["newer"] = tmp_path / "newer.h5"
    fmt, infos = int16_format(2)
    with RecordingWriter(cases["newer"], fmt, infos) as writer:
        writer.push(0, pattern(2, 0, 100))
    with h5py.File(cases["newer"], "r+") as f:
        f.attrs["format_version"] = 99
    good = tmp_path / "good.h5"
    with RecordingWriter(good, fmt, infos) as writer:
        writer.push(0, np.random.default_rng(1).integers(-9999, 9999, (2, 300_000), np.int16))
    blob = good.read_bytes()
    cases["truncated"] = tmp_path / "truncated.h5"
    cases["truncated"].write_bytes(blob[: len(blob) // 2])
    cases["stub"] = tmp_path / "stub.h5"
    cases["stub"].write_bytes(blob[:600])
    expected = {
        "missing": "no such file",
        "random": "not an HDF5 file",
        "foreign": "not an aemon recording",
        "newer": "version 99",
        "truncated": "truncated",
        "stub": "truncated or corrupt",
    }
    for name, path in cases.items():
        with pytest.raises(FileFormatError) as caught:
            RecordingReader(path)
        message = str(caught.value)
        assert expected[name] in message and str(path) in message and "\n" not in message


def test_garbled_chunk_is_reported_when_read(tmp_path: Path) -> None:
    fmt, infos = int16_format(1)
    path = tmp_path / "garbled.h5"
    with RecordingWriter(path, fmt, infos) as writer:
        writer.push(0, np.random.default_rng(2).integers(-999, 999, (1, CHUNK), np.int16))
    with h5py.File(path, "r") as f:
        offset = f["raw"].id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b"\xff" * 64)  # destroy the Blosc header of the first chunk
    with RecordingReader(path) as reader, pytest.raises(FileFormatError, match="corrupt"):
        reader.read(0, 10)


def test_info_command_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    fmt, infos = int16_format(2)
    path = tmp_path / "info.h5"
    with RecordingWriter(path, fmt, infos) as writer:
        writer.push(0, pattern(2, 0, 1000))
        writer.push(1500, pattern(2, 1500, 1625))
        writer.add_events([{"sample_index": 5}, {"sample_index": 9}])
    assert cli_main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "1,562,500 Hz" in text and "3,125 per channel" in text
    assert "1 (500 samples" in text and "closed cleanly yes" in " ".join(text.split())
    assert "VS150-RIC" in text
    assert cli_main(["info", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sample_rate"] == RATE and summary["channels"] == 2
    assert summary["samples"] == 3125 and summary["gaps"] == 1
    assert summary["samples_lost"] == 500 and summary["events"] == 2
    assert summary["closed_cleanly"] is True and summary["dtype"] == "int16"
    assert summary["duration_s"] == pytest.approx(3125 / RATE)
    assert summary["software_version"] == __version__
    bad = tmp_path / "bad.h5"
    bad.write_text("not a recording")
    assert cli_main(["info", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aemon: error:") and "not an HDF5 file" in err and "\n" not in err
    assert os.path.exists(path)
