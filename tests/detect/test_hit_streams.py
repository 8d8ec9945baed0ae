"""Neural event stream: live (small blocks, latency batches) and offline (big blocks) agree."""

from __future__ import annotations

import math

import numpy as np

from aemon.detect.factory import make_hit_stream
from aemon.detect.hit_streams import peak_snr_db
from aemon.detect.options import DetectOptions
from aemon.events.hit import Hit
from aemon.sim.simulator import AESimulator, SimConfig
from aemon.types import ChannelInfo, StreamFormat

RATE = 1_562_500.0


def _events(samples: np.ndarray, block: int, *, live: bool) -> list[Hit]:
    fmt = StreamFormat(RATE, 1, "float32", 1.0)
    stream = make_hit_stream(
        DetectOptions(provider="cpu", threads=1), fmt, [ChannelInfo("ch1")], live=live
    )
    events: list[Hit] = []
    for start in range(0, samples.shape[1], block):
        events += stream.push(start, np.ascontiguousarray(samples[:, start : start + block]))
    return events + stream.flush()


def test_live_and_offline_give_the_same_features_for_the_same_waveform() -> None:
    sim = AESimulator(SimConfig(sample_rate_hz=RATE, channels=1, seed=5, burst_rate_hz=60.0))
    samples = sim.render(round(0.25 * RATE)).samples
    live = _events(samples, 4096, live=True)
    offline = _events(samples, samples.shape[1], live=False)
    assert len(live) == len(offline) >= 5
    for a, b in zip(live, offline, strict=True):
        assert a.sample_index == b.sample_index
        for name in ("duration_us", "amplitude_V", "energy_eu", "rise_time_us", "centroid_kHz"):
            x, y = getattr(a, name), getattr(b, name)
            assert x == y or (math.isnan(x) and math.isnan(y)), (name, x, y)
        # measured over the detected span: a burst lasts longer than one sample
        assert a.duration_us > 5.0 and math.isfinite(a.peak_freq_kHz)


def test_peak_snr_is_peak_over_the_noise_before_the_event() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(20_000) * 2.0 + 5.0  # an offset does not count
    x[10_000:10_100] += 20.0 * np.sin(np.arange(100) * 0.3)  # 10 × the noise RMS: 20 dB
    x[2_000] += 500.0  # one transient before the event does not raise the noise estimate
    assert 19.0 < peak_snr_db(x, 10_000, 10_100) < 23.0  # the noise adds to the peak
    assert peak_snr_db(x, 5_000, 5_100) < 12.0  # noise only
