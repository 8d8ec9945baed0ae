"""spotWave over a pseudo-terminal: the emulator answers ``waveline.SpotWave``; SpotWaveSource
records it, and an overflow is an exact gap."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from aemon.drivers.spotwave_emulator import SpotWaveEmulator
from aemon.drivers.spotwave_source import SpotWaveSource
from aemon.drivers.waveline_settings import WaveLineSettings
from aemon.errors import ConfigError, SourceError
from tests.drivers.linwave_helpers import ListSink, ramp, ramp_signal

pytest.importorskip("waveline")


class ServedSpotWave:
    def __init__(self, **kwargs: object) -> None:
        self.emulator = SpotWaveEmulator(ramp_signal, **kwargs)  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.emulator.serve, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.emulator.stop()
        self.thread.join(5)
        self.emulator.close()


@pytest.fixture
def spotwave() -> Iterator[ServedSpotWave]:
    served = ServedSpotWave(buffer_samples=8_000_000)  # no overflow on a busy test machine
    yield served
    served.close()


def _record(port: str, seconds: float, **kwargs: object) -> tuple[SpotWaveSource, ListSink]:
    source = SpotWaveSource(port, duration_s=seconds, **kwargs)  # type: ignore[arg-type]
    sink = ListSink()
    with source:
        source.start(sink)
        assert source.wait(30.0)
    return source, sink


def test_source_records_the_device_counts_over_a_pseudo_terminal(
    spotwave: ServedSpotWave,
) -> None:
    source, sink = _record(spotwave.emulator.port, 0.5)
    assert source.format.sample_rate_hz == 2e6
    assert source.format.volts_per_count == pytest.approx(2.86865e-6)  # device adc2uv
    assert sink.gaps == []
    delivered = np.concatenate([b for _, b in sink.blocks], axis=1)
    np.testing.assert_array_equal(delivered, ramp(0, 1_000_000)[:1])
    assert spotwave.emulator.settings["cont"] == "1"
    assert spotwave.emulator.settings["tr_enabled"] == "1"


def test_decimation_and_filter_reach_the_device(spotwave: ServedSpotWave) -> None:
    settings = WaveLineSettings(decimation=2, highpass_hz=50e3, filter_order=2)
    source, sink = _record(spotwave.emulator.port, 0.2, settings=settings)
    assert source.format.sample_rate_hz == 1e6
    assert spotwave.emulator.filter == "50.0-none kHz, order 2"
    assert sum(b.shape[1] for _, b in sink.blocks) == 200_000


def test_overflow_is_an_exact_gap_from_the_record_times() -> None:
    served = ServedSpotWave(overflow_at_s=0.2, buffer_samples=8_000_000)
    try:
        source, sink = _record(served.emulator.port, 0.6)
    finally:
        served.close()
    assert len(sink.gaps) == 1
    gap = sink.gaps[0]
    assert (gap.reason, gap.start_sample, gap.samples) == ("overflow", 400_000, 50_000)
    for first, block in sink.blocks:  # every sample sits at its own index
        np.testing.assert_array_equal(block, ramp(first, block.shape[1])[:1])
    assert sum(b.shape[1] for _, b in sink.blocks) + gap.samples == 1_200_000
    assert any(kind == "overflow" for kind, *_ in source.stats.notes)


def test_wrong_port_is_one_line_after_the_timeout() -> None:
    t0 = time.monotonic()
    with pytest.raises(SourceError) as caught:
        SpotWaveSource("/dev/aemon-no-such-port", connect_timeout_s=1.0).open()
    assert time.monotonic() - t0 >= 1.0
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("no spotWave answered on /dev/aemon-no-such-port within 1 s")


def test_a_spotwave_has_one_channel() -> None:
    with pytest.raises(ConfigError, match="one channel"):
        SpotWaveSource("/dev/null", channel_count=2)


class SlowSink(ListSink):
    """A consumer that takes 0.1 s per block: the device's buffer overflows meanwhile."""

    def push(self, first_sample: int, samples: np.ndarray) -> None:
        super().push(first_sample, samples)
        time.sleep(0.1)


def test_a_client_that_falls_behind_loses_whole_records_at_their_place() -> None:
    served = ServedSpotWave(buffer_samples=100_000)  # two 25 ms records
    try:
        source = SpotWaveSource(served.emulator.port, duration_s=1.0)
        sink = SlowSink()
        with source:
            source.start(sink)
            assert source.wait(30.0)
    finally:
        served.close()
    assert sink.gaps, "a client 4x slower than the signal must lose records"
    for gap in sink.gaps:
        assert gap.reason == "overflow" and gap.samples % 50_000 == 0
    for first, block in sink.blocks:  # what arrived sits at its own index
        np.testing.assert_array_equal(block, ramp(first, block.shape[1])[:1])
    delivered = sum(b.shape[1] for _, b in sink.blocks)
    assert delivered + sum(g.samples for g in sink.gaps) == 2_000_000
