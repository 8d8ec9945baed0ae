"""Acquisition faults with real parts: a full tmpfs under the recorder, a real ZeroMQ feed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import zmq

from aemon.cli import main
from aemon.drivers.daq_publisher import DaqPublisher
from aemon.drivers.protocol import FrameHeader, encode_frame
from aemon.drivers.zmq_source import ZmqSource
from aemon.io import schema
from aemon.io.recording import RecordingReader, RecordingWriter
from aemon.stream.acquisition import Acquisition

RATE = 500_000.0
FRAME = 32768


def _block(first: int, n: int) -> npt.NDArray[np.int16]:
    """Incompressible but reproducible samples for indices ``first .. first + n``."""
    return np.random.default_rng(first).integers(-30000, 30000, (1, n)).astype(np.int16)


class _Feed(threading.Thread):
    """A raw PUSH sender that gives up (and says so) once nobody takes its frames."""

    def __init__(self, endpoint: str, frames: int) -> None:
        super().__init__(daemon=True)
        self.endpoint, self.frames = endpoint, frames
        self.sent = 0
        self.blocked = threading.Event()

    def run(self) -> None:
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        sock = ctx.socket(zmq.PUSH)
        sock.setsockopt(zmq.SNDTIMEO, 3000)
        sock.setsockopt(zmq.SNDHWM, 4)
        sock.bind(self.endpoint)
        sock.poll(20_000, zmq.POLLOUT)  # wait for the receiver to connect
        start = time.monotonic()
        try:
            for seq in range(self.frames):
                first = seq * FRAME
                time.sleep(max(0.0, start + first / RATE / 2 - time.monotonic()))  # 2 MB/s
                header = FrameHeader(1, 9, seq, first, RATE, 1, "int16", FRAME, 1e-6, 0)
                sock.send_multipart(encode_frame(header, _block(first, FRAME)), copy=False)
                self.sent += 1
        except zmq.Again:
            self.blocked.set()
        finally:
            sock.close(linger=0)
            ctx.term()


def test_disk_full_closes_the_recording_early_and_stops_consuming(
    small_tmpfs: Path, free_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = small_tmpfs / "run.h5"
    feed = _Feed(free_endpoint, frames=500)  # 33 MB, at 2 MB/s: the 10 MiB tmpfs fills up
    feed.start()
    started = time.monotonic()
    status = main(["record", free_endpoint, "--out", str(out), "-q"])
    assert time.monotonic() - started < 30
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    errors = [line for line in err if line.startswith("aemon: error: ")]
    assert len(errors) == 1 and "disk full" in errors[0]
    # The receiver is gone: the sender blocks instead of feeding a process that drops data.
    feed.join(timeout=20)
    assert feed.blocked.is_set() and feed.sent < 500
    if not out.exists():  # a recording cut short keeps its .partial name (aemon record)
        out = small_tmpfs / "run.partial.h5"
    assert not Path(f"{out}.reserve").exists()
    with RecordingReader(out) as reader:
        info = reader.info
        assert not info.closed_cleanly and info.state == schema.STATE_ABORTED
        assert info.samples > 0
        kinds = [row[3] for row in reader.incidents()]
        assert kinds == ["disk_full"]
        assert reader.incidents()[0][0] == info.samples  # first unrecorded sample, exact
        recorded = reader.read(0, info.samples)
    expected = np.concatenate(
        [_block(f, FRAME) for f in range(0, info.samples + FRAME, FRAME)], axis=1
    )
    np.testing.assert_array_equal(recorded, expected[:, : info.samples])


def _publish_run(endpoint: str, stream_id: int, frames: int, *, end: bool) -> list[np.ndarray]:
    """One DAQ run from index 0; ``end=False`` dies without an end-of-stream frame."""
    sent = []
    publisher = DaqPublisher(endpoint, stream_id=stream_id, frame_samples=FRAME, crc32=True)
    try:
        for k in range(frames):
            block = _block(stream_id * 10**6 + k * FRAME, FRAME)
            publisher.send(k * FRAME, block, volts_per_count=1e-6, sample_rate_hz=RATE)
            sent.append(block)
        if end:
            publisher.end()
    finally:
        publisher.close(linger_s=5.0)
    return sent


def test_a_daq_restart_becomes_a_new_segment_and_the_receiver_follows(
    tmp_path: Path, free_endpoint: str
) -> None:
    first_run = _publish_run_in_thread(free_endpoint, 1, 4, end=False)
    source = ZmqSource(free_endpoint, first_frame_timeout_s=10)
    with source:
        fmt, channels = source.format, source.channel_info
        with RecordingWriter(tmp_path / "r.h5", fmt, channels) as writer:
            acquisition = Acquisition(source, writer)
            acquisition.start()
            first_run.join(timeout=20)
            time.sleep(0.3)
            second = _publish_run(free_endpoint, 2, 3, end=True)  # same port, index from 0
            assert acquisition.wait(timeout=20)
            acquisition.stop()
    with RecordingReader(tmp_path / "r.h5") as reader:
        info = reader.info
        assert info.closed_cleanly and info.samples == 7 * FRAME
        segments = reader.segments()
        assert [raw for raw, _ in segments] == [0, 4 * FRAME]
        (restart,) = reader.gaps()
        assert restart.reason == "restart" and restart.start_sample == 4 * FRAME
        assert segments[1][1] == restart.stop_sample > 4 * FRAME  # time goes on
        kinds = [row[3] for row in reader.incidents()]
        assert kinds == ["restart"]
        assert "00000001" in reader.incidents()[0][4] and "00000002" in reader.incidents()[0][4]
        np.testing.assert_array_equal(
            reader.read(4 * FRAME, 3 * FRAME), np.concatenate(second, axis=1)
        )
        np.testing.assert_array_equal(
            reader.read(0, 4 * FRAME),
            np.concatenate([_block(10**6 + k * FRAME, FRAME) for k in range(4)], axis=1),
        )


def _publish_run_in_thread(
    endpoint: str, stream_id: int, frames: int, *, end: bool
) -> threading.Thread:
    thread = threading.Thread(
        target=_publish_run, args=(endpoint, stream_id, frames), kwargs={"end": end}, daemon=True
    )
    thread.start()
    return thread
