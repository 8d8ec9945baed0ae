"""ZmqSource against hostile or broken input on real sockets: oversized messages, NaN/Inf,
rejection counts per reason, the log limit per reason, and a hypothesis fuzz of frames."""

from __future__ import annotations

import logging
import resource
import struct
import time
from collections.abc import Iterator

import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aemon.drivers.protocol import FLAG_END_OF_STREAM, HEADER, FrameHeader, encode_frame
from aemon.drivers.zmq_source import ZmqSource

from .test_zmq_source import ListSink, eos, frame

RATE = 100_000.0


def _header(seq: int, first: int, n: int, **changes: object) -> FrameHeader:
    fields: dict[str, object] = dict(
        version=1, stream_id=7, seq=seq, first_sample=first, sample_rate_hz=RATE,
        channels=2, dtype="float32", n_samples=n, volts_per_count=1.0, daq_time_ns=0,
    )  # fmt: skip
    fields.update(changes)
    return FrameHeader(**fields)  # type: ignore[arg-type]


def _float_frame(seq: int, first: int, samples: np.ndarray, flags: int = 0) -> list[bytes]:
    parts = encode_frame(_header(seq, first, samples.shape[1], flags=flags), samples)
    return [bytes(p) for p in parts]


@pytest.fixture
def bound_source() -> Iterator[tuple[ZmqSource, zmq.Context[zmq.Socket[bytes]]]]:
    """A ZmqSource bound to a free loopback port, and a context for senders."""
    source = ZmqSource(
        "tcp://127.0.0.1:*", bind=True, first_frame_timeout_s=10, max_frame_bytes=1 << 20
    )
    source.connect()
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield source, ctx
    source.stop()
    ctx.term()


def _sender(ctx: zmq.Context[zmq.Socket[bytes]], endpoint: str) -> zmq.Socket[bytes]:
    sock = ctx.socket(zmq.PUSH)
    sock.setsockopt(zmq.LINGER, 2000)
    sock.connect(endpoint)
    return sock


def test_nan_and_inf_are_replaced_counted_and_noted(
    bound_source: tuple[ZmqSource, zmq.Context[zmq.Socket[bytes]]],
) -> None:
    source, ctx = bound_source
    sock = _sender(ctx, source.endpoint)
    good = np.ones((2, 50), np.float32)
    bad = good.copy()
    bad[0, 10], bad[1, 20], bad[1, 30] = np.nan, np.inf, -np.inf
    for message in (_float_frame(0, 0, good), _float_frame(1, 50, bad),
                    _float_frame(2, 100, good[:, :0], FLAG_END_OF_STREAM)):  # fmt: skip
        sock.send_multipart(message)
    sink = ListSink()
    source.open()
    source.start(sink)
    assert source.wait(10)
    sock.close()
    data = sink.joined()
    assert np.isfinite(data).all()
    assert data[0, 60] == 0 and data[1, 70] == 0 and data[1, 80] == 0 and data[0, 61] == 1
    assert source.stats.nonfinite == 3
    assert source.stats.notes[0][:3] == ("nonfinite", 60, 81)


def test_an_oversized_message_never_reaches_memory_and_the_feed_goes_on(
    bound_source: tuple[ZmqSource, zmq.Context[zmq.Socket[bytes]]],
) -> None:
    source, ctx = bound_source
    hostile = _sender(ctx, source.endpoint)
    hostile.send_multipart([b"AEMN" + bytes(60), bytes(64 << 20)])  # 64 MiB > 1 MiB limit
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    good = _sender(ctx, source.endpoint)
    for message in [frame(0, 0), frame(1, 100), eos(2, 200)]:
        good.send_multipart(message)
    sink = ListSink()
    source.open()
    source.start(sink)
    assert source.wait(10)
    assert sink.firsts() == [0, 100]
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert grown_kib < 48 << 10  # the 64 MiB part was dropped by ZeroMQ, not received
    hostile.close(linger=0)
    good.close()


def test_a_5_mib_frame_is_a_rejected_frame_and_the_connecting_receiver_recovers(
    sender: tuple[zmq.Socket[bytes], str], caplog: pytest.LogCaptureFixture
) -> None:
    sock, endpoint = sender  # the DAQ binds, the receiver connects (the usual set-up)
    source = ZmqSource(endpoint, first_frame_timeout_s=10)
    source.connect()
    sock.send_multipart(frame(0, 0))
    sink = ListSink()
    with caplog.at_level(logging.WARNING):
        source.open()
        source.start(sink)
        sock.send_multipart(frame(1, 100))
        big = (5 << 20) // 4  # samples per channel: 2 int16 channels make exactly 5 MiB
        sock.send_multipart(frame(2, 200, big))
        seq, first = 3, 200 + big
        deadline = time.monotonic() + 20
        while not (sink.firsts() and sink.firsts()[-1] > 200):  # the DAQ goes on sending
            assert time.monotonic() < deadline, "the receiver never recovered"
            sock.send_multipart(frame(seq, first))
            seq, first = seq + 1, first + 100
            time.sleep(0.02)
        sock.send_multipart(eos(seq, first))
        assert source.wait(10)
    source.stop()
    assert source.stats.rejected == {"too large": 1}
    assert any("rejected frame (too large)" in r.message for r in caplog.records)
    assert sink.firsts()[:2] == [0, 100]
    lost = sink.gaps[0]
    assert (lost.start_sample, lost.reason) == (200, "sequence")
    assert lost.stop_sample >= 200 + big  # the 5 MiB frame is part of the recorded loss
    delivered = sum(block.shape[1] for _, block in sink.blocks)
    assert delivered + source.stats.samples_lost == first  # every index accounted for


def test_each_rejection_reason_is_counted_and_logged(
    bound_source: tuple[ZmqSource, zmq.Context[zmq.Socket[bytes]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    source, ctx = bound_source
    sock = _sender(ctx, source.endpoint)
    good = frame(0, 0)
    wrong_version = [good[0][:6] + b"\x09" + good[0][7:], good[1]]
    bad_crc = frame(1, 100, flags=2)
    bad_crc[0] = bad_crc[0][:36] + b"\0\0\0\1" + bad_crc[0][40:]
    messages = [good] + [[b"GET / HTTP/1.1", b""]] * 40 + [wrong_version] * 5
    messages += [bad_crc] * 3 + [frame(1, 10**13)] * 2 + [frame(1, 100), eos(2, 200)]
    for message in messages:
        sock.send_multipart(message)
    sink = ListSink()
    with caplog.at_level(logging.WARNING):
        source.open()
        source.start(sink)
        assert source.wait(10)
    sock.close()
    assert sink.firsts() == [0, 100]
    assert source.stats.rejected == {"bad magic": 40, "version": 5, "crc": 3, "far jump": 2}
    logged = " ".join(r.getMessage() for r in caplog.records)
    for kind in ("bad magic", "version", "crc", "far jump"):
        assert f"({kind})" in logged  # every reason reaches the log despite the flood
    assert sum("(bad magic)" in r.getMessage() for r in caplog.records) == 1


_fields = st.fixed_dictionaries(
    {
        "header_len": st.sampled_from([0, 63, 64, 65, 128]),
        "version": st.sampled_from([0, 1, 2]),
        "dtype": st.sampled_from([0, 1, 2, 3]),
        "channels": st.sampled_from([0, 1, 2, 3]),
        "seq": st.integers(0, 2**64 - 1),
        "first": st.sampled_from([0, 50, 100, 2**62 - 10, 2**63, 2**64 - 1, 10**12]),
        "n": st.sampled_from([0, 1, 50, 2**31, 2**32 - 1]),
        "rate": st.sampled_from([RATE, 0.0, -1.0, float("nan"), float("inf")]),
        "payload": st.sampled_from(["exact", "short", "long", "nan"]),
        "truncate": st.sampled_from([None, 3, 10, 63]),
    }
)


def _fuzz_message(f: dict[str, object]) -> list[bytes]:
    channels, n = int(f["channels"]), int(f["n"])  # type: ignore[call-overload]
    itemsize = 4 if f["dtype"] == 2 else 2
    size = channels * min(n, 64) * itemsize
    payload = {"exact": size, "short": max(size - 1, 0), "long": size + 2, "nan": size}[
        str(f["payload"])
    ]
    body = (
        bytes(payload) if f["payload"] != "nan" else np.full(payload // 4, np.nan, "<f4").tobytes()
    )
    header = HEADER.pack(
        b"AEMN", f["header_len"], f["version"], f["dtype"], 0, channels, 7, f["seq"],
        f["first"], n, 0, f["rate"], 1.0, 0,
    )  # fmt: skip
    header += bytes(max(int(f["header_len"]) - 64, 0))  # type: ignore[call-overload]
    if f["truncate"] is not None:
        header = header[: int(f["truncate"])]  # type: ignore[call-overload]
    return [header, body]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(messages=st.lists(_fields, min_size=1, max_size=12))
def test_fuzzed_frames_are_rejected_or_delivered_in_order_and_the_receiver_lives(
    messages: list[dict[str, object]],
) -> None:
    source = ZmqSource(
        "tcp://127.0.0.1:*", bind=True, first_frame_timeout_s=5, max_frame_bytes=1 << 16
    )
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    try:
        sock = _sender(ctx, source.connect())
        sock.send_multipart(frame(0, 0, 50))  # a valid start
        for fields in messages:
            sock.send_multipart(_fuzz_message(fields))
        sock.send_multipart(frame(1, 50, 50, stream_id=7))
        sock.send_multipart(eos(2, 100))
        sink = ListSink()
        source.open()
        source.start(sink)
        source.wait(3)
        sock.close()
        stats = source.stats
        delivered = sink.firsts()
        assert delivered[0] == 0 and delivered == sorted(delivered)
        assert stats.malformed == sum(stats.rejected.values())
        assert stats.frames + stats.malformed <= len(messages) + 3
        for _, block in sink.blocks:
            assert block.shape[1] <= 1 << 16
            if block.dtype.kind == "f":
                assert np.isfinite(block).all()
    finally:
        source.stop()
        ctx.term()


def test_struct_layout_is_what_the_fuzzer_packs() -> None:
    assert struct.calcsize(HEADER.format) == 64
