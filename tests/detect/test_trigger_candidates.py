"""STA/LTA trigger candidates: proposed only where no network run starts near, streaming."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.signal

from aemon.detect.onnx_runtime import OnnxDetector
from aemon.detect.probability_map import ProbabilityChunk
from aemon.detect.signal_detection import detect_signal
from aemon.detect.site_classifier import SiteClassifier
from aemon.detect.trigger_candidates import COVER_S, WARMUP_S, TriggerCandidates, sta_lta
from aemon.detect.trigger_setting import Triggers
from aemon.events.hit import Detection, Hit
from tests.detect_models import energy_model
from tests.site.site_data import RATE, crack_burst

BIN = 16


def _loop_sta_lta(x: np.ndarray, sta: int, lta: int) -> np.ndarray:
    """The recursion written out sample by sample (ObsPy's ``recursive_sta_lta``)."""
    short = long_ = 0.0
    out = np.zeros(x.size)
    for i, v in enumerate(x):
        short += (v * v - short) / sta
        long_ += (v * v - long_) / lta
        out[i] = short / long_ if long_ > 0 else 0.0
    return out


def test_sta_lta_matches_the_recursion_and_streams() -> None:
    x = np.random.default_rng(0).standard_normal(5000)
    whole, _ = sta_lta(x, 8, 300)
    np.testing.assert_allclose(whole, _loop_sta_lta(x, 8, 300), rtol=1e-9)
    first, state = sta_lta(x[:1234], 8, 300)
    second, _ = sta_lta(x[1234:], 8, 300, state)
    np.testing.assert_allclose(np.concatenate([first, second]), whole, rtol=1e-12)


def _signal(
    onsets_s: list[float], seconds: float = 0.05, seed: int = 1, peak_v: float = 0.05
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = 1e-3 * rng.standard_normal(int(seconds * RATE))
    for t in onsets_s:
        wave = crack_burst(rng, peak_v)
        start = int(t * RATE)
        x[start : start + wave.size] += wave[: x.size - start]
    return x


RAW = Triggers(3.0, whitened=False)


def _run(
    x: np.ndarray,
    block: int,
    runs: list[tuple[float, float]] = (),
    gap_at: int | None = None,
    setting: Triggers = RAW,
) -> list[Detection]:
    """Triggers of ``x`` with a map that holds ``runs`` ((start s, stop s) at probability 1)."""
    triggers = TriggerCandidates(1, RATE, setting, 0.1, [0], "burst")
    bins = x.size // BIN
    probability = np.zeros((1, 1, bins), np.float32)
    for a, b in runs:
        probability[0, 0, int(a * RATE) // BIN : int(b * RATE) // BIN] = 1.0
    out: list[Detection] = []
    lag = 4096  # the map lags the raw samples, as the network's does
    for start in range(0, x.size, block):
        if gap_at is not None and start == gap_at:
            triggers.gap(gap_at)
        triggers.push(start, x[None, start : start + block])
        lo, hi = max(0, start - lag) // BIN, max(0, start + block - lag) // BIN
        if hi > lo:
            out += triggers.judge(ProbabilityChunk(lo * BIN, BIN, probability[:, :, lo:hi]))
    lo = max(0, x.size - lag) // BIN
    out += triggers.judge(ProbabilityChunk(lo * BIN, BIN, probability[:, :, lo:bins]))
    return out + triggers.flush()


def test_a_burst_the_network_missed_is_proposed_once_at_its_onset() -> None:
    x = _signal([0.02])
    found = _run(x, 4096)
    assert len(found) == 1
    assert abs(found[0].start_sample - 0.02 * RATE) < 20e-6 * RATE
    assert found[0].stop_sample > found[0].start_sample and found[0].score == 0.0


def test_triggers_do_not_depend_on_the_blocks() -> None:
    x = _signal([0.012, 0.02, 0.031, 0.04])
    assert _run(x, 4096) == _run(x, 1000) == _run(x, 77777)
    assert len(_run(x, 4096)) == 4
    white = Triggers(2.0)
    assert (
        _run(x, 4096, setting=white)
        == _run(x, 1000, setting=white)
        == _run(x, 77777, setting=white)
    )
    assert len(_run(x, 4096, setting=white)) == 4


def _resonant_noise(seconds: float, seed: int) -> np.ndarray:
    """A resonant sensor's noise: a 100 kHz band 40 dB over a white floor (RMS 10 mV)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    sos = scipy.signal.butter(4, (90e3, 110e3), "bandpass", fs=RATE, output="sos")
    band = scipy.signal.sosfilt(sos, rng.standard_normal(n))
    return 1e-2 * band / band.std() + 1e-4 * rng.standard_normal(n)


def _ring(peak_v: float, frequency_hz: float = 300e3) -> np.ndarray:
    t = np.arange(int(300e-6 * RATE)) / RATE
    return (
        peak_v * (1 - np.exp(-t / 5e-6)) * np.exp(-t / 50e-6) * np.sin(2 * np.pi * frequency_hz * t)
    )


def test_whitened_triggers_hear_a_burst_beside_the_noise_band_and_not_the_band() -> None:
    x = _resonant_noise(0.06, seed=3)
    at = int(0.04 * RATE)
    wave = _ring(3e-3)  # 10 dB under the noise RMS, 30 dB over the floor at 300 kHz
    with_burst = x.copy()
    with_burst[at : at + wave.size] += wave
    white, raw = Triggers(2.0), Triggers(2.0, whitened=False)
    found = _run(with_burst, 4096, setting=white)
    assert any(abs(d.start_sample - at) < 30e-6 * RATE for d in found)
    assert not any(abs(d.start_sample - at) < 30e-6 * RATE for d in _run(with_burst, 4096))
    # the narrow band's own swings trigger a raw STA/LTA, not a whitened one
    assert len(_run(x, 4096, setting=white)) <= 1 < len(_run(x, 4096, setting=raw))


def test_no_trigger_where_a_network_run_starts_but_one_inside_a_longer_run() -> None:
    x = _signal([0.02, 0.035])
    cover = COVER_S
    found = _run(x, 4096, runs=[(0.02 - cover / 2, 0.0205), (0.03, 0.045)])
    # the first burst starts a run: the network proposed it; the second lies 5 ms into one
    assert [round(d.start_sample / RATE, 3) for d in found] == [0.035]


def test_nothing_in_the_warm_up_or_right_after_a_gap() -> None:
    early = WARMUP_S / 2
    x = _signal([early, 0.03, 0.03 + WARMUP_S / 2])
    found = _run(x, 4096, gap_at=int(0.03 * RATE) // 4096 * 4096)
    assert found == []


def test_the_stream_judges_triggers_only_where_asked(tmp_path: Path) -> None:
    energy_model(tmp_path / "energy", window=4096)
    detector = OnnxDetector(tmp_path / "energy")
    x = _signal([0.02], seconds=0.06, peak_v=0.005)  # 14 dB over the noise: p < 0.1

    def onsets(setting: Triggers | None, block: int = 65536) -> list[int]:
        found: list[int] = []
        detect_signal(detector, x, RATE, threshold=0.1, triggers=setting,
                      block_samples=block,
                      feature_listener=lambda e, _f, _at: found.append(e.sample_index))  # fmt: skip
        return sorted(found)

    assert onsets(None) == []  # the network proposes nothing
    with_triggers = onsets(Triggers(3.0))
    assert len(with_triggers) == 1 and abs(with_triggers[0] - 0.02 * RATE) < 50e-6 * RATE
    assert onsets(Triggers(3.0), block=9999) == with_triggers


def test_a_gap_drops_the_triggers_held() -> None:
    triggers = TriggerCandidates(1, RATE, Triggers(3.0), 0.1, [0], "burst")
    x = _signal([0.03])
    triggers.push(0, x[None, : int(0.031 * RATE)])
    assert triggers.earliest_pending is not None
    triggers.gap(int(0.031 * RATE))
    assert triggers.earliest_pending is None


def test_a_classifier_learnt_with_triggers_makes_the_stream_propose_them(tmp_path: Path) -> None:
    energy_model(tmp_path / "energy", window=4096)
    x = _signal([0.02], seconds=0.06, peak_v=0.005)  # the network scores it under 0.1
    found: dict[Triggers | None, list[Hit]] = {}
    for setting in (None, Triggers(3.0)):
        detector = OnnxDetector(tmp_path / "energy")
        # trees that keep every candidate: what the stream proposes is what comes out
        detector.site_classifier = SiteClassifier((), 0.1, 10.0, 0.5, 0.1, triggers=setting)
        found[setting] = detect_signal(detector, x, RATE).events
    assert found[None] == []
    hits = found[Triggers(3.0)]
    assert len(hits) == 1 and abs(hits[0].sample_index - 0.02 * RATE) < 50e-6 * RATE
