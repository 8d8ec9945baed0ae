"""Read aemon HDF5 recordings, also while they are being written (SWMR)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from types import TracebackType
from typing import Any, NamedTuple

import h5py
import numpy as np
import numpy.typing as npt

from aemon.errors import FileFormatError
from aemon.io import schema
from aemon.io.hdf5_file import open_hdf5
from aemon.types import ChannelInfo, Gap, StreamFormat

logger = logging.getLogger(__name__)

try:  # registers the Blosc filter used by /raw (a core dependency; training boxes may lack it)
    import hdf5plugin  # noqa: F401
except ImportError:  # pragma: no cover
    logger.debug("hdf5plugin missing: Blosc-compressed recordings cannot be read")


class RecordingInfo(NamedTuple):
    """Summary of a recording, as shown by ``aemon info``.

    Attributes:
        path: File path.
        sample_rate_hz: Samples per second per channel (Hz).
        channels: Number of channels.
        samples: Samples per channel stored in ``/raw`` (zero-filled gaps included).
        duration_s: ``samples / sample_rate_hz`` (s).
        dtype: ``"int16"`` or ``"float32"``.
        volts_per_count: Per channel scale from stored value to volts (V).
        gaps: Number of recorded gaps.
        samples_lost: Samples per channel covered by the gaps.
        events: Rows in the event table.
        truth_bursts: Rows in the simulator ground-truth table.
        closed_cleanly: True if the writer closed the file; False while it is being written
            or if the writer died.
        start_time_utc: ISO 8601 UTC time of sample ``first_sample``.
        software_version: aemon version that wrote the file.
        compression: Filter preset of ``/raw``.
        first_sample: Absolute sample index of ``raw[:, 0]``.
        state: ``/status`` state: 0 being written or writer killed, 1 closed cleanly, 2
            closed early after an error, 3 repaired (``aemon.io.schema.STATE_NAMES``).
        incidents: Rows in ``/incidents`` (restarts, replaced samples, errors).
    """

    path: str
    sample_rate_hz: float
    channels: int
    samples: int
    duration_s: float
    dtype: str
    volts_per_count: tuple[float, ...]
    gaps: int
    samples_lost: int
    events: int
    truth_bursts: int
    closed_cleanly: bool
    start_time_utc: str
    software_version: str
    compression: str
    first_sample: int
    state: int = 1
    incidents: int = 0


class RecordingReader:
    """Open an aemon recording for reading; a context manager.

    The file is opened in SWMR read mode when possible, so a recording that is still being
    written (or whose writer was killed) can be read; call :meth:`refresh` (or read
    :attr:`info`) to see samples flushed since.

    Attributes:
        path: File path.
        format: Stream format (rate, channels, dtype, stream volts per count).
        channel_info: One :class:`ChannelInfo` per channel.
        config: The configuration stored by the writer.
        format_version: Format version of the file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Open and validate ``path``.

        Raises:
            FileFormatError: Missing file, not HDF5, not an aemon recording, a newer format
                version, or a truncated/corrupt file.
        """
        self.path = os.fspath(path)
        self._file = open_hdf5(self.path)
        try:
            self._load_header()
        except BaseException:
            self._file.close()
            raise

    def _load_header(self) -> None:
        f, path = self._file, self.path
        if f.attrs.get("format") != schema.FORMAT_NAME:
            raise FileFormatError(
                f"{path}: HDF5 file but not an aemon recording (no format='aemon-recording' "
                "attribute); open it with h5py or record a new file with aemon"
            )
        version = int(f.attrs.get("format_version", -1))
        if version > schema.FORMAT_VERSION or version < 1:
            raise FileFormatError(
                f"{path}: recording format version {version} is not supported by this aemon "
                f"(reads 1..{schema.FORMAT_VERSION}); upgrade aemon"
            )
        missing = [name for name in schema.REQUIRED_DATASETS if name not in f]
        if missing:
            raise FileFormatError(
                f"{path}: damaged aemon recording, missing {', '.join(missing)}; "
                "re-record or restore the file from a backup"
            )
        try:
            attrs = f.attrs
            dtype = str(attrs["dtype"])
            if dtype not in schema.SUPPORTED_DTYPES:
                raise ValueError(f"unknown dtype {dtype!r}")
            # One handle per dataset: H5Drefresh on a second handle of an open dataset
            # corrupts the first one's chunk index ("can't insert duplicate key").
            self._ds: dict[str, h5py.Dataset] = {n: f[n] for n in schema.REQUIRED_DATASETS}
            self._ds.update({n: f[n] for n in schema.OPTIONAL_DATASETS if n in f})
            self._raw = self._ds[schema.RAW]
            self.format = StreamFormat(
                sample_rate_hz=float(attrs["sample_rate_hz"]),
                channels=int(self._raw.shape[0]),
                dtype=dtype,
                volts_per_count=float(attrs["volts_per_count"]),
            )
            self.channel_info = [
                ChannelInfo(
                    name=schema.decode_text(row["name"]),
                    sensor=schema.decode_text(row["sensor"]),
                    gain_db=float(row["gain_db"]),
                    volts_per_count=float(row["volts_per_count"]),
                )
                for row in self._ds[schema.CHANNELS][()]
            ]
            self.config: dict[str, Any] = json.loads(str(attrs["config_json"]))
            self._first_sample = int(attrs["first_sample"])
            self.format_version = version
        except (KeyError, ValueError, TypeError, OSError) as exc:
            raise FileFormatError(
                f"{path}: damaged aemon recording header ({exc}); re-record or restore it"
            ) from None
        if len(self.channel_info) != self.format.channels:
            raise FileFormatError(
                f"{path}: damaged aemon recording, {len(self.channel_info)} channel "
                f"descriptions for {self.format.channels} channels; re-record it"
            )
        self._scale = np.array([c.volts_per_count for c in self.channel_info], dtype=np.float64)

    # -- summary -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read dataset sizes, to see what a live writer has flushed since."""
        if not self._file.swmr_mode:
            return
        for dataset in self._ds.values():
            dataset.refresh()

    @property
    def samples(self) -> int:
        """Samples per channel in ``/raw`` (as of the last refresh)."""
        return int(self._raw.shape[1])

    @property
    def first_sample(self) -> int:
        """Absolute sample index of ``raw[:, 0]``."""
        return self._first_sample

    @property
    def closed_cleanly(self) -> bool:
        """True if the writer finished cleanly and closed the file (as of the last refresh)."""
        return self.state == schema.STATE_CLOSED

    @property
    def state(self) -> int:
        """The ``/status`` state (``aemon.io.schema.STATE_*``)."""
        return int(self._ds[schema.STATUS][0]["state"])

    @property
    def info(self) -> RecordingInfo:
        """A fresh summary (refreshes first)."""
        self.refresh()
        attrs, gaps = self._file.attrs, self._ds[schema.GAPS][()]
        lost = int(np.sum(gaps["stop_sample"] - gaps["start_sample"])) if len(gaps) else 0
        return RecordingInfo(
            path=self.path,
            sample_rate_hz=self.format.sample_rate_hz,
            channels=self.format.channels,
            samples=self.samples,
            duration_s=self.samples / self.format.sample_rate_hz,
            dtype=self.format.dtype,
            volts_per_count=tuple(float(v) for v in self._scale),
            gaps=len(gaps),
            samples_lost=lost,
            events=int(self._ds[schema.EVENTS].shape[0]),
            truth_bursts=int(self._ds[schema.TRUTH].shape[0]),
            closed_cleanly=self.closed_cleanly,
            start_time_utc=str(attrs.get("start_time_utc", "")),
            software_version=str(attrs.get("software_version", "")),
            compression=str(attrs.get("compression", "")),
            first_sample=self._first_sample,
            state=self.state,
            incidents=len(self.incidents()),
        )

    # -- samples -------------------------------------------------------------------------------

    def read(self, start: int, count: int, *, volts: bool = False) -> npt.NDArray[Any]:
        """Read ``count`` columns of ``/raw`` starting at column ``start``.

        Args:
            start: Raw column, relative to ``raw[:, 0]`` (not an absolute sample index; see
                :meth:`raw_index`).
            count: Samples per channel wanted; fewer are returned at the end of the data.
            volts: Return float32 volts (stored value × channel volts per count) instead of
                the stored dtype.

        Returns:
            A C-ordered ``(channels, k)`` array, ``k <= count``.

        Raises:
            ValueError: Negative ``start`` or ``count``.
            FileFormatError: Data that cannot be decoded (corrupt file or missing filter).
        """
        if start < 0 or count < 0:
            raise ValueError(f"start and count must be >= 0, got {start}, {count}")
        stop = min(start + count, self.samples)
        if stop <= start:
            data = np.zeros((self.format.channels, 0), dtype=self.format.dtype)
        else:
            try:
                data = self._raw[:, start:stop]
            except OSError as exc:
                raise FileFormatError(
                    f"{self.path}: cannot decode samples {start}..{stop} ({exc}); the file is "
                    "corrupt or the hdf5plugin filters are missing"
                ) from None
        if volts:
            return (data * self._scale[:, None]).astype(np.float32)
        return np.ascontiguousarray(data)

    def segments(self) -> list[tuple[int, int]]:
        """``(raw_start, first_sample)`` per contiguous run of ``/raw``, in order."""
        rows = self._ds[schema.SEGMENTS][()]
        return [(int(r["raw_start"]), int(r["first_sample"])) for r in rows]

    def sample_index(self, raw_column: int) -> int:
        """Absolute sample index of raw column ``raw_column``."""
        base, first = 0, self._first_sample
        for raw_start, seg_first in self.segments():
            if raw_start > raw_column:
                break
            base, first = raw_start, seg_first
        return first + raw_column - base

    def raw_index(self, sample: int) -> int | None:
        """Raw column holding absolute sample ``sample``, or None if it is not stored."""
        segments = self.segments()
        ends = [s[0] for s in segments[1:]] + [self.samples]
        for (raw_start, first), raw_end in zip(segments, ends, strict=True):
            if first <= sample < first + raw_end - raw_start:
                return raw_start + sample - first
        return None

    def iter_blocks(
        self, block_samples: int, *, volts: bool = False
    ) -> Iterator[tuple[int, npt.NDArray[Any]]]:
        """Yield ``(absolute first_sample, block)`` over the samples stored when called.

        Blocks have ``block_samples`` columns except at the end and where ``/raw`` jumps to
        a new segment (a gap too long to be zero-filled).
        """
        if block_samples < 1:
            raise ValueError(f"block_samples must be >= 1, got {block_samples}")
        self.refresh()
        total = self.samples
        segments = self.segments()
        ends = [s[0] for s in segments[1:]] + [total]
        for (raw_start, first), raw_end in zip(segments, ends, strict=True):
            raw_end = min(raw_end, total)
            for col in range(raw_start, raw_end, block_samples):
                count = min(block_samples, raw_end - col)
                yield first + col - raw_start, self.read(col, count, volts=volts)

    def channel_sha256(self, block_samples: int = 1 << 20) -> list[str]:
        """SHA-256 hex digest per channel of ``raw[c, :]`` as little-endian stored-dtype bytes."""
        hashes = [hashlib.sha256() for _ in range(self.format.channels)]
        dtype = np.dtype(self.format.dtype).newbyteorder("<")
        total = self.samples
        for start in range(0, total, block_samples):
            block = self.read(start, block_samples).astype(dtype, copy=False)
            for c, h in enumerate(hashes):
                h.update(np.ascontiguousarray(block[c]).tobytes())
        return [h.hexdigest() for h in hashes]

    # -- tables --------------------------------------------------------------------------------

    def gaps(self) -> list[Gap]:
        """Recorded gaps, in the order they were recorded."""
        return [
            Gap(int(r["start_sample"]), int(r["stop_sample"]), schema.decode_text(r["reason"]))
            for r in self._ds[schema.GAPS][()]
        ]

    def incidents(self) -> list[tuple[int, int, float, str, str]]:
        """``(start_sample, stop_sample, unix_s, kind, detail)`` per ``/incidents`` row (none
        in files from writers older than the table)."""
        if schema.INCIDENTS not in self._ds:
            return []
        return [
            (int(r["start_sample"]), int(r["stop_sample"]), float(r["unix_s"]),
             schema.decode_text(r["kind"]), schema.decode_text(r["detail"]))
            for r in self._ds[schema.INCIDENTS][()]
        ]  # fmt: skip

    def events(self) -> npt.NDArray[np.void]:
        """All events, a structured array of ``EVENT_DTYPE`` (columns an older recording
        lacks, such as the location columns, are filled with -1, NaN or "")."""
        return schema.to_event_rows(self._ds[schema.EVENTS][()])

    def truth(self) -> npt.NDArray[np.void]:
        """Simulator ground truth, a structured array of ``TRUTH_DTYPE`` (empty if none)."""
        return schema.to_truth_rows(self._ds[schema.TRUTH][()])

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._file.id.valid:
            self._file.close()

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
