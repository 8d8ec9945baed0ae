"""Security of the feed with real sockets: CURVE keys from `aemon keys`, unauthorised peers
get nothing and give nothing, a second PUSH receiver is made visible, loopback warnings."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


@contextlib.contextmanager
def _two_receivers(**options: Any) -> Iterator[tuple[DaqPublisher, ZmqSource, ZmqSource]]:
    """A binding publisher and two receivers connecting to it (the second after the first)."""
    publisher = DaqPublisher("tcp://127.0.0.1:*", frame_samples=100, **options)
    first = ZmqSource(publisher.endpoint, first_frame_timeout_s=5)
    second = ZmqSource(publisher.endpoint, first_frame_timeout_s=1)
    try:
        first.connect()
        assert publisher.wait_for_receiver(5)
        second.connect()
        yield publisher, first, second
    finally:
        first.stop()
        second.stop()
        publisher.close(linger_s=0)


def test_a_second_push_receiver_is_refused_and_the_first_gets_every_frame(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = ListSink()
    with caplog.at_level(logging.WARNING), _two_receivers() as (publisher, first, second):
        deadline = time.monotonic() + 5  # one receiver is the default
        while publisher.refused_receivers < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        for k in range(10):
            publisher.send(k * 100, np.full((1, 100), k, np.int16), volts_per_count=1e-6,
                           sample_rate_hz=1e5)  # fmt: skip
        publisher.end()
        first.open()
        first.start(sink)
        assert first.wait(5)
        with pytest.raises(SourceError, match="no frames"):
            second.open()  # refused: it never completes the handshake
        # one refusal per handshake: ZeroMQ retries a refused connection, so a slow test
        # machine may count the same receiver twice
        assert publisher.max_receivers == 1 and publisher.refused_receivers >= 1
    assert sink.firsts() == [k * 100 for k in range(10)] and not sink.gaps  # lossless
    assert "refused a receiver from 127.0.0.1" in caplog.text


def test_a_second_push_receiver_is_reported_when_allowed(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), _two_receivers(receiver_limit=2) as (publisher, *_):
        deadline = time.monotonic() + 5
        while publisher.count_receivers() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert publisher.max_receivers == 2
    assert "2 receivers connected" in caplog.text


def test_binding_beyond_loopback_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        with EventPublisher("tcp://127.0.0.1:*"):
            pass
        assert "without authentication" not in caplog.text
        with EventPublisher("tcp://0.0.0.0:*"):
            pass
    assert "event publisher bound to tcp://0.0.0.0:*" in caplog.text


def _subscriber(
    ctx: zmq.Context[zmq.Socket[bytes]], endpoint: str, keys: Path | None
) -> zmq.Socket[bytes]:
    """A SUB socket on ``endpoint``; with ``keys``, a CURVE client with rx's key pair."""
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    if keys is not None:
        sub.curve_publickey, sub.curve_secretkey = zmq.auth.load_certificate(
            keys / "rx" / "rx.key_secret"
        )
        sub.curve_serverkey, _ = zmq.auth.load_certificate(keys / "daq" / "daq.key")
    sub.connect(endpoint)
    return sub


def test_monitor_feeds_take_curve_keys_from_the_command_line(
    keys: Path, free_endpoint: str, new_free_endpoint: Callable[[], str]
) -> None:
    events, display = new_free_endpoint(), new_free_endpoint()
    secret, clients = str(keys / "daq" / "daq.key_secret"), str(keys / "rx")
    monitor = subprocess.Popen(
        [sys.executable, "-m", "aemon.cli", "monitor", free_endpoint, "--duration", "3",
         "--detector", "threshold", "--threshold", "30", "-q", "--wait", "60",
         "--events-endpoint", events, "--events-curve-key", secret,
         "--events-curve-clients", clients, "--display-endpoint", display,
         "--display-curve-key", secret, "--display-curve-clients", clients],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    subs = {
        (feed, who): _subscriber(ctx, endpoint, keys if who == "authorised" else None)
        for feed, endpoint in (("events", events), ("display", display))
        for who in ("authorised", "plain")
    }
    time.sleep(1.0)  # the subscribers connect while the monitor waits for the DAQ
    daq = subprocess.Popen(
        [sys.executable, "-m", "aemon.cli", "daq-sim", "--endpoint", free_endpoint,
         "--duration", "3"], stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _, err = monitor.communicate(timeout=120)
        assert monitor.returncode == 0, err
        got = {name: sub.poll(100) != 0 for name, sub in subs.items()}
    finally:
        daq.kill()
        daq.wait()
        for sub in subs.values():
            sub.close(linger=0)
        ctx.term()
    assert got == {
        ("events", "authorised"): True, ("events", "plain"): False,
        ("display", "authorised"): True, ("display", "plain"): False,
    }  # fmt: skip


def test_monitor_refuses_a_curve_key_without_subscriber_keys(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["monitor", "tcp://127.0.0.1:9", "--display-curve-key",
                   str(keys / "daq" / "daq.key_secret")])  # fmt: skip
    assert status == 2
    assert "--display-curve-key and --display-curve-clients go together" in (
        capsys.readouterr().err
    )
