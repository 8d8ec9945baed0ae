"""DaqPublisher and `aemon daq-sim` over real loopback sockets."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import zmq

from aemon.cli import main
from aemon.commands.daq_sim import present_ranges
from aemon.drivers.daq_publisher import ChannelDigest, DaqPublisher, quantise
from aemon.drivers.protocol import FLAG_CRC32, FrameHeader, decode_frame, max_frame_samples
from aemon.drivers.zmq_source import ZmqSource
from aemon.io.recording import RecordingWriter
from aemon.io.truth import TRUTH_CSV_COLUMNS
from aemon.sim.simulator import BurstTruth
from aemon.types import ChannelInfo, Gap, StreamFormat


class CollectingSink:
    def __init__(self) -> None:
        self.blocks: list[tuple[int, npt.NDArray[np.generic]]] = []
        self.gaps: list[Gap] = []

    def push(self, first_sample: int, samples: npt.NDArray[np.generic]) -> None:
        self.blocks.append((first_sample, samples.copy()))

    def gap(self, gap: Gap) -> None:
        self.gaps.append(gap)


def receive_all(socket: zmq.Socket[bytes]) -> list[tuple[FrameHeader, npt.NDArray[np.generic]]]:
    frames = []
    while socket.poll(2000):
        header, samples = decode_frame(socket.recv_multipart())
        frames.append((header, samples.copy()))
        if header.end_of_stream:
            break
    return frames


def test_channel_digest_is_sha256_of_each_channel_concatenated() -> None:
    rng = np.random.default_rng(0)
    blocks = [rng.integers(-3000, 3000, (3, n), dtype=np.int16) for n in (10, 1, 500)]
    digest = ChannelDigest()
    for block in blocks:
        digest.update(block)
    whole = np.concatenate(blocks, axis=1)
    assert digest.hexdigests() == [hashlib.sha256(row.tobytes()).hexdigest() for row in whole]
    with pytest.raises(ValueError, match="channels"):
        digest.update(np.zeros((2, 4), np.int16))


def test_publisher_splits_blocks_into_numbered_frames(
    receiver: tuple[zmq.Socket[bytes], str],
) -> None:
    socket, endpoint = receiver
    block = np.arange(2 * 250, dtype=np.int16).reshape(2, 250)
    with DaqPublisher(endpoint, bind=False, stream_id=42, frame_samples=100, digest=True) as pub:
        pub.send(1000, block, volts_per_count=2e-6, sample_rate_hz=1e6, daq_time_ns=5_000_000)
        pub.send(1300, block[:, :10], volts_per_count=2e-6, sample_rate_hz=1e6)
        assert pub.next_sample == 1310
    frames = receive_all(socket)
    headers = [h for h, _ in frames]
    assert [(h.seq, h.first_sample, h.n_samples) for h in headers] == [
        (0, 1000, 100),
        (1, 1100, 100),
        (2, 1200, 50),
        (3, 1300, 10),
        (4, 1310, 0),
    ]
    assert [h.daq_time_ns for h in headers[:3]] == [5_000_000, 5_100_000, 5_200_000]
    assert headers[-1].end_of_stream and not any(h.end_of_stream for h in headers[:-1])
    assert {
        (h.stream_id, h.sample_rate_hz, h.channels, h.dtype, h.volts_per_count) for h in headers
    } == {(42, 1e6, 2, "int16", 2e-6)}
    np.testing.assert_array_equal(np.concatenate([s for _, s in frames[:3]], axis=1), block)
    assert pub.digest is not None
    sent = np.concatenate([block, block[:, :10]], axis=1)
    assert pub.digest.hexdigests() == [hashlib.sha256(r.tobytes()).hexdigest() for r in sent]


def test_publisher_crc32_flag(receiver: tuple[zmq.Socket[bytes], str]) -> None:
    socket, endpoint = receiver
    with DaqPublisher(endpoint, bind=False, crc32=True) as pub:
        pub.send(0, np.ones((1, 64), np.float32), volts_per_count=1.0, sample_rate_hz=48000.0)
    header, samples = receive_all(socket)[0]
    assert header.flags & FLAG_CRC32 and header.payload_crc32 != 0
    assert samples.dtype == np.float32


def test_publisher_refuses_out_of_order_and_changed_format(
    receiver: tuple[zmq.Socket[bytes], str],
) -> None:
    _, endpoint = receiver
    block = np.zeros((2, 10), np.int16)
    with DaqPublisher(endpoint, bind=False) as pub:
        pub.send(100, block, volts_per_count=1e-6, sample_rate_hz=1e6)
        with pytest.raises(ValueError, match="before 110"):
            pub.send(105, block, volts_per_count=1e-6, sample_rate_hz=1e6)
        with pytest.raises(ValueError, match="differs"):
            pub.send(110, block, volts_per_count=1e-6, sample_rate_hz=2e6)
        with pytest.raises(ValueError, match="int16 or float32"):
            pub.send(110, block.astype(np.int32), volts_per_count=1e-6, sample_rate_hz=1e6)
        pub.end()
        with pytest.raises(ValueError, match="after end"):
            pub.send(110, block, volts_per_count=1e-6, sample_rate_hz=1e6)


def test_quantise_rounds_and_counts_clipping() -> None:
    vpc = 0.1 / 32768
    volts = np.array([[0.0, vpc * 1.4, -vpc * 2.6, 0.2, -0.2, 0.1]], dtype=np.float32)
    counts, clipped = quantise(volts, vpc)
    assert counts.dtype == np.int16
    assert counts.tolist() == [[0, 1, -3, 32767, -32768, 32767]]
    assert clipped == 3  # 0.2 V, -0.2 V and exactly +full scale (32768 counts)


def run_daq_sim(endpoint: str, tmp_path: Path, *options: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "aemon.cli", "daq-sim", "--endpoint", endpoint, "--connect"]
    return subprocess.Popen(
        [*command, "--summary", str(tmp_path / "summary.json"), *options],
        stderr=subprocess.PIPE,
    )


def collect(source: ZmqSource) -> CollectingSink:
    sink = CollectingSink()
    with source:
        source.start(sink)
        assert source.wait(30.0), "daq-sim stream did not end"
    return sink


def test_daq_sim_end_to_end_is_lossless_and_paced(tmp_path: Path) -> None:
    source = ZmqSource("tcp://127.0.0.1:*", bind=True, expected_rate_hz=200_000.0)
    endpoint = source.connect()
    truth = tmp_path / "truth.csv"
    args = ["--channels", "2", "--rate", "200000", "--duration", "1", "--seed", "3"]
    process = run_daq_sim(
        endpoint, tmp_path, *args, "--frame-samples", "8192", "--truth", str(truth)
    )
    sink = collect(source)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr.decode()
    summary = json.loads((tmp_path / "summary.json").read_text())
    received = ChannelDigest()
    for _, block in sink.blocks:
        received.update(block)
    assert summary["samples_per_channel"] == 200_000 == source.stats.samples
    assert summary["frames"] == source.stats.frames == 25  # 24 full frames + 3392 samples
    assert summary["channel_sha256"] == received.hexdigests()
    assert len(set(summary["channel_sha256"])) == 2
    assert sink.gaps == [] and source.stats.malformed == 0
    assert source.format.dtype == "int16" and source.format.volts_per_count == 0.1 / 32768
    assert summary["wall_s"] >= 0.95  # paced by the clock: 1 s of signal takes 1 s
    assert summary["x_real_time"] <= 1.06
    with truth.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == TRUTH_CSV_COLUMNS
    assert len(rows) - 1 == summary["truth_bursts"] > 0
    for row in rows[1:]:
        assert 0 <= int(row[1]) < 200_000 and row[2] in ("0", "1") and row[3] in ("low", "high")
        assert float(row[0]) == pytest.approx(int(row[1]) / 200_000)


def test_daq_sim_unpaced_full_rate(tmp_path: Path) -> None:
    source = ZmqSource("tcp://127.0.0.1:*", bind=True, expected_channels=4)
    endpoint = source.connect()
    process = run_daq_sim(endpoint, tmp_path, "--duration", "0.5", "--no-pace", "--channels", "4")
    sink = collect(source)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr.decode()
    summary = json.loads((tmp_path / "summary.json").read_text())
    received = ChannelDigest()
    for _, block in sink.blocks:
        received.update(block)
    assert summary["samples_per_channel"] == 781_250 == source.stats.samples
    assert summary["channel_sha256"] == received.hexdigests()
    assert summary["sample_rate_hz"] == 1_562_500.0


def test_daq_sim_bad_options_are_one_line_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["daq-sim", "--frame-samples", "0"]) == 2
    assert capsys.readouterr().err.strip() == (
        "aemon: error: --frame-samples 0 is invalid: it must be a whole number of at least 1; "
        "use e.g. --frame-samples 32768"
    )
    assert main(["daq-sim", "--duration", "-1"]) == 2
    assert "--duration -1 is invalid: it must be a positive" in capsys.readouterr().err


def test_daq_sim_refuses_frames_over_the_protocol_limit(
    capsys: pytest.CaptureFixture[str], free_endpoint: str
) -> None:
    # 2 int16 channels × 1 100 000 samples = 4.4 MB, over the protocol's 4 MiB per frame
    assert main(["daq-sim", "--endpoint", free_endpoint, "--channels", "2",
                 "--frame-samples", "1100000", "--duration", "1"]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert err.startswith("aemon: error: --frame-samples 1100000 is too large")
    assert f"use at most {max_frame_samples(2, 'int16')}" in err and "\n" not in err
    assert max_frame_samples(2, "int16") == 1 << 20


def test_publisher_refuses_frames_over_the_protocol_limit(
    receiver: tuple[zmq.Socket[bytes], str],
) -> None:
    _, endpoint = receiver
    block = np.zeros((2, 600_000), np.float32)
    with (
        DaqPublisher(endpoint, bind=False, frame_samples=600_000) as pub,
        pytest.raises(ValueError, match="over the protocol's limit of 524288"),
    ):
        pub.send(0, block, volts_per_count=1.0, sample_rate_hz=1e6)


def test_present_ranges_cut_out_gaps() -> None:
    gaps = [(5, 8), (12, 20), (30, 31)]
    assert list(present_ranges(0, 25, gaps)) == [(0, 5), (8, 12), (20, 25)]
    assert list(present_ranges(13, 19, gaps)) == []
    assert list(present_ranges(20, 40, gaps)) == [(20, 30), (31, 40)]


def test_daq_sim_replays_a_recording_with_its_gaps_and_truth(tmp_path: Path) -> None:
    rate = 100_000.0
    data = np.random.default_rng(5).integers(-9000, 9000, (2, 60_000), dtype=np.int16)
    path = tmp_path / "rec.h5"
    fmt = StreamFormat(rate, 2, "int16", 2e-6)
    with RecordingWriter(path, fmt, [ChannelInfo("a"), ChannelInfo("b")]) as writer:
        writer.push(0, data[:, :25_000])
        writer.gap(Gap(25_000, 26_000, "sequence"))
        writer.push(26_000, data[:, 26_000:])
        writer.add_truth([BurstTruth(40_000, 40_300, 1, 0, 0.01, 30.0)])
    source = ZmqSource("tcp://127.0.0.1:*", bind=True, expected_rate_hz=rate)
    endpoint = source.connect()
    truth = tmp_path / "truth.csv"
    process = run_daq_sim(
        endpoint,
        tmp_path,
        "--file",
        str(path),
        "--no-pace",
        "--frame-samples",
        "10000",
        "--truth",
        str(truth),
    )
    sink = collect(source)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr.decode()
    assert sink.gaps == [Gap(25_000, 26_000, "index")]
    assert source.format == fmt
    sent = np.concatenate([data[:, :25_000], data[:, 26_000:]], axis=1)
    received = ChannelDigest()
    for _, block in sink.blocks:
        received.update(block)
    expected = [hashlib.sha256(row.tobytes()).hexdigest() for row in sent]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert received.hexdigests() == summary["channel_sha256"] == expected
    with truth.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][1:4] == ["40000", "1", "low"]


def test_a_receiver_that_left_on_its_own_is_no_warning_at_the_end(
    free_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    with DaqPublisher(free_endpoint) as pub:
        context = zmq.Context()
        pull = context.socket(zmq.PULL)
        pull.connect(free_endpoint)
        assert pub.wait_for_receiver(10.0)
        pub.send(0, np.ones((1, 64), np.int16), volts_per_count=1e-6, sample_rate_hz=1e6)
        assert pull.poll(5000)
        decode_frame(pull.recv_multipart())
        pull.close(linger=0)  # it had what it wanted, like `aemon record --duration`
        context.term()
        deadline = time.monotonic() + 10.0
        while pub.count_receivers() and time.monotonic() < deadline:
            time.sleep(0.05)
        with caplog.at_level("INFO", logger="aemon.drivers.daq_publisher"):
            assert pub.end(timeout_s=0.3) is False
    said = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert ("INFO", f"{free_endpoint}: the receiver left before the end-of-stream frame") in said
    assert not [m for level, m in said if level == "WARNING"]
