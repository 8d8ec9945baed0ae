"""The aemon wire format: exact byte layout, round trips and every kind of malformed frame."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import zmq

from aemon.drivers.protocol import (
    FLAG_CRC32,
    FLAG_END_OF_STREAM,
    HEADER_SIZE,
    FrameHeader,
    MalformedFrame,
    decode_frame,
    encode_frame,
)


def make_header(**changes: object) -> FrameHeader:
    fields: dict[str, object] = dict(
        version=1,
        stream_id=0xDEADBEEF,
        seq=123456789012,
        first_sample=2**40 + 17,
        sample_rate_hz=1_562_500.0,
        channels=3,
        dtype="int16",
        n_samples=5,
        volts_per_count=3.0517578125e-06,
        daq_time_ns=1_700_000_000_123_456_789,
    )
    fields.update(changes)
    return FrameHeader(**fields)


def test_header_is_64_bytes_with_documented_offsets() -> None:
    samples = np.arange(15, dtype=np.int16).reshape(3, 5)
    header_bytes, payload = encode_frame(make_header(), samples)
    raw = bytes(header_bytes)
    assert len(raw) == HEADER_SIZE == 64
    assert raw[0:4] == b"AEMN"
    assert struct.unpack_from("<HBBHH", raw, 4) == (64, 1, 1, 0, 3)
    assert struct.unpack_from("<I", raw, 12) == (0xDEADBEEF,)
    assert struct.unpack_from("<QQ", raw, 16) == (123456789012, 2**40 + 17)
    assert struct.unpack_from("<II", raw, 32) == (5, 0)
    assert struct.unpack_from("<ddq", raw, 40) == (
        1_562_500.0,
        3.0517578125e-06,
        1_700_000_000_123_456_789,
    )
    assert bytes(payload) == samples.astype("<i2").tobytes()


@pytest.mark.parametrize("dtype", ["int16", "float32"])
@pytest.mark.parametrize("channels", [1, 4])
def test_round_trip_keeps_every_field_and_sample(dtype: str, channels: int) -> None:
    rng = np.random.default_rng(channels)
    samples = (rng.standard_normal((channels, 1000)) * 1000).astype(dtype)
    header = make_header(
        channels=channels,
        dtype=dtype,
        n_samples=1000,
        volts_per_count=1.0 if dtype == "float32" else 1e-6,
        flags=FLAG_CRC32,
    )
    parts = encode_frame(header, samples)
    decoded, received = decode_frame(parts)
    expected_crc = zlib.crc32(samples.tobytes())
    assert decoded == header._replace(payload_crc32=expected_crc)
    assert received.dtype == np.dtype(dtype)
    assert received.shape == (channels, 1000)
    assert received.flags.c_contiguous
    np.testing.assert_array_equal(received, samples)


def test_encode_is_zero_copy_and_decode_is_a_view() -> None:
    samples = np.arange(8, dtype=np.int16).reshape(2, 4)
    _, payload = encode_frame(make_header(channels=2, n_samples=4), samples)
    samples[0, 0] = 999  # the payload is a view onto the caller's array
    assert np.frombuffer(payload, dtype="<i2")[0] == 999
    buffer = bytearray(samples.tobytes())
    header_bytes = encode_frame(make_header(channels=2, n_samples=4), samples)[0]
    _, received = decode_frame([header_bytes, memoryview(buffer)])
    buffer[0:2] = (42).to_bytes(2, "little")
    assert received[0, 0] == 42


def test_decode_accepts_zmq_frames_from_a_real_socket() -> None:
    context = zmq.Context()
    try:
        pull = context.socket(zmq.PULL)
        pull.setsockopt(zmq.LINGER, 0)
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        push = context.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 0)
        push.connect(f"tcp://127.0.0.1:{port}")
        samples = np.arange(2 * 40000, dtype=np.int16).reshape(2, 40000)
        push.send_multipart(encode_frame(make_header(channels=2, n_samples=40000), samples))
        assert pull.poll(5000)
        frames = pull.recv_multipart(copy=False)
        header, received = decode_frame(frames)
        assert header.n_samples == 40000
        np.testing.assert_array_equal(received, samples)
        push.close()
        pull.close()
    finally:
        context.term()


def test_end_of_stream_frame_may_be_empty() -> None:
    header = make_header(n_samples=0, flags=FLAG_END_OF_STREAM)
    decoded, received = decode_frame(encode_frame(header, np.zeros((3, 0), np.int16)))
    assert decoded.end_of_stream
    assert received.shape == (3, 0)
    assert decoded.next_sample == header.first_sample


def test_encode_rejects_samples_that_do_not_match_the_header() -> None:
    with pytest.raises(ValueError, match="shape"):
        encode_frame(make_header(), np.zeros((3, 6), np.int16))
    with pytest.raises(ValueError, match="float32"):
        encode_frame(make_header(), np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="out of range"):
        encode_frame(make_header(seq=-1), np.zeros((3, 5), np.int16))


def good_parts() -> list[bytes]:
    samples = np.arange(15, dtype=np.int16).reshape(3, 5)
    header_bytes, payload = encode_frame(make_header(), samples)
    return [bytes(header_bytes), bytes(payload)]


def patched(fmt: str, offset: int, value: object) -> list[bytes]:
    header, payload = good_parts()
    raw = bytearray(header)
    struct.pack_into(fmt, raw, offset, value)
    return [bytes(raw), payload]


MALFORMED: dict[str, tuple[list[bytes], str]] = {
    "one part": (good_parts()[:1], "message has 1 parts, expected 2"),
    "three parts": ([*good_parts(), b""], "message has 3 parts"),
    "short header": ([good_parts()[0][:40], good_parts()[1]], "short header: 40 bytes"),
    "long header": ([good_parts()[0] + b"\0" * 8, good_parts()[1]], "header part is 72 bytes"),
    "bad magic": ([b"GET " + good_parts()[0][4:], good_parts()[1]], "bad magic b'GET '"),
    "version": (patched("<B", 6, 2), "unsupported protocol version 2"),
    "header_len": (patched("<H", 4, 32), "header_len field is 32"),
    "dtype": (patched("<B", 7, 9), "unknown dtype code 9"),
    "channels": (patched("<H", 10, 0), "channels is 0"),
    "n_samples zero": (patched("<I", 32, 0), "n_samples is 0"),
    "payload size": ([good_parts()[0], good_parts()[1][:-2]], "payload is 28 bytes"),
    "rate nan": (patched("<d", 40, float("nan")), "sample rate nan Hz"),
    "rate zero": (patched("<d", 40, 0.0), "sample rate 0.0 Hz"),
    "rate negative": (patched("<d", 40, -1e6), "sample rate -1000000.0 Hz"),
    "vpc inf": (patched("<d", 48, float("inf")), "volts_per_count inf"),
    "vpc zero": (patched("<d", 48, 0.0), "volts_per_count 0.0"),
}


def _crc_mismatch() -> list[bytes]:
    samples = np.arange(15, dtype=np.int16).reshape(3, 5)
    header, payload = encode_frame(make_header(flags=FLAG_CRC32), samples)
    corrupted = bytearray(payload)
    corrupted[3] ^= 0x01
    return [bytes(header), bytes(corrupted)]


MALFORMED["crc"] = (_crc_mismatch(), "payload CRC-32 is")


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_frames_are_rejected_with_their_reason(kind: str) -> None:
    parts, reason = MALFORMED[kind]
    with pytest.raises(MalformedFrame) as caught:
        decode_frame(parts)
    assert reason in caught.value.reason
    assert "\n" not in caught.value.reason
    assert isinstance(caught.value, ValueError)


def test_longer_header_with_matching_length_field_is_accepted() -> None:
    """Forward compatibility: a later sender may append fields and raise header_len."""
    header, payload = good_parts()
    extended = bytearray(header + b"\xaa" * 16)
    struct.pack_into("<H", extended, 4, 80)
    decoded, samples = decode_frame([bytes(extended), payload])
    assert decoded == make_header()
    assert samples.shape == (3, 5)


def test_unknown_flag_bits_are_ignored() -> None:
    decoded, _ = decode_frame(patched("<H", 8, 0x8000))
    assert decoded.flags == 0x8000
    assert not decoded.end_of_stream
