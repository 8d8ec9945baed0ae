"""Block readers for sample files: aemon HDF5 recordings, WAV/FLAC, raw binary.

Used by :class:`~aemon.drivers.file_source.FileSource` (replay), by ``aemon detect``
(offline detection) and by training (:func:`read_volts`); the core must not import drivers,
so the readers live here. Vallen tradb/pridb files are read by :mod:`aemon.io.vallen`.
:func:`open_block_reader` picks the reader from the suffix or the first bytes and checks the
options; :func:`timeline` yields the blocks and gaps in index order.

Each reader opens one file, knows its stream format, and yields ``(absolute first_sample,
block)`` pairs of C-ordered ``(channels, n)`` blocks from a given sample on, reading at most
one block at a time (memory stays bounded whatever the file size).

Sample conventions (the same as the soundcard's): ``int16`` blocks are counts and
``format.volts_per_count`` scales them; every other sample type becomes ``float32`` volts
(value × ``volts_per_count``) with ``format.volts_per_count`` = 1.
"""

from __future__ import annotations

import logging
import math
import os
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from aemon.errors import ConfigError, FileFormatError
from aemon.io.audio_truncation import audio_truncation
from aemon.types import ChannelInfo, Gap, StreamFormat

HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".he5")
RAW_SUFFIXES = (".raw", ".bin", ".pcm", ".dat")
_MAGIC = {
    b"\x89HDF\r\n\x1a\n": "recording",
    b"RIFF": "audio",
    b"RF64": "audio",
    b"fLaC": "audio",
    b"OggS": "audio",
    b"FORM": "audio",
}

RAW_DTYPES = {"int16": "<i2", "int32": "<i4", "float32": "<f4", "float64": "<f8"}
"""Raw sample types (little-endian, interleaved frames like a soundcard dump)."""

Block = tuple[int, npt.NDArray[Any]]

logger = logging.getLogger(__name__)


class BlockReader(Protocol):
    """What :class:`FileSource` needs from a file."""

    format: StreamFormat
    channel_info: list[ChannelInfo]
    first_sample: int
    """Absolute index of the file's first sample."""
    stop_sample: int
    """Absolute index one past the file's last sample."""
    start_time_utc: str
    """ISO 8601 UTC time of ``first_sample`` ("" when the file does not say)."""

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
        self.start_time_utc = self._reader.info.start_time_utc
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

    def __init__(self, path: str, volts_per_count: float, *, volts_known: bool = True) -> None:
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
        self.truncated = audio_truncation(path, self._file.extra_info, self._file.frames, rate)
        if self.truncated is not None:
            logger.warning("%s", self.truncated)
        self.format = StreamFormat(rate, channels, "float32", 1.0, volts_known)
        self.channel_info = _channels(channels, 1.0)
        self.first_sample = 0
        self.stop_sample = int(self._file.frames)
        self.start_time_utc = ""

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
        self,
        path: str,
        *,
        sample_rate_hz: float,
        dtype: str,
        channels: int,
        volts_per_count: float,
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
        self.format = StreamFormat(float(sample_rate_hz), channels, out_dtype, scale)
        self.channel_info = _channels(channels, scale)
        self.first_sample = 0
        self.stop_sample = size // frame_bytes
        self.start_time_utc = ""
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


def file_kind(path: str, raw_hint: bool = False) -> str:
    """``"recording"``, ``"audio"`` or ``"raw"`` from the suffix, else the first bytes.

    Args:
        path: The file.
        raw_hint: A raw sample type was given, so an unknown suffix means raw.

    Raises:
        FileFormatError: The type cannot be told.
    """
    suffix = Path(path).suffix.lower()
    if suffix in HDF5_SUFFIXES:
        return "recording"
    if suffix in RAW_SUFFIXES:
        return "raw"
    import soundfile

    formats = {name.lower() for name in soundfile.available_formats()} - {"raw"}
    if suffix[1:] in formats or suffix in (".aif", ".oga", ".opus"):
        return "audio"
    if raw_hint:
        return "raw"
    with open(path, "rb") as f:
        head = f.read(8)
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    raise FileFormatError(
        f"{path}: unknown file type {suffix or '(no suffix)'}; give an aemon .h5 "
        "recording, a WAV/FLAC file, or a raw file with --rate and --dtype"
    )


def open_block_reader(
    path: str | os.PathLike[str],
    *,
    sample_rate_hz: float | None = None,
    dtype: str | None = None,
    channels: int | None = None,
    volts_per_count: float | None = None,
) -> BlockReader:
    """Open a recording, WAV/FLAC or raw file and check the options against it.

    Args:
        path: The file.
        sample_rate_hz: Sample rate of a raw file (Hz); for other files it must match if
            given.
        dtype: Raw sample type (``int16``, ``int32``, ``float32``, ``float64``); raw only.
        channels: Channels of a raw file (default 1); for other files must match if given.
        volts_per_count: Volts per sample unit (V) for raw and WAV/FLAC files (default 1).

    Raises:
        FileFormatError: Missing, unreadable or unknown file.
        ConfigError: Options that a file of this kind does not take or that contradict it.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileFormatError(f"{path}: no such file; check the path")
    if os.path.isdir(path):
        raise FileFormatError(f"{path}: is a directory; give a recording, WAV/FLAC or raw file")
    kind = file_kind(path, raw_hint=dtype is not None)
    if kind == "raw":
        if sample_rate_hz is None or dtype is None:
            raise ConfigError(
                f"{path}: raw samples need the sample rate and type (--rate HZ and --dtype "
                f"{'|'.join(RAW_DTYPES)})"
            )
        return RawBlocks(
            path,
            sample_rate_hz=sample_rate_hz,
            dtype=dtype,
            channels=channels or 1,
            volts_per_count=volts_per_count or 1.0,
        )
    if dtype is not None:
        raise ConfigError(f"{path}: the sample type (--dtype) is for raw files only")
    if kind == "recording":
        if volts_per_count is not None:
            raise ConfigError(
                f"{path}: a recording stores its own volts per count; drop that option"
            )
        reader: BlockReader = RecordingBlocks(path)
    else:
        reader = SoundFileBlocks(
            path, volts_per_count or 1.0, volts_known=volts_per_count is not None
        )
    fmt = reader.format
    mismatch = ""
    if sample_rate_hz is not None and not math.isclose(sample_rate_hz, fmt.sample_rate_hz):
        mismatch = f"is sampled at {fmt.sample_rate_hz:g} Hz, not {sample_rate_hz:g} Hz"
    elif channels is not None and channels != fmt.channels:
        mismatch = f"has {fmt.channels} channel(s), not {channels}"
    if mismatch:
        reader.close()
        raise ConfigError(f"{path} {mismatch}; drop the option or give the right file")
    return reader


def read_volts(reader: BlockReader, block_samples: int = 1 << 20) -> npt.NDArray[np.float64]:
    """Every stored sample of an open reader, as float64 volts ``(channels, n)``.

    Gaps are left out (the samples are joined as stored); int16 counts are scaled by each
    channel's volts per count. For files that fit in memory (training's burst and background
    files); detection walks :func:`timeline` instead.
    """
    parts = [block for _, block in reader.blocks(reader.first_sample, block_samples)]
    if not parts:
        return np.zeros((reader.format.channels, 0))
    data = np.concatenate(parts, axis=1)
    if data.dtype == np.int16:
        scale = np.array([c.volts_per_count for c in reader.channel_info], dtype=np.float64)
        return data * scale[:, None]
    return data.astype(np.float64)


def timeline(reader: BlockReader, start: int, block_samples: int) -> Iterator[Gap | Block]:
    """Data blocks and gaps from ``start`` on, in index order, gaps cut out.

    Data inside a stored gap (a recorder zero-fills short gaps) is skipped; a jump in the
    stored indices that no stored gap explains is reported as a ``"missing"`` gap. Blocks are
    C-contiguous ``(channels, n)`` arrays of at most ``block_samples`` samples.
    """
    pos = start
    stored = sorted(reader.gaps(), key=lambda g: g.start_sample)
    gaps = deque(g for g in stored if g.stop_sample > pos)
    for first, block in reader.blocks(pos, block_samples):
        stop = first + block.shape[1]
        while (lo := max(pos, first)) < stop:
            if gaps and gaps[0].start_sample <= lo:
                gap = gaps.popleft()
                if gap.stop_sample > pos:
                    yield Gap(max(gap.start_sample, pos), gap.stop_sample, gap.reason)
                    pos = gap.stop_sample
                continue
            if first > pos:
                yield Gap(pos, first, "missing")
                pos = first
                continue
            hi = min(stop, gaps[0].start_sample) if gaps else stop
            piece = block if (lo, hi) == (first, stop) else block[:, lo - first : hi - first]
            yield lo, np.ascontiguousarray(piece)
            pos = hi
    for gap in gaps:
        if gap.stop_sample > pos:
            yield Gap(max(gap.start_sample, pos), gap.stop_sample, gap.reason)
            pos = gap.stop_sample


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
