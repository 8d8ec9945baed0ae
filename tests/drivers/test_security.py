"""Security of the feed with real sockets: CURVE keys from `aemon keys`, unauthorised peers
get nothing and give nothing, a second PUSH receiver is made visible, loopback warnings."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pytest
import zmq
import zmq.auth

from aemon.cli import main
from aemon.drivers.daq_publisher import DaqPublisher
from aemon.drivers.receiver_socket import CurveOptions
from aemon.drivers.zmq_source import ZmqSource
from aemon.errors import SourceError
from aemon.io.event_publisher import EventPublisher

from .test_zmq_source import ListSink, eos, frame

RATE = 100_000.0


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    assert main(["keys", str(tmp_path / "rx"), "--name", "rx"]) == 0
    for name in ("daq", "intruder"):
        (tmp_path / name).mkdir()
        zmq.auth.create_certificates(tmp_path / name, name)
    return tmp_path


def _send(publisher: DaqPublisher, blocks: int) -> None:
    for k in range(blocks):
        block = np.full((1, 100), k, np.int16)
        publisher.send(k * 100, block, volts_per_count=1e-6, sample_rate_hz=RATE)


def test_keys_refuses_to_overwrite_and_keeps_the_secret_private(keys: Path) -> None:
    assert (keys / "rx" / "rx.key_secret").stat().st_mode & 0o077 == 0
    assert main(["keys", str(keys / "rx"), "--name", "rx"]) == 2


def test_curve_link_delivers_to_the_authorised_receiver_only(keys: Path) -> None:
    publisher = DaqPublisher(
        "tcp://127.0.0.1:*", curve_key=str(keys / "daq" / "daq.key_secret"),
        curve_clients=str(keys / "rx"),
    )  # fmt: skip
    try:
        intruder = ZmqSource(
            publisher.endpoint, first_frame_timeout_s=1.5,
            curve=CurveOptions(str(keys / "intruder" / "intruder.key_secret"),
                               str(keys / "daq" / "daq.key")),
        )  # fmt: skip
        intruder.connect()
        source = ZmqSource(
            publisher.endpoint, first_frame_timeout_s=10,
            curve=CurveOptions(str(keys / "rx" / "rx.key_secret"), str(keys / "daq" / "daq.key")),
        )  # fmt: skip
        source.connect()
        deadline = time.monotonic() + 5
        while publisher.count_receivers() < 1 and time.monotonic() < deadline:
            time.sleep(0.05)  # socket events arrive asynchronously: count while it is connected
        _send(publisher, 3)
        publisher.end()
        sink = ListSink()
        with source:
            source.start(sink)
            assert source.wait(10)
        assert sink.firsts() == [0, 100, 200]
        with pytest.raises(SourceError, match="no frames"):
            intruder.open()  # its handshake was refused: not one frame reached it
        assert publisher.max_receivers == 1  # the intruder never counted as a receiver
    finally:
        publisher.close(linger_s=0)


def test_a_curve_receiver_never_takes_frames_from_an_unauthorised_sender(keys: Path) -> None:
    source = ZmqSource(
        "tcp://127.0.0.1:*", bind=True, first_frame_timeout_s=1.5,
        curve=CurveOptions(str(keys / "rx" / "rx.key_secret"), clients=str(keys / "daq")),
    )  # fmt: skip
    endpoint = source.connect()
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    plain = ctx.socket(zmq.PUSH)
    plain.setsockopt(zmq.LINGER, 0)
    plain.connect(endpoint)
    for message in (frame(0, 0), frame(1, 100), eos(2, 200)):
        plain.send_multipart(message, flags=zmq.NOBLOCK) if plain.poll(500, zmq.POLLOUT) else None
    try:
        with pytest.raises(SourceError, match="no frames"):
            source.open()
        assert source.stats.malformed == 0  # nothing even reached the decoder
    finally:
        plain.close()
        ctx.term()
        source.stop()


def test_a_second_push_receiver_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    publisher = DaqPublisher("tcp://127.0.0.1:*")
    first = ZmqSource(publisher.endpoint)
    second = ZmqSource(publisher.endpoint)
    first.connect()
    second.connect()
    try:
        deadline = time.monotonic() + 5
        with caplog.at_level(logging.WARNING):
            while publisher.count_receivers() < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
        assert publisher.max_receivers == 2
        assert "2 receivers connected" in caplog.text
    finally:
        first.stop()
        second.stop()
        publisher.close(linger_s=0)


def test_binding_beyond_loopback_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        with EventPublisher("tcp://127.0.0.1:*"):
            pass
        assert "without authentication" not in caplog.text
        with EventPublisher("tcp://0.0.0.0:*"):
            pass
    assert "event publisher bound to tcp://0.0.0.0:*" in caplog.text
