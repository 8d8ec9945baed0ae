"""Soundcard capture through real PortAudio, fed by an ALSA ``file`` PCM.

The ALSA ``file`` plugin with ``infile`` reads capture data from a raw file, byte for byte in
the sample format the application asked for (here the format PortAudio requests for the
dtype: S16_LE for int16, FLOAT_LE for float32), on top of the ``null`` PCM. Measured
behaviour (alsa-lib 1.2, PortAudio 19.6):

* ``file`` must be set (``file "/dev/null"``) or the PCM does not open and PortAudio does not
  list it;
* the stream has no clock: PortAudio captures as fast as it can (tens of MS/s);
* at the end of ``infile`` nothing is padded or looped by design: the capture buffer simply
  keeps its previous contents, so samples past the end of the file are stale data;
* wrapping it in ``type plug`` to convert formats breaks the 1:1 mapping (blocks skipped),
  so the device is used without conversion.

PortAudio reads the ALSA configuration when it initialises, so the fixture writes
``~/.asoundrc`` in a temporary HOME and re-initialises PortAudio (and restores it afterwards).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import sounddevice as sd

from aemon.cli import main as cli_main
from aemon.drivers.capture_queue import CaptureQueue, SampleClockCheck
from aemon.drivers.soundcard import SoundcardSource, list_input_devices
from aemon.drivers.source_factory import source_from_spec
from aemon.errors import ConfigError, SourceError
from aemon.types import Gap, StreamFormat

DEVICE = "aemon_file_capture"

ASOUNDRC = """
pcm.{name} {{
    type file
    slave.pcm "null"
    file "/dev/null"
    infile "{infile}"
    format "raw"
}}
"""


def _reinitialise_portaudio() -> None:
    sd._terminate()
    sd._initialize()


@pytest.fixture
def alsa_file_pcm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., str]]:
    """Factory: ``make(frames)`` writes ``frames`` (frames × channels, in the dtype the test
    will capture) as the device's infile and returns the device name."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("ALSA_CONFIG_PATH", raising=False)

    def make(frames: np.ndarray) -> str:
        infile = tmp_path / "capture.raw"
        np.ascontiguousarray(frames).astype(frames.dtype.newbyteorder("<")).tofile(infile)
        (home / ".asoundrc").write_text(ASOUNDRC.format(name=DEVICE, infile=infile))
        _reinitialise_portaudio()
        return DEVICE

    yield make
    monkeypatch.undo()
    _reinitialise_portaudio()


class CollectingSink:
    def __init__(self, push_delay_s: float = 0.0) -> None:
        self.blocks: list[tuple[int, np.ndarray]] = []
        self.gaps: list[Gap] = []
        self.order: list[tuple[int, int]] = []  # (start, stop) of pushes and gaps, in order
        self.push_delay_s = push_delay_s

    def push(self, first_sample: int, samples: np.ndarray) -> None:
        assert samples.flags.c_contiguous
        self.blocks.append((first_sample, samples.copy()))
        self.order.append((first_sample, first_sample + samples.shape[1]))
        if self.push_delay_s:
            time.sleep(self.push_delay_s)

    def gap(self, gap: Gap) -> None:
        self.gaps.append(gap)
        self.order.append((gap.start_sample, gap.stop_sample))

    def assert_tiles(self, start: int, stop: int) -> None:
        """Pushes and gaps cover [start, stop) exactly once, in order."""
        pos = start
        for a, b in self.order:
            assert a == pos and b > a
            pos = b
        assert pos == stop


def capture(source: SoundcardSource, sink: CollectingSink) -> None:
    with source:
        source.start(sink)
        assert source.wait(timeout=20)


# ---------------------------------------------------------------- real capture


@pytest.mark.parametrize(
    ("dtype", "channels", "rate", "blocksize"),
    [("int16", 1, 48000, 0), ("int16", 2, 192000, 0), ("float32", 3, 192000, 256)],
)
def test_capture_equals_file_content(
    alsa_file_pcm: Callable[..., str], dtype: str, channels: int, rate: int, blocksize: int
) -> None:
    rng = np.random.default_rng(channels)
    n = 24000
    if dtype == "int16":
        frames = rng.integers(-32768, 32767, size=(n, channels)).astype(np.int16)
    else:
        frames = (rng.standard_normal((n, channels)) * 0.25).astype(np.float32)
    device = alsa_file_pcm(frames)
    sink = CollectingSink()
    source = SoundcardSource(
        device, sample_rate_hz=rate, channels=channels, dtype=dtype, blocksize=blocksize,
        duration_s=n / rate, volts_per_count=0.5,
    )  # fmt: skip
    capture(source, sink)

    assert source.input_device is not None and source.input_device.name == device
    expected_vpc = 0.5 if dtype == "int16" else 1.0
    assert source.format == StreamFormat(float(rate), channels, dtype, expected_vpc)
    assert sink.gaps == []
    sink.assert_tiles(0, n)
    data = np.concatenate([b for _, b in sink.blocks], axis=1)
    assert data.dtype == np.dtype(dtype)
    expected = frames.T if dtype == "int16" else frames.T * np.float32(0.5)
    np.testing.assert_array_equal(data, expected)
    assert source.stats.samples == n and source.stats.gaps == 0


def test_queue_overflow_becomes_exact_gaps(alsa_file_pcm: Callable[..., str]) -> None:
    n = 60000
    frames = (np.arange(n) % 20000 - 10000).astype(np.int16).reshape(n, 1)
    device = alsa_file_pcm(frames)
    sink = CollectingSink(push_delay_s=0.01)  # slower than this clockless device
    source = SoundcardSource(
        device, sample_rate_hz=48000, dtype="int16", duration_s=n / 48000, queue_s=0.001
    )
    capture(source, sink)

    assert sink.gaps and {g.reason for g in sink.gaps} == {"queue-overflow"}
    sink.assert_tiles(0, n)
    for first, block in sink.blocks:  # every delivered sample sits at its true index
        np.testing.assert_array_equal(block[0], frames[first : first + block.shape[1], 0])
    lost = sum(g.samples for g in sink.gaps)
    assert source.stats.samples_lost == lost and source.stats.samples == n - lost


def test_stop_delivers_everything_captured(alsa_file_pcm: Callable[..., str]) -> None:
    frames = np.arange(30000, dtype=np.int16).reshape(-1, 1)
    device = alsa_file_pcm(frames)
    sink = CollectingSink()
    with SoundcardSource(device, sample_rate_hz=48000, dtype="int16") as source:
        source.start(sink)
        assert not source.wait(0.05)
        source.stop()
        assert not source.wait(0)
    total = sink.order[-1][1]
    sink.assert_tiles(0, total)
    assert source.stats.samples + source.stats.samples_lost == total
    first, block = sink.blocks[0]
    assert first == 0
    np.testing.assert_array_equal(block[0, :1000], frames[:1000, 0])


def test_sound_source_string_opens_the_device(alsa_file_pcm: Callable[..., str]) -> None:
    frames = np.arange(4800, dtype=np.int16).reshape(-1, 1)
    device = alsa_file_pcm(frames)
    source = source_from_spec(
        f"sound:{DEVICE}", sample_rate_hz=48000, dtype="int16", duration_s=0.1
    )
    assert isinstance(source, SoundcardSource)
    sink = CollectingSink()
    capture(source, sink)
    np.testing.assert_array_equal(
        np.concatenate([b for _, b in sink.blocks], axis=1)[0], frames[:, 0]
    )
    assert device == DEVICE


# ---------------------------------------------------------------- devices and errors


def test_device_listing_and_cli_show_the_file_pcm(
    alsa_file_pcm: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    device = alsa_file_pcm(np.zeros((10, 1), dtype=np.int16))
    found = [d for d in list_input_devices() if d.name == device]
    assert len(found) == 1 and found[0].hostapi == "ALSA" and found[0].max_input_channels >= 2

    assert cli_main(["devices"]) == 0
    out = capsys.readouterr().out
    assert device in out and f"{found[0].index}" in out
    assert cli_main(["devices", "--json"]) == 0
    assert f'"name": "{device}"' in capsys.readouterr().out


def test_missing_device_is_one_line_error(alsa_file_pcm: Callable[..., str]) -> None:
    alsa_file_pcm(np.zeros((10, 1), dtype=np.int16))
    with pytest.raises(SourceError) as exc:
        SoundcardSource("no such card", sample_rate_hz=48000).open()
    text = str(exc.value)
    assert "\n" not in text and "'no such card'" in text and "aemon devices" in text
    with pytest.raises(SourceError, match="no audio input device with index 99"):
        SoundcardSource(99, sample_rate_hz=48000).open()


def test_unsupported_rate_and_channels_are_one_line_errors(
    alsa_file_pcm: Callable[..., str],
) -> None:
    device = alsa_file_pcm(np.zeros((10, 1), dtype=np.int16))
    with pytest.raises(SourceError) as exc:
        SoundcardSource(device, sample_rate_hz=1e6).open()
    text = str(exc.value)
    assert "\n" not in text and "1e+06 Hz" in text and "aemon devices" in text
    with pytest.raises(SourceError, match="has 128 input channel"):
        SoundcardSource(device, sample_rate_hz=48000, channels=200).open()
    with pytest.raises(ConfigError):
        SoundcardSource(device, sample_rate_hz=48000, dtype="int32")


def test_machine_without_input_devices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.asoundrc: only the real hardware
    _reinitialise_portaudio()
    try:
        if list_input_devices():
            pytest.skip("this machine has a real audio input")
        with pytest.raises(SourceError, match="no audio input device found"):
            SoundcardSource(None, sample_rate_hz=48000).open()
        assert cli_main(["devices"]) == 0  # no device is an answer, not an error
        assert "no audio input devices found" in capsys.readouterr().out
        assert cli_main(["devices", "--json"]) == 0
        assert capsys.readouterr().out.strip() == "[]"
    finally:
        monkeypatch.undo()
        _reinitialise_portaudio()


class _NoPortAudio(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes ``import sounddevice`` fail as it does when libportaudio2 is not installed."""

    def find_spec(
        self, name: str, path: object, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name == "sounddevice":
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        raise OSError("PortAudio library not found")


def test_missing_portaudio_is_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delitem(sys.modules, "sounddevice")
    monkeypatch.setattr(sys, "meta_path", [_NoPortAudio(), *sys.meta_path])
    with pytest.raises(SourceError) as exc:
        SoundcardSource(None, sample_rate_hz=48000).open()
    assert "apt-get install libportaudio2" in str(exc.value) and "\n" not in str(exc.value)
    assert cli_main(["devices"]) == 2
    assert "apt-get install libportaudio2" in capsys.readouterr().err


# ---------------------------------------------------------------- building blocks


def test_capture_queue_wraps_drops_exactly_and_transposes() -> None:
    queue = CaptureQueue(capacity_frames=10, channels=2, dtype="int16", max_blocks=8)
    block = np.arange(12, dtype=np.int16).reshape(6, 2)
    assert queue.put(block, 1.0, False)
    assert not queue.put(block + 100, 1.1, False)  # 6 + 6 > 10: dropped, counted
    assert queue.peek() == (6, 1.0, False, 0)
    queue.accept()
    np.testing.assert_array_equal(queue.take(), block.T)
    assert queue.put(block + 200, 1.2, True)  # wraps around the end of the storage
    info = queue.peek()
    assert info is not None and info.dropped_before == 6 and info.overflow
    queue.accept()
    out = queue.take()
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, (block + 200).T)
    assert queue.peek() is None and queue.dropped_frames == 6


def test_clock_check_finds_unflagged_losses_but_not_jitter_or_drift() -> None:
    rate, frames = 48000.0, 480
    clock = SampleClockCheck(rate)
    rng = np.random.default_rng(0)
    true_index, received, total_lost, losses = 0, 0, 0, []
    for k in range(20000):  # 200 s of 10 ms blocks, 100 ppm drift, ±3 ms jitter
        if k == 5000:
            true_index += 9600  # 0.2 s vanished without an overflow flag
        t = 100.0 + true_index / rate * (1 + 100e-6) + rng.uniform(-0.003, 0.003)
        lost = clock.lost_before(t, received + total_lost, frames, False)
        losses.append(lost)
        total_lost += lost
        received += frames
        true_index += frames
    assert [i for i, v in enumerate(losses) if v] == [5000]
    assert abs(losses[5000] - 9600) <= 0.004 * rate


def test_clock_check_overflow_flag_and_clockless_device() -> None:
    clock = SampleClockCheck(1000.0)
    assert clock.lost_before(10.0, 0, 100, False) == 0
    assert clock.lost_before(10.35, 100, 100, True) == 250  # clock says 250 lost
    assert clock.lost_before(0.0, 450, 100, True) == 100  # no timestamp: one block
    fast = SampleClockCheck(1000.0)
    for k in range(100):  # 100 blocks in 10 ms
        assert fast.lost_before(5.0 + k * 1e-4, k * 100, 100, False) == 0
    assert fast.switched_off
