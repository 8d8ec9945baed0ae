"""Replay a file as a source: aemon HDF5 recordings, WAV/FLAC, raw binary.

The file type comes from the suffix (``.h5``/``.hdf5``: recording; ``.wav``, ``.flac`` and
other libsndfile formats; ``.raw``/``.bin``/``.pcm``/``.dat``: raw), or from the first bytes
when the suffix says nothing. Raw files need the sample rate and sample type.

Sample indices are the file's own: a recording replays its stored absolute indices and gaps
(each gap reaches the sink before the samples that follow it, and zero-filled gap samples are
not replayed); WAV/FLAC/raw files count from 0 at their first frame.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from aemon.errors import ConfigError, SourceError
from aemon.io.file_readers import BlockReader, open_block_reader, timeline
from aemon.stream.source import OpenStopContext, SourceStats, delivery_error
from aemon.types import ChannelInfo, Gap, SampleSink, StreamFormat

logger = logging.getLogger(__name__)

REALTIME_BLOCK_S = 0.02
"""Longest block in real-time replay (s), so the pace is as smooth as a soundcard's."""


class FileSource(OpenStopContext):
    """Replay a file into a sink; implements :class:`aemon.stream.source.Source`.

    Args:
        path: Recording (``.h5``), WAV/FLAC, or raw file.
        realtime: Pace delivery by the clock at the file's sample rate (blocks of at most
            20 ms, scheduled from the start time so the pace never drifts); False delivers as
            fast as the sink accepts.
        block_samples: Samples per channel per block (at most; blocks end early at gaps).
        sample_rate_hz: Sample rate of a raw file (Hz); for other files it must match the
            file if given.
        dtype: Raw sample type: ``int16``, ``int32``, ``float32`` or ``float64``.
        channels: Channels of a raw file (default 1); for other files must match if given.
        volts_per_count: Volts per sample unit (V): per count for int16/int32 raw, per unit
            for float raw, per full scale for WAV/FLAC. Default 1. A recording's own scale is
            always used.
        duration_s: Deliver exactly ``round(duration_s × sample_rate_hz)`` sample indices
            (samples and gaps) from the start, or up to the end of the file if that comes first.
        start_s: Start this far into the file (s).
    """

    format: StreamFormat
    channel_info: list[ChannelInfo]

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        realtime: bool = False,
        block_samples: int = 65536,
        sample_rate_hz: float | None = None,
        dtype: str | None = None,
        channels: int | None = None,
        volts_per_count: float | None = None,
        duration_s: float | None = None,
        start_s: float = 0.0,
    ) -> None:
        if block_samples < 1:
            raise ConfigError(f"block size must be at least 1 sample, not {block_samples}")
        rate = sample_rate_hz
        if rate is not None and not (math.isfinite(rate) and rate > 0):
            raise ConfigError(f"sample rate must be a positive number of Hz, not {rate}")
        if channels is not None and channels < 1:
            raise ConfigError(f"channel count must be at least 1, not {channels}")
        if volts_per_count is not None and not (
            math.isfinite(volts_per_count) and volts_per_count > 0
        ):
            raise ConfigError(f"volts per count must be positive, not {volts_per_count}")
        if duration_s is not None and not (math.isfinite(duration_s) and duration_s > 0):
            raise ConfigError(f"duration must be a positive number of seconds, not {duration_s}")
        if not (math.isfinite(start_s) and start_s >= 0):
            raise ConfigError(f"start offset must be 0 s or more, not {start_s}")
        self.path = os.fspath(path)
        self.realtime = realtime
        self.block_samples = block_samples
        self.sample_rate_hz, self.dtype, self.channels = sample_rate_hz, dtype, channels
        self.volts_per_count = volts_per_count
        self.duration_s = duration_s
        self.start_s = start_s
        self.stats = SourceStats()
        self.first_sample = 0
        self.stop_sample = 0
        self._reader: BlockReader | None = None
        self._thread: threading.Thread | None = None
        self._stop_requested = threading.Event()
        self._done = threading.Event()
        self._ended_by_itself = False
        self._error: BaseException | None = None

    # ------------------------------------------------------------------ opening

    def open(self) -> None:
        """Open the file and learn its format (idempotent)."""
        if self._reader is not None:
            return
        reader = self._reader = self._open_reader()
        self.format, self.channel_info = reader.format, reader.channel_info
        fs = self.format.sample_rate_hz
        self.first_sample = reader.first_sample + round(self.start_s * fs)
        if self.start_s > 0 and self.first_sample >= reader.stop_sample:
            length = (reader.stop_sample - reader.first_sample) / fs
            reader.close()
            self._reader = None
            raise ConfigError(
                f"start {self.start_s:g} s is past the end of {self.path} ({length:.3f} s long)"
            )
        self.stop_sample = reader.stop_sample
        if self.duration_s is not None:
            end = self.first_sample + max(1, round(self.duration_s * fs))
            self.stop_sample = min(self.stop_sample, end)
        logger.info(
            "replaying %s: %d channel(s) of %s at %g Hz, samples %d..%d%s",
            self.path, self.format.channels, self.format.dtype, fs, self.first_sample,
            self.stop_sample, " in real time" if self.realtime else "",
        )  # fmt: skip

    def _open_reader(self) -> BlockReader:
        return open_block_reader(
            self.path,
            sample_rate_hz=self.sample_rate_hz,
            dtype=self.dtype,
            channels=self.channels,
            volts_per_count=self.volts_per_count,
        )

    # ------------------------------------------------------------------ running

    def start(self, sink: SampleSink) -> None:
        """Start replaying into ``sink`` on a worker thread (opens the file if needed)."""
        if self._thread is not None:
            raise SourceError(f"{self.path}: replay already started; open a new source")
        self.open()
        self._thread = threading.Thread(
            target=self._run, args=(sink,), name="aemon-file-source", daemon=True
        )
        self._thread.start()

    def _run(self, sink: SampleSink) -> None:
        try:
            self._ended_by_itself = self._deliver(sink)
        except BaseException as exc:
            self._error = exc
            logger.error("%s: replay stopped: %s", self.path, exc)
        finally:
            self._done.set()

    def _deliver(self, sink: SampleSink) -> bool:
        """Push every block and gap in order; True if the end was reached."""
        fs = self.format.sample_rate_hz
        start, end = self.first_sample, self.stop_sample
        t0 = time.monotonic()
        for item in self._timeline():
            if self._stop_requested.is_set():
                return False
            if isinstance(item, Gap):
                if item.start_sample >= end:
                    break
                gap = Gap(item.start_sample, min(item.stop_sample, end), item.reason)
                sink.gap(gap)
                with self.stats.lock:
                    self.stats.gaps += 1
                    self.stats.samples_lost += gap.samples
                continue
            first, block = item
            if first >= end:
                break
            if first + block.shape[1] > end:
                block = np.ascontiguousarray(block[:, : end - first])
            if self.realtime:
                due = t0 + (first + block.shape[1] - start) / fs
                delay = due - time.monotonic()
                if delay > 0 and self._stop_requested.wait(delay):
                    return False
            sink.push(first, block)
            with self.stats.lock:
                self.stats.frames += 1
                self.stats.samples += block.shape[1]
        return not self._stop_requested.is_set()

    def _timeline(self) -> Iterator[Gap | tuple[int, npt.NDArray[Any]]]:
        """Data blocks and gaps from ``first_sample`` on (see :func:`timeline`)."""
        assert self._reader is not None
        size = self.block_samples
        if self.realtime:
            size = min(size, max(1, round(REALTIME_BLOCK_S * self.format.sample_rate_hz)))
        return timeline(self._reader, self.first_sample, size)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the replay to end.

        Returns:
            True once the whole file (or ``duration_s``) was delivered; False on timeout or
            after :meth:`stop`.

        Raises:
            AemonError: If the file turned out corrupt during replay (``FileFormatError``)
                or the sink raised (``SourceError``).
        """
        if self._thread is None:
            return False
        self._done.wait(timeout)
        if self._error is not None:
            raise delivery_error(self._error, f"{self.path}: replay stopped")
        return self._done.is_set() and self._ended_by_itself

    def stop(self) -> None:
        """Stop the replay and close the file (idempotent)."""
        self._stop_requested.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        if self._reader is not None and (thread is None or not thread.is_alive()):
            self._reader.close()
