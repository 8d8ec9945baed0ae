"""Qt-free scrolling spectrogram and waveform envelope: what the live display draws.

Each *column* covers ``column_s`` of signal per channel. Its spectrum is that of the loudest
(highest energy) of the non-overlapping ``nfft``-sample frames inside the column, Hann
windowed, so a 100 µs burst shows up even when a column spans 10 ms, at the cost of one FFT
per column; its waveform envelope is the column's min and max (V).

Columns are quantised to ``uint8`` once, on a fixed dB scale (:data:`DB_MIN` … :data:`DB_MAX`,
dB re 1 µV at the sensor, the dBAE reference); the colour levels the user sets act through
the lookup table (:func:`level_lut`), so moving them recolours the history without
recomputing it. Columns are written twice into a ring of ``2 × columns``, so the visible
image, oldest to newest, is always one contiguous slice (:meth:`SpectrogramColumns.image`).
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

DB_MIN = -20.0
"""dB re 1 µV of code 0."""
DB_MAX = 107.5
"""dB re 1 µV of code 255 (0.5 dB per code)."""
_DB_PER_CODE = (DB_MAX - DB_MIN) / 255.0


def quantise_db(db: npt.NDArray[np.floating]) -> npt.NDArray[np.uint8]:
    """dB values → uint8 codes on the fixed scale (clipped at both ends)."""
    codes = np.rint((np.asarray(db, dtype=np.float32) - DB_MIN) / _DB_PER_CODE)
    return np.clip(codes, 0, 255).astype(np.uint8)


def code_to_db(codes: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """uint8 codes → dB re 1 µV (the centre of each code)."""
    return DB_MIN + np.asarray(codes, dtype=np.float64) * _DB_PER_CODE


def level_lut(
    colours: npt.NDArray[np.uint8], low_db: float, high_db: float
) -> npt.NDArray[np.uint8]:
    """A 256-entry lookup table mapping codes to colours for the levels ``low_db..high_db``.

    Args:
        colours: ``(k, 3 or 4)`` colour map, darkest first.
        low_db: dB shown with the first colour (and below).
        high_db: dB shown with the last colour (and above); must exceed ``low_db``.
    """
    if not high_db > low_db:
        raise ValueError(f"colour levels need high > low, got {low_db:g}..{high_db:g} dB")
    frac = (code_to_db(np.arange(256)) - low_db) / (high_db - low_db)
    index = np.clip(np.rint(frac * (len(colours) - 1)), 0, len(colours) - 1).astype(int)
    return np.ascontiguousarray(colours[index])


class SpectrogramColumns:
    """Turns sample blocks into spectrogram and envelope columns in a double-written ring.

    Args:
        channels: Number of channels.
        sample_rate_hz: Samples per second per channel (Hz).
        volts_per_count: Per channel factor from sample value to volts at the sensor (V).
        columns: Columns visible at once (the image width).
        column_s: Signal per column (s).
        nfft: FFT length (samples); capped at the samples of one column.

    Attributes:
        newest_s: Stream time (s since ``origin_sample``) at the end of the newest column.
        bins: Frequency bins per column (``nfft // 2 + 1``).
        freqs_hz: Centre frequency of each bin (Hz).
    """

    def __init__(
        self,
        channels: int,
        sample_rate_hz: float,
        volts_per_count: float | list[float] = 1.0,
        *,
        columns: int = 600,
        column_s: float = 0.01,
        nfft: int = 256,
        origin_sample: int = 0,
    ) -> None:
        if channels < 1 or columns < 2 or column_s <= 0 or sample_rate_hz <= 0:
            raise ValueError("need channels >= 1, columns >= 2, column_s > 0, rate > 0")
        self.channels, self.sample_rate_hz = channels, float(sample_rate_hz)
        self.columns, self.column_s = columns, float(column_s)
        self.column_samples = max(2, round(column_s * sample_rate_hz))
        self.nfft = min(nfft, self.column_samples)
        self.frames = self.column_samples // self.nfft
        self.bins = self.nfft // 2 + 1
        self.freqs_hz = np.fft.rfftfreq(self.nfft, 1.0 / self.sample_rate_hz)
        scale = np.broadcast_to(np.asarray(volts_per_count, dtype=np.float64), (channels,))
        window = np.hanning(self.nfft + 2)[1:-1]
        # |rfft| × 2/sum(window) = sine amplitude (V); × 1e6 for µV; squared for power.
        self._power_scale = (scale * 1e6 * 2.0 / window.sum())[:, None, None] ** 2
        self._volts = scale[:, None].astype(np.float32)
        self._window = window.astype(np.float32)
        self.origin_sample = int(origin_sample)
        self._image = np.zeros((channels, 2 * columns, self.bins), dtype=np.uint8)
        self._envelope = np.zeros((channels, 2 * columns, 2), dtype=np.float32)
        self._head = 0  # ring slot of the oldest visible column
        self._pending = np.zeros((channels, 0), dtype=np.float32)
        self._next_sample = self.origin_sample  # absolute index that _pending[:, 0] has
        self.newest_s = 0.0
        self.columns_written = 0

    # -- input --------------------------------------------------------------------------------

    def push(self, first_sample: int, block: npt.NDArray[np.generic]) -> int:
        """Add a ``(channels, n)`` block starting at absolute ``first_sample``.

        A block that does not follow the previous one (a gap, or samples the display feed
        dropped) starts a fresh column at its own time; the skipped span is left dark.

        Returns:
            The number of new columns.
        """
        if block.shape[0] != self.channels:
            raise ValueError(f"block has {block.shape[0]} channels, display has {self.channels}")
        expected = self._next_sample + self._pending.shape[1]
        if first_sample != expected:
            self._pending = self._pending[:, :0]
            skipped = (first_sample - expected) // self.column_samples
            if first_sample > expected and skipped > 0:
                self._blank(min(int(skipped), self.columns))
            self._next_sample = first_sample
        data = block.astype(np.float32, copy=False)
        pending = np.concatenate([self._pending, data], axis=1) if self._pending.size else data
        k = pending.shape[1] // self.column_samples
        if k:
            self._add_columns(pending[:, : k * self.column_samples])
        self._pending = np.array(pending[:, k * self.column_samples :], dtype=np.float32)
        self._next_sample += k * self.column_samples
        self.newest_s = (self._next_sample - self.origin_sample) / self.sample_rate_hz
        return k

    def reset(self, origin_sample: int | None = None, at_sample: int | None = None) -> None:
        """Clear the image (e.g. after a seek); the next block may start anywhere."""
        if origin_sample is not None:
            self.origin_sample = int(origin_sample)
        self._image[:] = 0
        self._envelope[:] = 0
        self._pending = self._pending[:, :0]
        self._next_sample = self.origin_sample if at_sample is None else int(at_sample)
        self.newest_s = (self._next_sample - self.origin_sample) / self.sample_rate_hz

    # -- output -------------------------------------------------------------------------------

    def image(self, channel: int) -> npt.NDArray[np.uint8]:
        """The visible ``(columns, bins)`` uint8 image of a channel, oldest column first.

        A view into the ring (no copy): valid until the next :meth:`push`.
        """
        return self._image[channel, self._head : self._head + self.columns]

    def envelope(self, channel: int) -> npt.NDArray[np.float32]:
        """The visible ``(columns, 2)`` min/max envelope of a channel (V), oldest first."""
        return self._envelope[channel, self._head : self._head + self.columns]

    @property
    def span_s(self) -> tuple[float, float]:
        """Stream times (s) at the left and right edge of the visible image."""
        return self.newest_s - self.columns * self.column_s, self.newest_s

    def column_times_s(self) -> npt.NDArray[np.float64]:
        """Centre time (s) of each visible column, oldest first."""
        left = self.span_s[0]
        return np.asarray(left + (np.arange(self.columns) + 0.5) * self.column_s, dtype=np.float64)

    # -- internals ----------------------------------------------------------------------------

    def _add_columns(self, data: npt.NDArray[np.float32]) -> None:
        k = data.shape[1] // self.column_samples
        cols = data.reshape(self.channels, k, self.column_samples)
        frames = cols[:, :, : self.frames * self.nfft].reshape(
            self.channels, k, self.frames, self.nfft
        )
        # The spectrum of the loudest frame of each column: one FFT per column instead of
        # one per frame, and a burst inside the column is that frame.
        energy = np.einsum("ckfn,ckfn->ckf", frames, frames)
        loudest = np.take_along_axis(frames, energy.argmax(axis=2)[:, :, None, None], axis=2)
        loudest = loudest[:, :, 0, :]
        loudest = loudest - loudest.mean(axis=2, keepdims=True)
        spectrum = np.fft.rfft(loudest * self._window, axis=2)
        power = (spectrum.real**2 + spectrum.imag**2) * self._power_scale[:, :, 0, None]
        codes = quantise_db(10.0 * np.log10(power + 1e-12))
        env = np.stack([cols.min(axis=2), cols.max(axis=2)], axis=2) * self._volts[:, :, None]
        self._write(codes, env)

    def _blank(self, k: int) -> None:
        codes = np.zeros((self.channels, k, self.bins), dtype=np.uint8)
        self._write(codes, np.zeros((self.channels, k, 2), dtype=np.float32))

    def _write(self, codes: npt.NDArray[np.uint8], env: npt.NDArray[np.float32]) -> None:
        """Write columns at the ring's head, twice (slot and slot + columns)."""
        n, width = codes.shape[1], self.columns
        if n > width:
            codes, env, n = codes[:, -width:], env[:, -width:], width
        for i in range(n):  # at most a few per push; each is a small copy
            slot = self._head
            self._image[:, slot] = codes[:, i]
            self._image[:, slot + width] = codes[:, i]
            self._envelope[:, slot] = env[:, i]
            self._envelope[:, slot + width] = env[:, i]
            self._head = (slot + 1) % width
        self.columns_written += n
