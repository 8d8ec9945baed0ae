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
from aemon.drivers.protocol import FrameHeader, encode_frame
from aemon.io import schema
from aemon.io.recording import RecordingReader

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
    assert err[-1].startswith("aemon: error: ") and "disk full" in err[-1]
    # The receiver is gone: the sender blocks instead of feeding a process that drops data.
    feed.join(timeout=20)
    assert feed.blocked.is_set() and feed.sent < 500
    assert not (small_tmpfs / "run.h5.reserve").exists()
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
