"""linWave: the emulator answers ``waveline.LinWave``; LinWaveSource records it, with faults."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from aemon.drivers.linwave_source import LinWaveSource
from aemon.drivers.waveline_settings import WaveLineSettings
from aemon.errors import SourceError
from tests.drivers.linwave_helpers import EmulatorThread, ListSink, free_port_triple, ramp

waveline = pytest.importorskip("waveline")


@pytest.fixture
def emulator() -> Iterator[EmulatorThread]:
    served = EmulatorThread()
    yield served
    served.close()


def test_waveline_client_configures_and_streams_from_the_emulator(
    emulator: EmulatorThread,
) -> None:
    async def session() -> tuple[object, object, list[np.ndarray]]:
        device = waveline.LinWave("127.0.0.1")
        device.PORT = emulator.port
        async with device:
            info = await device.get_info()
            await device.set_range_index(1, 1)
            await device.set_tr_decimation(0, 10)
            await device.set_filter(1, highpass=20e3, lowpass=500e3, order=4)
            setup = await device.get_setup(1)
            streams = [device.stream(c, 5000, raw=True) for c in (1, 2)]
            await device.start_acquisition()
            blocks = [(await s.__anext__())[1] for s in streams]
            await device.stop_acquisition()
            for s in streams:
                await s.aclose()
        return info, setup, blocks

    info, setup, blocks = asyncio.run(session())
    assert info.channel_count == 2  # type: ignore[attr-defined]
    assert info.adc_to_volts == pytest.approx([1.5625e-6, 156.25e-6])  # type: ignore[attr-defined]
    assert setup.input_range == 1  # type: ignore[attr-defined]
    assert setup.adc_to_volts == pytest.approx(156.25e-6)  # type: ignore[attr-defined]
    assert setup.tr_decimation == 10  # type: ignore[attr-defined]
    assert (setup.filter_highpass_hz, setup.filter_lowpass_hz, setup.filter_order) == (  # type: ignore[attr-defined]
        20e3, 500e3, 4,
    )  # fmt: skip
    np.testing.assert_array_equal(np.stack(blocks), ramp(0, 5000))


def _delivered(sink: ListSink) -> np.ndarray:
    return np.concatenate([block for _, block in sink.blocks], axis=1)


def test_source_records_both_channels_as_the_device_sent_them(emulator: EmulatorThread) -> None:
    source = LinWaveSource("127.0.0.1", port=emulator.port, duration_s=0.3)
    sink = ListSink()
    with source:
        assert source.format.sample_rate_hz == 2e6  # default decimation 5
        assert source.format.channels == 2 and source.format.dtype == "int16"
        assert source.format.volts_per_count == pytest.approx(1.5625e-6)  # device's adc2uv
        assert [c.volts_per_count for c in source.channel_info] == [1.5625e-6] * 2
        source.start(sink)
        assert source.wait(10.0)
    assert sink.gaps == []
    firsts = [first for first, _ in sink.blocks]
    assert firsts[0] == 0 and firsts == sorted(firsts)
    np.testing.assert_array_equal(_delivered(sink), ramp(0, 600_000))
    assert "decimation 5" in source.stats.notes[0][3]


def test_settings_reach_the_device_and_come_back_from_it(emulator: EmulatorThread) -> None:
    settings = WaveLineSettings(channels=(2,), input_range="5 V", rate_hz=1e6, highpass_hz=25e3)
    source = LinWaveSource("127.0.0.1", port=emulator.port, settings=settings)
    with source:
        assert source.format.sample_rate_hz == 1e6
        assert source.format.channels == 1
        assert source.format.volts_per_count == pytest.approx(156.25e-6)
        assert "channels [2]" in source.description
        assert "filter 25 kHz-none" in source.description
    device = emulator.emulator.setup
    assert (device[1].enabled, device[2].enabled) == (False, True)
    assert device[2].decimation == 10


def test_buffer_overflow_is_a_gap_with_its_reason_and_acquisition_goes_on() -> None:
    served = EmulatorThread(overflow_at_s=0.3)
    try:
        settings = WaveLineSettings(stall_timeout_s=0.5)
        source = LinWaveSource("127.0.0.1", port=served.port, settings=settings, duration_s=1.5)
        sink = ListSink()
        with source:
            source.start(sink)
            assert source.wait(20.0)
    finally:
        served.close()
    assert len(sink.gaps) == 1
    gap = sink.gaps[0]
    assert gap.reason == "overflow"
    assert 0.5 <= gap.samples / 2e6 < 5.0  # the stall timeout and the restart, host clock
    assert gap.start_sample == pytest.approx(0.3 * 2e6, abs=0.05 * 2e6)
    notes = [n for n in source.stats.notes if n[0] == "overflow"]
    assert len(notes) == 1 and "buffer_overflows=1" in notes[0][3]
    delivered = _delivered(sink)
    assert delivered.shape[1] + gap.samples == 3_000_000
    after = delivered[:, gap.start_sample :]  # the channels stay aligned after the restart
    assert np.all((after[1].astype(np.int64) - after[0]) % 30000 == 1000)
    assert sink.order.index("gap") == sum(1 for first, _ in sink.blocks if first < gap.start_sample)


def test_wrong_address_is_one_line_after_the_timeout() -> None:
    port = free_port_triple()  # nothing listens there
    source = LinWaveSource("127.0.0.1", port=port, connect_timeout_s=1.0)
    t0 = time.monotonic()
    with pytest.raises(SourceError) as caught:
        source.open()
    elapsed = time.monotonic() - t0
    assert 0.9 <= elapsed < 5.0
    message = str(caught.value)
    assert "\n" not in message
    assert f"no linWave answered at 127.0.0.1:{port} within 1 s" in message
    assert "check the address" in message


def test_a_peer_that_accepts_and_closes_does_not_freeze_the_client() -> None:
    """``waveline`` 0.10's ``_readlines`` spins at end of file; the source's client does not."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def accept_and_close() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                conn.close()

    threading.Thread(target=accept_and_close, daemon=True).start()
    try:
        t0 = time.monotonic()
        closed = r"within 1 s \((the device closed the connection|connection reset by peer)\)"
        with pytest.raises(SourceError, match=closed):
            LinWaveSource("127.0.0.1", port=port, connect_timeout_s=1.0).open()
        assert time.monotonic() - t0 < 5.0
    finally:
        server.close()
