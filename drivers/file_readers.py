"""Block readers for the files :class:`~aemon.drivers.file_source.FileSource` replays.

Each reader opens one file, knows its stream format, and yields ``(absolute first_sample,
block)`` pairs of C-ordered ``(channels, n)`` blocks from a given sample on, reading at most
one block at a time (memory stays bounded whatever the file size).

Sample conventions (the same as the soundcard's): ``int16`` blocks are counts and
``format.volts_per_count`` scales them; every other sample type becomes ``float32`` volts
(value × ``volts_per_count``) with ``format.volts_per_count`` = 1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from aemon.errors import FileFormatError
from aemon.types import ChannelInfo, Gap, StreamFormat

RAW_DTYPES = {"int16": "<i2", "int32": "<i4", "float32": "<f4", "float64": "<f8"}
"""Raw sample types (little-endian, interleaved frames like a soundcard dump)."""

Block = tuple[int, npt.NDArray[Any]]


class BlockReader(Protocol):
    """What :class:`FileSource` needs from a file."""

    format: StreamFormat
    channel_info: list[ChannelInfo]
    first_sample: int
    """Absolute index of the file's first sample."""
    stop_sample: int
    """Absolute index one past the file's last sample."""

    def blocks(self, start: int, block_samples: int) -> Iterator[Block]: ...

    def gaps(self) -> list[Gap]: ...

    def close(self) -> None: ...


def _channels(count: int, volts_per_count: float) -> list[ChannelInfo]:
    return [ChannelInfo(f"ch{i + 1}", volts_per_count=volts_per_count) for i in range(count)]


class RecordingBlocks:
    """An aemon HDF5 recording; its stored dtype, scale, sample indices and gaps."""

    def __init__(self, path: str) -> None:
        from aemon.io.recording import RecordingReader

        self._reader = RecordingReader(path)
        self.format = self._reader.format
        self.channel_info = list(self._reader.channel_info)
        self.first_sample = self._reader.first_sample
        segments = self._reader.segments()
        last_raw, last_first = segments[-1] if segments else (0, self.first_sample)
        data_stop = last_first + self._reader.samples - last_raw
        gap_stops = [g.stop_sample for g in self._reader.gaps()]
        self.stop_sample = max([data_stop, *gap_stops])  # trailing gaps replay too

    def blocks(self, start: int, block_samples: int) -> Iterator[Block]:
        reader = self._reader
        total = reader.samples
        segments = reader.segments()
        ends = [raw for raw, _ in segments[1:]] + [total]
        for (raw_start, first), raw_end in zip(segments, ends, strict=True):
            raw_end = min(raw_end, total)
            if first + raw_end - raw_start <= start:
                continue
            col = raw_start + max(0, start - first)
            while col < raw_end:
                count = min(block_samples, raw_end - col)
                yield first + col - raw_start, reader.read(col, count)
                col += count

    def gaps(self) -> list[Gap]:
        return self._reader.gaps()

    def close(self) -> None:
        self._reader.close()


class SoundFileBlocks:
    """A WAV/FLAC (or other libsndfile) file, as float32 volts.

    libsndfile normalises integer samples to ±1 (full scale); those values are treated as
    volts × ``volts_per_count``, i.e. ``volts_per_count`` is the voltage of full scale.
    """

    def __init__(self, path: str, volts_per_count: float) -> None:
        import soundfile

        self.path = path
        self._volts_per_count = volts_per_count
        try:
            self._file = soundfile.SoundFile(path)
        except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
            raise FileFormatError(
                f"{path}: cannot be read as audio ({_first_line(exc)}); the file is corrupt "
                "or not in the format its name says"
            ) from None
        rate, channels = float(self._file.samplerate), int(self._file.channels)
        self.format = StreamFormat(rate, channels, "float32", 1.0)
        self.channel_info = _channels(channels, 1.0)
        self.first_sample = 0
        self.stop_sample = int(self._file.frames)

    def blocks(self, start: int, block_samples: int) -> Iterator[Block]:
        f = self._file
        pos = start
        try:
            f.seek(start)
            while True:
                data = f.read(block_samples, dtype="float32", always_2d=True)
                if not len(data):
                    return
                block = np.ascontiguousarray(data.T)
                if self._volts_per_count != 1.0:
                    block *= np.float32(self._volts_per_count)
                yield pos, block
                pos += block.shape[1]
        except RuntimeError as exc:  # soundfile's LibsndfileError is a RuntimeError
            raise FileFormatError(
                f"{self.path}: cannot decode audio near sample {pos} ({_first_line(exc)}); "
                "the file is corrupt or truncated"
            ) from None

    def gaps(self) -> list[Gap]:
        return []

    def close(self) -> None:
        self._file.close()


class RawBlocks:
    """Raw interleaved little-endian samples: frames of ``channels`` values, no header."""

    def __init__(
        self, path: str, *, fs: float, dtype: str, channels: int, volts_per_count: float
    ) -> None:
        if dtype not in RAW_DTYPES:
            raise FileFormatError(
                f"{path}: raw sample type {dtype!r} unknown; use int16, int32, float32 or float64"
            )
        self.path = path
        self._dtype = np.dtype(RAW_DTYPES[dtype])
        self._channels = channels
        self._volts_per_count = volts_per_count
        frame_bytes = self._dtype.itemsize * channels
        size = os.path.getsize(path)
        if size % frame_bytes:
            raise FileFormatError(
                f"{path}: {size} bytes is not a whole number of {channels}-channel {dtype} "
                f"frames ({frame_bytes} bytes each); check the sample type and channel count"
            )
        self._frame_bytes = frame_bytes
        out_dtype = "int16" if dtype == "int16" else "float32"
        scale = volts_per_count if out_dtype == "int16" else 1.0
        self.format = StreamFormat(float(fs), channels, out_dtype, scale)
        self.channel_info = _channels(channels, scale)
        self.first_sample = 0
        self.stop_sample = size // frame_bytes
        self._file = open(path, "rb")  # noqa: SIM115 (closed by close())

    def blocks(self, start: int, block_samples: int) -> Iterator[Block]:
        f = self._file
        f.seek(start * self._frame_bytes)
        pos = start
        while True:
            data = np.fromfile(f, dtype=self._dtype, count=block_samples * self._channels)
            frames = len(data) // self._channels
            if not frames:
                return
            interleaved = data[: frames * self._channels].reshape(frames, self._channels)
            if self.format.dtype == "int16":
                block = np.ascontiguousarray(interleaved.T, dtype=np.int16)
            elif self._volts_per_count != 1.0:
                scaled = interleaved.T * self._volts_per_count  # float64 for int32/float64
                block = np.ascontiguousarray(scaled, dtype=np.float32)
            else:
                block = np.ascontiguousarray(interleaved.T, dtype=np.float32)
            yield pos, block
            pos += frames

    def gaps(self) -> list[Gap]:
        return []

    def close(self) -> None:
        self._file.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
