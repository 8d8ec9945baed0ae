"""ZmqSource over real ZeroMQ sockets on 127.0.0.1: delivery, gaps, rejects, errors."""

from __future__ import annotations

import struct
import threading
import time

import numpy as np
import numpy.typing as npt
import pytest
import zmq

from aemon.drivers.daq_publisher import DaqPublisher
from aemon.drivers.protocol import FLAG_END_OF_STREAM, FrameHeader, encode_frame
from aemon.drivers.zmq_source import ZmqSource
from aemon.errors import ConfigError, SourceError
from aemon.types import Gap, StreamFormat

RATE = 100_000.0
VPC = 1e-6
STREAM = 7


def signal(first: int, n: int, channels: int = 2, dtype: str = "int16") -> npt.NDArray[np.generic]:
    """Samples whose values are a function of (absolute index, channel)."""
    index = np.arange(first, first + n, dtype=np.int64)
    rows = [((index * 7 + c * 1000) % 30000) - 15000 for c in range(channels)]
    return np.ascontiguousarray(np.stack(rows).astype(dtype))


def frame(
    seq: int,
    first: int,
    n: int = 100,
    *,
    channels: int = 2,
    dtype: str = "int16",
    rate: float = RATE,
    vpc: float = VPC,
    stream_id: int = STREAM,
    flags: int = 0,
) -> list[bytes]:
    header = FrameHeader(1, stream_id, seq, first, rate, channels, dtype, n, vpc, 0, flags)
    header_bytes, payload = encode_frame(header, signal(first, n, channels, dtype))
    return [bytes(header_bytes), bytes(payload)]


def eos(seq: int, first: int, channels: int = 2, stream_id: int = STREAM) -> list[bytes]:
    return frame(seq, first, 0, channels=channels, flags=FLAG_END_OF_STREAM, stream_id=stream_id)


class ListSink:
    """Collects copies of pushed blocks and gaps, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        self.blocks: list[tuple[int, npt.NDArray[np.generic]]] = []
        self.owned: list[bool] = []

    def push(self, first_sample: int, samples: npt.NDArray[np.generic]) -> None:
        assert samples.flags.c_contiguous
        self.owned.append(bool(samples.flags.owndata))
        self.blocks.append((first_sample, samples.copy()))
        self.events.append(("push", (first_sample, samples.shape[1])))

    def gap(self, gap: Gap) -> None:
        self.events.append(("gap", gap))

    @property
    def gaps(self) -> list[Gap]:
        return [g for kind, g in self.events if kind == "gap"]  # type: ignore[misc]

    def joined(self) -> npt.NDArray[np.generic]:
        return np.concatenate([block for _, block in self.blocks], axis=1)

    def firsts(self) -> list[int]:
        return [first for first, _ in self.blocks]


def run_source(
    endpoint: str,
    sock: zmq.Socket[bytes],
    messages: list[list[bytes]],
    **options: object,
) -> tuple[ZmqSource, ListSink]:
    """Send ``messages`` into a fresh ZmqSource and collect until it ends by itself."""
    source = ZmqSource(endpoint, first_frame_timeout_s=5.0, **options)
    source.connect()
    for message in messages:
        sock.send_multipart(message)
    sink = ListSink()
    with source:
        source.start(sink)
        assert source.wait(5.0), "source did not end by itself"
    return source, sink


def test_delivers_every_frame_as_zero_copy_views(sender: tuple[zmq.Socket[bytes], str]) -> None:
    sock, endpoint = sender
    messages = [frame(seq, seq * 100) for seq in range(5)] + [eos(5, 500)]
    source, sink = run_source(endpoint, sock, messages, expected_rate_hz=RATE, expected_channels=2)
    assert sink.firsts() == [0, 100, 200, 300, 400]
    np.testing.assert_array_equal(
        np.concatenate([b for _, b in sink.blocks], axis=1), signal(0, 500)
    )
    assert sink.owned == [False] * 5  # views onto the zmq frames, not copies
    assert source.format == StreamFormat(RATE, 2, "int16", VPC)
    assert [c.name for c in source.channel_info] == ["ch1", "ch2"]
    assert source.channel_info[0].volts_per_count == VPC
    assert source.first_header is not None and source.first_header.stream_id == STREAM
    stats = source.stats
    assert (stats.frames, stats.samples, stats.gaps, stats.malformed) == (5, 500, 0, 0)


def test_stream_may_start_at_any_absolute_index(sender: tuple[zmq.Socket[bytes], str]) -> None:
    sock, endpoint = sender
    messages = [frame(40 + k, 10**9 + k * 100) for k in range(3)] + [eos(43, 10**9 + 300)]
    _, sink = run_source(endpoint, sock, messages)
    assert sink.firsts() == [10**9, 10**9 + 100, 10**9 + 200]
    assert sink.gaps == []


def _bad(kind: str) -> list[bytes]:
    good = frame(1, 100)
    header = bytearray(good[0])
    if kind == "parts":
        return [*good, b"extra"]
    if kind == "short":
        return [bytes(header[:30]), good[1]]
    if kind == "long":
        return [bytes(header) + b"\0\0\0\0", good[1]]
    if kind == "magic":
        return [b"XXXX" + bytes(header[4:]), good[1]]
    offsets = {
        "version": ("<B", 6, 9),
        "dtype": ("<B", 7, 5),
        "channels": ("<H", 10, 0),
        "n_samples": ("<I", 32, 0),
        "size": ("<I", 32, 99),
        "rate": ("<d", 40, float("nan")),
        "vpc": ("<d", 48, -1.0),
    }
    fmt, offset, value = offsets[kind]
    struct.pack_into(fmt, header, offset, value)
    return [bytes(header), good[1]]


BAD_REASONS = {
    "parts": "message has 3 parts",
    "short": "short header",
    "long": "header part is 68 bytes",
    "magic": "bad magic",
    "version": "unsupported protocol version 9",
    "dtype": "unknown dtype code 5",
    "channels": "channels is 0",
    "n_samples": "n_samples is 0",
    "size": "payload is 400 bytes but 2 channels × 99",
    "rate": "sample rate nan Hz",
    "vpc": "volts_per_count -1.0",
}


@pytest.mark.parametrize("kind", sorted(BAD_REASONS))
def test_malformed_frame_is_rejected_and_later_frames_arrive(
    sender: tuple[zmq.Socket[bytes], str], kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    sock, endpoint = sender
    messages = [frame(0, 0), _bad(kind), frame(1, 100), frame(2, 200), eos(3, 300)]
    source, sink = run_source(endpoint, sock, messages)
    assert sink.firsts() == [0, 100, 200]
    assert sink.gaps == []
    assert source.stats.malformed == 1
    assert BAD_REASONS[kind] in source.stats.last_error
    assert any(BAD_REASONS[kind] in r.getMessage() for r in caplog.records)


def test_malformed_first_frames_are_skipped_while_opening(
    sender: tuple[zmq.Socket[bytes], str],
) -> None:
    sock, endpoint = sender
    messages = [[b"hello"], _bad("magic"), frame(0, 0), eos(1, 100)]
    source, sink = run_source(endpoint, sock, messages)
    assert sink.firsts() == [0]
    assert source.stats.malformed == 2


def test_lost_frames_become_exact_sequence_gaps(sender: tuple[zmq.Socket[bytes], str]) -> None:
    sock, endpoint = sender
    kept = [0, 1, 2, 5, 6, 8, 9]  # frames 3, 4 and 7 are "lost in transport"
    messages = [frame(seq, seq * 100) for seq in kept] + [eos(10, 1000)]
    source, sink = run_source(endpoint, sock, messages)
    assert sink.events == [
        ("push", (0, 100)),
        ("push", (100, 100)),
        ("push", (200, 100)),
        ("gap", Gap(300, 500, "sequence")),
        ("push", (500, 100)),
        ("push", (600, 100)),
        ("gap", Gap(700, 800, "sequence")),
        ("push", (800, 100)),
        ("push", (900, 100)),
    ]
    assert (source.stats.gaps, source.stats.samples_lost, source.stats.malformed) == (2, 300, 0)


def test_index_jump_with_contiguous_seq_is_an_index_gap(
    sender: tuple[zmq.Socket[bytes], str],
) -> None:
    sock, endpoint = sender
    messages = [frame(0, 0), frame(1, 100), frame(2, 250), eos(3, 350)]
    source, sink = run_source(endpoint, sock, messages)
    assert sink.gaps == [Gap(200, 250, "index")]
    assert sink.firsts() == [0, 100, 250]
    assert source.stats.samples_lost == 50


def test_seq_jump_with_contiguous_index_loses_nothing(
    sender: tuple[zmq.Socket[bytes], str],
) -> None:
    sock, endpoint = sender
    messages = [frame(0, 0), frame(5, 100), frame(6, 200), eos(7, 300)]
    source, sink = run_source(endpoint, sock, messages)
    assert sink.gaps == []
    assert sink.firsts() == [0, 100, 200]
    assert source.stats.frames == 3


def test_duplicate_late_and_overlapping_frames_are_rejected(
    sender: tuple[zmq.Socket[bytes], str],
) -> None:
    sock, endpoint = sender
    messages = [
        frame(0, 0),
        frame(1, 100),
        frame(1, 100),  # duplicate
        frame(3, 300),  # frame 2 overtaken...
        frame(2, 200),  # ...and arriving late: its samples are already a gap
        frame(4, 350),  # overlaps frame 3
        frame(4, 400),
        eos(5, 500),
    ]
    source, sink = run_source(endpoint, sock, messages)
    assert sink.events == [
        ("push", (0, 100)),
        ("push", (100, 100)),
        ("gap", Gap(200, 300, "sequence")),
        ("push", (300, 100)),
        ("push", (400, 100)),
    ]
    assert source.stats.malformed == 3
    assert "out of order: frame seq 4 starts at sample 350" in source.stats.last_error


def test_format_change_is_rejected_and_a_new_stream_id_is_a_restart(
    sender: tuple[zmq.Socket[bytes], str],
) -> None:
    sock, endpoint = sender
    messages = [
        frame(0, 0),
        frame(1, 100, rate=2 * RATE),
        frame(1, 100, channels=3),
        frame(1, 100, dtype="float32"),
        frame(1, 100, vpc=2 * VPC),
        frame(0, 0, stream_id=STREAM + 1),  # the DAQ restarted: new id, index from 0
        frame(1, 100),  # a late frame of the old run
        eos(1, 100, stream_id=STREAM + 1),
    ]
    source, sink = run_source(endpoint, sock, messages)
    assert len(sink.blocks) == 2 and sink.firsts()[0] == 0
    (restart,) = sink.gaps
    assert restart.reason == "restart" and restart.start_sample == 100
    assert sink.firsts()[1] == restart.stop_sample  # the time base goes on after the gap
    np.testing.assert_array_equal(sink.blocks[1][1], signal(0, 100))
    assert source.stats.rejected == {"format change": 4, "stale": 1}
    assert source.stats.malformed == 5 and source.stats.restarts == 1


def test_duration_ends_after_exactly_that_many_samples(
    sender: tuple[zmq.Socket[bytes], str],
) -> None:
    sock, endpoint = sender
    messages = [frame(seq, 5000 + seq * 100) for seq in range(6)]  # no end-of-stream frame
    _, sink = run_source(endpoint, sock, messages, duration_s=250 / RATE)
    assert [(first, block.shape[1]) for first, block in sink.blocks] == [
        (5000, 100),
        (5100, 100),
        (5200, 50),
    ]
    np.testing.assert_array_equal(sink.blocks[2][1], signal(5200, 50))


def test_float32_stream(sender: tuple[zmq.Socket[bytes], str]) -> None:
    sock, endpoint = sender
    messages = [frame(0, 0, dtype="float32", vpc=1.0, channels=1), eos(1, 100, channels=1)]
    messages[1] = frame(1, 100, 0, dtype="float32", vpc=1.0, channels=1, flags=FLAG_END_OF_STREAM)
    source, sink = run_source(endpoint, sock, messages)
    assert source.format == StreamFormat(RATE, 1, "float32", 1.0)
    assert sink.blocks[0][1].dtype == np.float32


def test_first_frame_timeout_says_what_to_run(free_endpoint: str) -> None:
    source = ZmqSource(free_endpoint, first_frame_timeout_s=0.2)
    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        source.__enter__()
    assert time.monotonic() - started < 2.0
    message = str(caught.value)
    assert message.startswith(f"no frames from {free_endpoint} within 0.2 s")
    assert "aemon daq-sim" in message and "\n" not in message


def test_timeout_after_only_malformed_frames_names_the_reason(
    sender: tuple[zmq.Socket[bytes], str],
) -> None:
    sock, endpoint = sender
    source = ZmqSource(endpoint, first_frame_timeout_s=0.5)
    source.connect()
    sock.send_multipart(_bad("version"))
    with pytest.raises(SourceError, match=r"no valid frames .*\(1 malformed, last: unsupported"):
        source.open()


def test_rate_mismatch_fails_at_open(sender: tuple[zmq.Socket[bytes], str]) -> None:
    sock, endpoint = sender
    source = ZmqSource(endpoint, expected_rate_hz=1_562_500.0)
    source.connect()
    sock.send_multipart(frame(0, 0))
    with pytest.raises(SourceError, match=r"streams 100000 Hz but 1.5625e\+06 Hz was expected"):
        source.open()


def test_channel_mismatch_fails_at_open(sender: tuple[zmq.Socket[bytes], str]) -> None:
    sock, endpoint = sender
    source = ZmqSource(endpoint, expected_channels=4)
    source.connect()
    sock.send_multipart(frame(0, 0))
    with pytest.raises(SourceError, match="streams 2 channels but 4 were expected"):
        source.open()


def test_bad_configuration_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="pattern"):
        ZmqSource("tcp://127.0.0.1:1", pattern="req")
    with pytest.raises(ConfigError, match="transport"):
        ZmqSource("127.0.0.1:5555")
    with pytest.raises(ConfigError, match="duration"):
        ZmqSource("tcp://127.0.0.1:1", duration_s=0)


def test_bind_mode_with_publisher_connecting() -> None:
    source = ZmqSource("tcp://127.0.0.1:*", bind=True, first_frame_timeout_s=5.0)
    endpoint = source.connect()
    assert endpoint.startswith("tcp://127.0.0.1:") and not endpoint.endswith("*")
    sink = ListSink()
    with DaqPublisher(endpoint, bind=False, frame_samples=64) as publisher:
        publisher.send(0, signal(0, 200), volts_per_count=VPC, sample_rate_hz=RATE)
    with source:
        source.start(sink)
        assert source.wait(5.0)
    assert sink.firsts() == [0, 64, 128, 192]
    np.testing.assert_array_equal(
        np.concatenate([b for _, b in sink.blocks], axis=1), signal(0, 200)
    )


def test_pub_sub_fan_out() -> None:
    publisher = DaqPublisher("tcp://127.0.0.1:*", pattern="pub", frame_samples=100)
    stop = threading.Event()

    def publish() -> None:  # PUB drops until the subscriber has joined, so keep sending
        first = 0
        while not stop.is_set() and first < 10**6:
            publisher.send(first, signal(first, 100), volts_per_count=VPC, sample_rate_hz=RATE)
            first += 100
            time.sleep(0.001)

    thread = threading.Thread(target=publish)
    thread.start()
    try:
        sink = ListSink()
        with ZmqSource(publisher.endpoint, pattern="sub", duration_s=2000 / RATE) as source:
            source.start(sink)
            assert source.wait(5.0)
    finally:
        stop.set()
        thread.join()
        publisher.close(linger_s=0)
    start = sink.blocks[0][0]
    assert sum(b.shape[1] for _, b in sink.blocks) + sum(g.samples for g in sink.gaps) == 2000
    for first, block in sink.blocks:
        np.testing.assert_array_equal(block, signal(first, block.shape[1]))
    assert sink.blocks[-1][0] + sink.blocks[-1][1].shape[1] == start + 2000


def test_sink_failure_stops_delivery_and_is_reported(
    sender: tuple[zmq.Socket[bytes], str],
) -> None:
    sock, endpoint = sender

    class FullSink(ListSink):
        def push(self, first_sample: int, samples: npt.NDArray[np.generic]) -> None:
            if first_sample >= 100:
                raise OSError("disk full")
            super().push(first_sample, samples)

    source = ZmqSource(endpoint, first_frame_timeout_s=5.0)
    source.connect()
    for seq in range(3):
        sock.send_multipart(frame(seq, seq * 100))
    sink = FullSink()
    with source:
        source.start(sink)
        with pytest.raises(SourceError, match="delivery stopped: OSError: disk full"):
            source.wait(5.0)
    assert sink.firsts() == [0]


def test_stop_is_idempotent_and_wait_reports_not_ended(
    sender: tuple[zmq.Socket[bytes], str],
) -> None:
    sock, endpoint = sender
    source = ZmqSource(endpoint, first_frame_timeout_s=5.0)
    source.connect()
    sock.send_multipart(frame(0, 0))
    sink = ListSink()
    with source:
        source.start(sink)
        assert not source.wait(0.2)  # no end-of-stream frame: still running
        source.stop()
        source.stop()
        assert not source.wait(0)
    assert sink.firsts() == [0]
