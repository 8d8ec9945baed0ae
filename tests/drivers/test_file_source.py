"""FileSource (HDF5 recordings, WAV/FLAC, raw) and SOURCE-string dispatch, on real files."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from aemon.drivers.file_source import FileSource
from aemon.drivers.source_factory import add_source_arguments, source_from_args, source_from_spec
from aemon.errors import ConfigError, FileFormatError, SourceError
from aemon.io.recording import RecordingWriter
from aemon.types import ChannelInfo, Gap, StreamFormat


class CollectingSink:
    """Keeps a copy of everything pushed, and every gap, in arrival order."""

    def __init__(self, push_delay_s: float = 0.0) -> None:
        self.events: list[Gap | tuple[int, np.ndarray]] = []
        self.push_delay_s = push_delay_s

    def push(self, first_sample: int, samples: np.ndarray) -> None:
        assert samples.flags.c_contiguous and samples.ndim == 2
        self.events.append((first_sample, samples.copy()))
        if self.push_delay_s:
            time.sleep(self.push_delay_s)

    def gap(self, gap: Gap) -> None:
        self.events.append(gap)

    @property
    def blocks(self) -> list[tuple[int, np.ndarray]]:
        return [e for e in self.events if not isinstance(e, Gap)]

    @property
    def gaps(self) -> list[Gap]:
        return [e for e in self.events if isinstance(e, Gap)]

    def joined(self) -> tuple[int, np.ndarray]:
        """First index and all pushed samples, asserting they are contiguous."""
        blocks = self.blocks
        first = blocks[0][0]
        expected = first
        for start, block in blocks:
            assert start == expected
            expected += block.shape[1]
        return first, np.concatenate([b for _, b in blocks], axis=1)


def replay(source: FileSource, sink: CollectingSink | None = None) -> CollectingSink:
    sink = sink or CollectingSink()
    with source:
        source.start(sink)
        assert source.wait(timeout=20)
    return sink


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text and text
    return text


# ---------------------------------------------------------------- WAV / FLAC


@pytest.mark.parametrize(("suffix", "subtype"), [(".wav", "PCM_16"), (".flac", "PCM_16")])
def test_soundfile_round_trip_values_and_indices(tmp_path: Path, suffix: str, subtype: str) -> None:
    rng = np.random.default_rng(3)
    counts = rng.integers(-32768, 32767, size=(4410, 2), dtype=np.int16)
    path = tmp_path / f"sig{suffix}"
    sf.write(path, counts, 44100, subtype=subtype)

    source = FileSource(path, block_samples=1000, volts_per_count=2.0)
    sink = replay(source)

    assert source.format == StreamFormat(44100.0, 2, "float32", 1.0)
    assert [c.name for c in source.channel_info] == ["ch1", "ch2"]
    assert [first for first, _ in sink.blocks] == [0, 1000, 2000, 3000, 4000]
    first, data = sink.joined()
    assert first == 0 and data.dtype == np.float32
    np.testing.assert_array_equal(data, (counts.T / 32768.0 * 2.0).astype(np.float32))
    assert sink.gaps == []
    assert source.stats.samples == 4410 and source.stats.frames == 5


def test_flac_24_bit_start_and_duration_are_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    values = rng.integers(-(2**23), 2**23 - 1, size=20000).astype(np.int32) << 8
    path = tmp_path / "sig.flac"
    sf.write(path, values, 48000, subtype="PCM_24")

    source = FileSource(path, start_s=0.1, duration_s=0.05, block_samples=1000)
    sink = replay(source)

    assert source.first_sample == 4800
    first, data = sink.joined()
    assert first == 4800 and data.shape == (1, 2400)
    np.testing.assert_array_equal(data[0], (values[4800:7200] / 2.0**31).astype(np.float32))


def test_audio_file_detected_by_content_without_known_suffix(tmp_path: Path) -> None:
    path = tmp_path / "take1.capture"
    sf.write(path, np.zeros(100, dtype=np.int16), 8000, format="WAV", subtype="PCM_16")
    sink = replay(FileSource(path))
    assert sink.joined()[1].shape == (1, 100)


def test_wav_rate_or_channel_mismatch_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sig.wav"
    sf.write(path, np.zeros((10, 2), dtype=np.int16), 8000)
    with pytest.raises(ConfigError) as exc:
        FileSource(path, sample_rate_hz=48000).open()
    assert "8000 Hz, not 48000 Hz" in one_line(exc)
    with pytest.raises(ConfigError) as exc:
        FileSource(path, channels=1).open()
    assert "2 channel(s), not 1" in one_line(exc)
    with pytest.raises(ConfigError):
        FileSource(path, dtype="int16").open()


# ---------------------------------------------------------------- raw


def test_raw_int16_multichannel_interleave(tmp_path: Path) -> None:
    frames = np.arange(3 * 2500, dtype=np.int16).reshape(2500, 3)  # frame i = [3i, 3i+1, 3i+2]
    path = tmp_path / "dump.raw"
    frames.astype("<i2").tofile(path)

    source = FileSource(
        path, sample_rate_hz=192000, dtype="int16", channels=3, volts_per_count=1e-4
    )
    sink = replay(source)

    assert source.format == StreamFormat(192000.0, 3, "int16", 1e-4)
    assert source.channel_info[2].volts_per_count == 1e-4
    _, data = sink.joined()
    assert data.dtype == np.int16 and data.shape == (3, 2500)
    np.testing.assert_array_equal(data, frames.T)
    np.testing.assert_array_equal(data[1, :3], [1, 4, 7])


@pytest.mark.parametrize(
    ("dtype", "code"), [("float32", "<f4"), ("float64", "<f8"), ("int32", "<i4")]
)
def test_raw_other_types_become_float32_volts(tmp_path: Path, dtype: str, code: str) -> None:
    rng = np.random.default_rng(5)
    frames = (rng.standard_normal((3000, 2)) * 1000).astype(code)
    path = tmp_path / "dump.bin"
    frames.tofile(path)

    source = FileSource(path, sample_rate_hz=1000, dtype=dtype, channels=2, volts_per_count=0.5)
    sink = replay(source)

    assert source.format == StreamFormat(1000.0, 2, "float32", 1.0)
    _, data = sink.joined()
    assert data.dtype == np.float32
    np.testing.assert_allclose(data, frames.T.astype(np.float64) * 0.5, rtol=1e-6)


def test_raw_bad_size_is_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "dump.raw"
    path.write_bytes(b"\x00" * 10)
    with pytest.raises(FileFormatError) as exc:
        FileSource(path, sample_rate_hz=8000, dtype="int16", channels=2).open()
    assert "10 bytes is not a whole number of 2-channel int16 frames" in one_line(exc)


def test_raw_needs_rate_and_type(tmp_path: Path) -> None:
    path = tmp_path / "dump.raw"
    path.write_bytes(b"\x00" * 8)
    with pytest.raises(ConfigError) as exc:
        FileSource(path, dtype="int16").open()
    assert "--rate HZ" in one_line(exc)


def test_block_size_bounds_every_block_of_a_large_file(tmp_path: Path) -> None:
    path = tmp_path / "big.raw"
    n = 1_000_000
    np.arange(n, dtype=np.int64).astype("<i2").tofile(path)
    sink = CollectingSink()
    with FileSource(path, sample_rate_hz=1e6, dtype="int16", block_samples=65536) as source:
        source.start(sink)
        assert source.wait(20)
    sizes = [b.shape[1] for _, b in sink.blocks]
    assert max(sizes) == 65536 and sum(sizes) == n
    _, data = sink.joined()
    np.testing.assert_array_equal(data[0], np.arange(n, dtype=np.int64).astype(np.int16))


# ---------------------------------------------------------------- HDF5 recordings


def _write_recording(path: Path) -> tuple[dict[int, np.ndarray], list[Gap]]:
    """Samples 1000..1500, a short zero-filled gap, more, a long gap (new segment), more."""
    fmt = StreamFormat(1000.0, 2, "int16", 1e-3)
    infos = [ChannelInfo("a", "VS150", 40.0, 1e-3), ChannelInfo("b", "VS150", 40.0, 2e-3)]
    rng = np.random.default_rng(6)
    pieces = {
        1000: rng.integers(-3000, 3000, (2, 500)).astype(np.int16),
        1600: rng.integers(-3000, 3000, (2, 700)).astype(np.int16),
        9300: rng.integers(-3000, 3000, (2, 400)).astype(np.int16),
    }
    gaps = [Gap(1500, 1600, "sequence"), Gap(2300, 9300, "overflow")]
    with RecordingWriter(
        path, fmt, infos, first_sample=1000, compression="none", max_zero_fill_s=1.0
    ) as writer:
        writer.push(1000, pieces[1000][:, :300])
        writer.push(1300, pieces[1000][:, 300:])
        writer.gap(gaps[0])
        writer.push(1600, pieces[1600])
        writer.gap(gaps[1])
        writer.push(9300, pieces[9300])
    return pieces, gaps


def test_hdf5_replay_restores_indices_values_and_gaps(tmp_path: Path) -> None:
    path = tmp_path / "rec.h5"
    pieces, gaps = _write_recording(path)

    source = FileSource(path, block_samples=256)
    sink = replay(source)

    assert source.format == StreamFormat(1000.0, 2, "int16", 1e-3)
    assert [c.volts_per_count for c in source.channel_info] == [1e-3, 2e-3]
    assert source.first_sample == 1000
    assert sink.gaps == gaps
    # Every gap arrives right before the block that follows it, and no zero-filled sample
    # from inside a gap is replayed.
    pos = 1000
    for item in sink.events:
        if isinstance(item, Gap):
            assert item.start_sample == pos
            pos = item.stop_sample
        else:
            first, block = item
            assert first == pos and block.shape[1] <= 256
            piece_first = max(f for f in pieces if f <= first)
            offset = first - piece_first
            np.testing.assert_array_equal(
                block, pieces[piece_first][:, offset : offset + block.shape[1]]
            )
            pos = first + block.shape[1]
    assert pos == 9700
    assert source.stats.samples == 1600 and source.stats.gaps == 2
    assert source.stats.samples_lost == 7100


def test_hdf5_replay_from_inside_a_gap_with_duration(tmp_path: Path) -> None:
    path = tmp_path / "rec.h5"
    pieces, _ = _write_recording(path)

    source = FileSource(path, start_s=0.55, duration_s=0.3)  # samples 1550..1850
    sink = replay(source)

    assert source.first_sample == 1550
    assert sink.events[0] == Gap(1550, 1600, "sequence")
    first, data = sink.joined()
    assert first == 1600 and data.shape[1] == 250
    np.testing.assert_array_equal(data, pieces[1600][:, :250])


def test_hdf5_start_past_end_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rec.h5"
    _write_recording(path)
    with pytest.raises(ConfigError) as exc:
        FileSource(path, start_s=100).open()
    assert "past the end" in one_line(exc)


# ---------------------------------------------------------------- bad files


def test_missing_unknown_and_corrupt_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError) as exc:
        FileSource(tmp_path / "nope.wav").open()
    assert "no such file" in one_line(exc)

    unknown = tmp_path / "notes.txt"
    unknown.write_text("hello")
    with pytest.raises(FileFormatError) as exc:
        FileSource(unknown).open()
    assert "unknown file type .txt" in one_line(exc)

    bad_wav = tmp_path / "bad.wav"
    bad_wav.write_bytes(b"RIFF\x00\x00\x00\x00garbage" * 10)
    with pytest.raises(FileFormatError) as exc:
        FileSource(bad_wav).open()
    assert "bad.wav" in one_line(exc)

    bad_h5 = tmp_path / "bad.h5"
    bad_h5.write_bytes(b"\x00" * 100)
    with pytest.raises(FileFormatError) as exc:
        FileSource(bad_h5).open()
    one_line(exc)


def test_sink_error_surfaces_from_wait(tmp_path: Path) -> None:
    path = tmp_path / "sig.wav"
    sf.write(path, np.zeros(1000, dtype=np.int16), 8000)

    class FailingSink(CollectingSink):
        def push(self, first_sample: int, samples: np.ndarray) -> None:
            raise RuntimeError("disk full")

    with FileSource(path) as source:
        source.start(FailingSink())
        with pytest.raises(SourceError, match="disk full"):
            source.wait(10)


# ---------------------------------------------------------------- pacing


def test_realtime_replay_takes_as_long_as_the_signal(tmp_path: Path) -> None:
    path = tmp_path / "sig.wav"
    sf.write(path, np.zeros(4000, dtype=np.int16), 8000)  # 0.5 s

    t0 = time.monotonic()
    sink = replay(FileSource(path, realtime=True))
    elapsed = time.monotonic() - t0

    assert 0.45 <= elapsed < 2.0
    sizes = [b.shape[1] for _, b in sink.blocks]
    assert sum(sizes) == 4000 and max(sizes) <= 160  # 20 ms blocks


def test_stop_interrupts_a_realtime_replay(tmp_path: Path) -> None:
    path = tmp_path / "sig.wav"
    sf.write(path, np.zeros(80000, dtype=np.int16), 8000)  # 10 s
    sink = CollectingSink()
    with FileSource(path, realtime=True) as source:
        source.start(sink)
        assert not source.wait(0.1)
        t0 = time.monotonic()
        source.stop()
        assert time.monotonic() - t0 < 0.5
        assert not source.wait(0)
    assert 0 < sum(b.shape[1] for _, b in sink.blocks) < 80000


# ---------------------------------------------------------------- SOURCE strings


def test_source_from_spec_dispatch(tmp_path: Path) -> None:
    from aemon.drivers.soundcard import SoundcardSource
    from aemon.drivers.zmq_source import ZmqSource

    zmq = source_from_spec("tcp://127.0.0.1:5999", pattern="sub", sample_rate_hz=1e6, duration_s=2)
    assert isinstance(zmq, ZmqSource) and zmq.pattern == "sub" and zmq.expected_rate_hz == 1e6
    assert isinstance(source_from_spec("ipc:///tmp/aemon-feed"), ZmqSource)

    card = source_from_spec("sound:3", channels=2, dtype="int16")
    assert isinstance(card, SoundcardSource) and card.device == 3
    assert card.format == StreamFormat(192000.0, 2, "int16", 1.0)
    named = source_from_spec("sound:USB Audio", sample_rate_hz=48000)
    assert named.device == "USB Audio" and named.format.sample_rate_hz == 48000
    assert source_from_spec("sound:").device is None

    path = tmp_path / "dump.raw"
    np.zeros(10, dtype=np.int16).tofile(path)
    file_source = source_from_spec(str(path), sample_rate_hz=8000, dtype="int16", start_s=0.0)
    assert isinstance(file_source, FileSource) and file_source.sample_rate_hz == 8000


def test_source_from_spec_refuses_options_that_do_not_apply() -> None:
    with pytest.raises(ConfigError, match="--realtime cannot be used with a ZeroMQ source"):
        source_from_spec("tcp://127.0.0.1:5999", realtime=True)
    with pytest.raises(ConfigError, match="--realtime, --start cannot be used with a soundcard"):
        source_from_spec("sound:", realtime=True, start_s=1.0)
    with pytest.raises(ConfigError, match="--pattern"):
        source_from_spec("rec.h5", pattern="pull")
    with pytest.raises(ConfigError, match="int16 or float32"):
        source_from_spec("sound:", dtype="float64")


def test_shared_cli_options_reach_the_source(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    add_source_arguments(parser)
    path = tmp_path / "dump.raw"
    np.arange(12, dtype=np.int16).tofile(path)
    args = parser.parse_args(
        [str(path), "--fs", "4000", "--dtype", "int16", "--channels", "2", "--realtime",
         "--volts-per-count", "0.25", "--start", "0.001"]
    )  # fmt: skip
    source = source_from_args(args.source, args, duration_s=0.0005)
    assert isinstance(source, FileSource)
    assert (source.sample_rate_hz, source.dtype, source.channels) == (4000, "int16", 2)
    assert source.realtime and source.volts_per_count == 0.25
    sink = replay(source)
    first, data = sink.joined()
    assert first == 4 and data.tolist() == [[8, 10], [9, 11]]

    card = source_from_args("sound:", parser.parse_args(["sound:", "--rate", "48000"]))
    assert card.format.sample_rate_hz == 48000
