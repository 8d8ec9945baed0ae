"""The aemon DAQ wire format: one ZeroMQ multipart message ``[header, samples]`` per frame.

The header is a fixed 64-byte little-endian record (:data:`HEADER`); the payload is the
frame's samples, C-ordered ``(channels, n_samples)``, little-endian ``int16`` or ``float32``.
``drivers/README.md`` specifies the format byte by byte for DAQ vendors.

Layout of header version 1 (offsets in bytes)::

     0  4s   magic            b"AEMN"
     4  u16  header_len       64 in version 1; receivers skip bytes past the fields they know
     6  u8   version          1
     7  u8   dtype            1 = int16, 2 = float32
     8  u16  flags            bit 0 end of stream, bit 1 payload CRC32 present
    10  u16  channels         >= 1
    12  u32  stream_id        chosen by the publisher, constant for one stream
    16  u64  seq              frame sequence number, +1 per frame
    24  u64  first_sample     absolute index of the frame's first sample
    32  u32  n_samples        samples per channel in this frame
    36  u32  payload_crc32    zlib CRC-32 of the payload if flag bit 1, else 0
    40  f64  sample_rate_hz   samples per second per channel (Hz)
    48  f64  volts_per_count  volts per sample unit (V); 1.0 for float32 volts
    56  i64  daq_time_ns      DAQ clock at the first sample, ns since the Unix epoch (UTC)
"""

from __future__ import annotations

import math
import struct
import sys
import zlib
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import zmq

MAGIC = b"AEMN"
"""First four bytes of every header."""

VERSION = 1
"""The header version this module writes and the only one it reads."""

HEADER = struct.Struct("<4sHBBHHIQQIIddq")
"""The version-1 header record (64 bytes, little-endian, naturally aligned fields)."""

HEADER_SIZE = HEADER.size

MAX_HEADER_BYTES = 0xFFFF
"""Largest header part a frame may have (bytes): ``header_len`` is a u16 (§3.1)."""

MAX_PAYLOAD_BYTES = 4 << 20
"""Largest sample part a version-1 frame may carry (bytes): ``channels × n_samples ×
itemsize`` ≤ 4 MiB. A receiver accepts every message part up to this size; see
:func:`max_frame_samples` for the samples per channel it allows."""

FLAG_END_OF_STREAM = 0x0001
"""The publisher sends no more frames after this one; it may carry zero samples."""

FLAG_CRC32 = 0x0002
"""``payload_crc32`` holds the zlib CRC-32 of the payload; receivers check it."""

DTYPE_CODES: dict[str, int] = {"int16": 1, "float32": 2}
"""Wire code of each sample type."""

DTYPE_NAMES: dict[int, str] = {code: name for name, code in DTYPE_CODES.items()}

WIRE_DTYPES: dict[str, np.dtype[np.generic]] = {
    "int16": np.dtype("<i2"),
    "float32": np.dtype("<f4"),
}
"""Little-endian numpy dtype of each sample type on the wire."""

_BIG_ENDIAN_HOST = sys.byteorder == "big"

assert HEADER_SIZE == 64


def max_frame_samples(channels: int, dtype: str) -> int:
    """Most samples per channel one frame of ``channels`` × ``dtype`` may carry.

    Example:
        >>> max_frame_samples(2, "int16")   # 4 MiB / (2 × 2 bytes)
        1048576
    """
    return MAX_PAYLOAD_BYTES // (channels * WIRE_DTYPES[dtype].itemsize)


class FrameHeader(NamedTuple):
    """The decoded header of one frame.

    Attributes:
        version: Header version (1).
        stream_id: Publisher-chosen id, constant for the whole stream (u32).
        seq: Frame sequence number; the next frame carries ``seq + 1``.
        first_sample: Absolute index of the frame's first sample (per channel).
        sample_rate_hz: Samples per second per channel (Hz).
        channels: Number of channels.
        dtype: ``"int16"`` or ``"float32"``.
        n_samples: Samples per channel in this frame.
        volts_per_count: Volts per sample unit (V); 1.0 for float32 data in volts.
        daq_time_ns: DAQ clock at the first sample of the frame, ns since the Unix epoch (UTC).
        flags: Bit set of ``FLAG_*`` values.
        payload_crc32: zlib CRC-32 of the payload when ``flags & FLAG_CRC32``; ``encode_frame``
            fills it in, so callers leave it 0.
    """

    version: int
    stream_id: int
    seq: int
    first_sample: int
    sample_rate_hz: float
    channels: int
    dtype: str
    n_samples: int
    volts_per_count: float
    daq_time_ns: int
    flags: int = 0
    payload_crc32: int = 0

    @property
    def end_of_stream(self) -> bool:
        """True for the publisher's last frame."""
        return bool(self.flags & FLAG_END_OF_STREAM)

    @property
    def next_sample(self) -> int:
        """Absolute index one past the frame's last sample (the next frame's ``first_sample``)."""
        return self.first_sample + self.n_samples


class MalformedFrame(ValueError):  # noqa: N818 - the name is the public API
    """A received message that is not a valid frame.

    Attributes:
        reason: One line saying what is wrong, e.g. ``"bad magic b'GET ' (not an aemon frame)"``.
        kind: Short name of the rule it broke, for per-reason counts, e.g. ``"bad magic"``.
    """

    def __init__(self, reason: str, kind: str = "malformed") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


def encode_frame(header: FrameHeader, samples: npt.NDArray[np.generic]) -> list[bytes | memoryview]:
    """Build the two message parts of one frame.

    The payload part is a memoryview onto ``samples`` when it is already C-contiguous in the
    wire dtype (no copy); otherwise it is converted once. Send the parts with
    ``socket.send_multipart(parts, copy=False)`` and do not modify ``samples`` until ZeroMQ has
    sent them.

    Args:
        header: Frame header; ``channels``, ``n_samples`` and ``dtype`` must describe
            ``samples``. ``payload_crc32`` is computed here when ``FLAG_CRC32`` is set.
        samples: ``(channels, n_samples)`` array (may be ``(channels, 0)`` for an
            end-of-stream frame).

    Returns:
        ``[header_bytes, payload]``.

    Raises:
        ValueError: If the header does not describe ``samples`` or a field is out of range.
    """
    if header.dtype not in DTYPE_CODES:
        raise ValueError(f"dtype must be int16 or float32, not {header.dtype!r}")
    if samples.ndim != 2 or samples.shape != (header.channels, header.n_samples):
        raise ValueError(
            f"samples have shape {samples.shape} but the header says "
            f"({header.channels}, {header.n_samples})"
        )
    if samples.dtype.name != header.dtype:
        raise ValueError(f"samples are {samples.dtype} but the header says {header.dtype}")
    payload_array = np.ascontiguousarray(samples, dtype=WIRE_DTYPES[header.dtype])
    payload = payload_array.reshape(-1).view(np.uint8).data
    crc = zlib.crc32(payload) if header.flags & FLAG_CRC32 else 0
    try:
        header_bytes = HEADER.pack(
            MAGIC,
            HEADER_SIZE,
            header.version,
            DTYPE_CODES[header.dtype],
            header.flags,
            header.channels,
            header.stream_id,
            header.seq,
            header.first_sample,
            header.n_samples,
            crc,
            header.sample_rate_hz,
            header.volts_per_count,
            header.daq_time_ns,
        )
    except struct.error as exc:
        raise ValueError(f"header field out of range: {exc}") from exc
    return [header_bytes, payload]


def _as_buffer(part: bytes | zmq.Frame | memoryview) -> memoryview:
    if isinstance(part, zmq.Frame):
        return part.buffer
    return memoryview(part).cast("B")


def decode_header(data: bytes | memoryview) -> FrameHeader:
    """Decode and check a header part alone (no payload checks).

    Raises:
        MalformedFrame: If the header is short, long, of another version or has a bad field.
    """
    size = len(data)
    if size >= 4 and bytes(data[:4]) != MAGIC:
        raise MalformedFrame(f"bad magic {bytes(data[:4])!r} (not an aemon frame)", "bad magic")
    if size < HEADER_SIZE:
        raise MalformedFrame(
            f"short header: {size} bytes, need at least {HEADER_SIZE}", "short header"
        )
    (
        _magic,
        header_len,
        version,
        dtype_code,
        flags,
        channels,
        stream_id,
        seq,
        first_sample,
        n_samples,
        crc,
        rate,
        vpc,
        daq_time_ns,
    ) = HEADER.unpack_from(data)
    if version != VERSION:
        raise MalformedFrame(
            f"unsupported protocol version {version} (this aemon reads 1)", "version"
        )
    if header_len < HEADER_SIZE:
        raise MalformedFrame(
            f"header_len field is {header_len}, must be at least {HEADER_SIZE}", "header size"
        )
    if header_len != size:
        raise MalformedFrame(
            f"header part is {size} bytes but its header_len field says {header_len}",
            "header size",
        )
    dtype = DTYPE_NAMES.get(dtype_code)
    if dtype is None:
        raise MalformedFrame(f"unknown dtype code {dtype_code} (1 = int16, 2 = float32)", "dtype")
    if channels == 0:
        raise MalformedFrame("channels is 0", "field")
    if n_samples == 0 and not flags & FLAG_END_OF_STREAM:
        raise MalformedFrame("n_samples is 0 (only an end-of-stream frame may be empty)", "field")
    if not (math.isfinite(rate) and rate > 0):
        raise MalformedFrame(f"sample rate {rate} Hz is not a positive finite number", "field")
    if not (math.isfinite(vpc) and vpc > 0):
        raise MalformedFrame(f"volts_per_count {vpc} is not a positive finite number", "field")
    return FrameHeader(
        version=version,
        stream_id=stream_id,
        seq=seq,
        first_sample=first_sample,
        sample_rate_hz=rate,
        channels=channels,
        dtype=dtype,
        n_samples=n_samples,
        volts_per_count=vpc,
        daq_time_ns=daq_time_ns,
        flags=flags,
        payload_crc32=crc,
    )


def decode_frame(
    parts: Sequence[bytes | zmq.Frame | memoryview],
    max_payload_bytes: int | None = None,
) -> tuple[FrameHeader, npt.NDArray[np.generic]]:
    """Decode one received multipart message.

    The returned samples are a read-only ``np.frombuffer`` view onto the payload part (no
    copy): keep the message parts alive while the array is in use.

    Args:
        parts: The message parts, e.g. from ``socket.recv_multipart(copy=False)``.
        max_payload_bytes: Reject frames whose header declares a larger payload (bytes).

    Returns:
        The header and the ``(channels, n_samples)`` samples in the native byte order.

    Raises:
        MalformedFrame: For a wrong part count, a bad header, a payload whose size does not
            match ``channels × n_samples × itemsize``, or a CRC-32 mismatch.
    """
    if len(parts) != 2:
        raise MalformedFrame(
            f"message has {len(parts)} parts, expected 2 (header, samples)", "parts"
        )
    header = decode_header(_as_buffer(parts[0]))
    payload = _as_buffer(parts[1])
    wire_dtype = WIRE_DTYPES[header.dtype]
    expected = header.channels * header.n_samples * wire_dtype.itemsize
    if max_payload_bytes is not None and expected > max_payload_bytes:
        raise MalformedFrame(
            f"frame declares {expected} bytes of samples, more than the limit of "
            f"{max_payload_bytes}",
            "too large",
        )
    if len(payload) != expected:
        raise MalformedFrame(
            f"payload is {len(payload)} bytes but {header.channels} channels × "
            f"{header.n_samples} {header.dtype} samples need {expected}",
            "payload size",
        )
    if header.flags & FLAG_CRC32:
        actual = zlib.crc32(payload)
        if actual != header.payload_crc32:
            raise MalformedFrame(
                f"payload CRC-32 is {actual:08x}, header says {header.payload_crc32:08x}", "crc"
            )
    samples = np.frombuffer(payload, dtype=wire_dtype).reshape(header.channels, header.n_samples)
    if _BIG_ENDIAN_HOST:  # pragma: no cover - aemon runs on little-endian hosts
        samples = samples.astype(wire_dtype.newbyteorder("="))
    return header, samples


def replace_nonfinite(
    samples: npt.NDArray[np.generic],
) -> tuple[npt.NDArray[np.generic], int, int, int]:
    """Replace NaN and ±Inf by 0: the documented rule for float32 frames.

    Returns:
        ``(samples, count, first, stop)``: the input itself when all samples are finite
        (``count`` 0), else a fixed copy, how many samples were replaced, and the columns
        ``first .. stop`` (exclusive) that held them.
    """
    finite = np.isfinite(samples)
    if finite.all():
        return samples, 0, 0, 0
    bad_columns = np.flatnonzero(~finite.all(axis=0))
    count = int(finite.size - np.count_nonzero(finite))
    fixed = np.where(finite, samples, 0).astype(samples.dtype)
    return fixed, count, int(bad_columns[0]), int(bad_columns[-1]) + 1
