"""Streaming detector: stitching, preprocessing, rates, providers, gaps (real ONNX Runtime)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aemon.detect.probability_map import (
    OnnxDetector,
    ProbabilityChunk,
    ProbabilityMapStream,
    default_model_path,
)
from aemon.dsp.preprocess import (
    DC_BLOCK_HZ,
    FirDecimator,
    HighPass,
    Preprocessor,
    card_highpass_hz,
)
from aemon.errors import ConfigError, FileFormatError
from aemon.onnx_sessions import CPU_PROVIDER, CUDA_PROVIDER, resolve_providers
from aemon.types import Gap, StreamFormat
from tests.detect_models import RATE, burst, energy_model, torch_model

FLOAT_1CH = StreamFormat(RATE, 1, "float32", 1.0)


@pytest.fixture(scope="module")
def energy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "energy"
    energy_model(path)
    return path


@pytest.fixture(scope="module")
def energy(energy_dir: Path) -> OnnxDetector:
    return OnnxDetector(energy_dir, provider="cpu", threads=1)


def noise(channels: int, n: int, seed: int = 0, rms: float = 1e-3) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((channels, n)) * rms


def stitched(chunks: list[ProbabilityChunk], origin: int = 0) -> np.ndarray:
    """Concatenate chunks, checking that they are contiguous from ``origin``."""
    pos = origin
    for chunk in chunks:
        assert chunk.first_bin_sample == pos
        pos = chunk.stop_sample
    return np.concatenate([c.probabilities for c in chunks], axis=-1)


def runs(row: np.ndarray, threshold: float = 0.5) -> list[tuple[int, int]]:
    """(start_bin, stop_bin) of the runs of ``row >= threshold``."""
    above = np.concatenate(([False], row >= threshold, [False])).astype(np.int8)
    edges = np.diff(above)
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def run_all(
    det: OnnxDetector, fmt: StreamFormat, x: np.ndarray, **options: object
) -> list[ProbabilityChunk]:
    sd = ProbabilityMapStream(det, fmt, **options)  # type: ignore[arg-type]
    return sd.push(0, x) + sd.flush()


def test_stitched_map_equals_one_pass_over_the_whole_signal(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    net, card = torch_model(tmp_path / "tiny")
    assert card.hop % card.bin_samples == 0 and card.margin_bins > 0
    det = OnnxDetector(tmp_path / "tiny", provider="cpu")
    fmt = StreamFormat(RATE, 2, "int16", 1e-6)
    x = (noise(2, 9000, rms=200.0)).astype(np.int16)
    x[:, 2800:3100] = np.clip(x[:, 2800:3100] * 40, -32000, 32000)
    chunks = run_all(det, fmt, x, batch_windows=3)
    assert len(chunks) > 2  # several batches, each stitched from several windows
    got = stitched(chunks)
    # one pass: the same (streaming) preprocessing, then the network on the whole signal
    b, margin = card.bin_samples, card.margin_bins * card.bin_samples
    pre = Preprocessor(2, RATE, 1, 1e-6, card.normalization_params(), card.hop + margin, card.hop)
    y = np.concatenate([pre.process(x), pre.finish()], axis=1)
    bins = -(-y.shape[1] // b)
    whole = np.zeros((2, 1, margin + bins * b + 2 * margin), np.float32)
    whole[:, 0, margin : margin + y.shape[1]] = y
    with torch.no_grad():
        ref = net(torch.from_numpy(whole)).numpy()[:, :, card.margin_bins : card.margin_bins + bins]
    assert got.shape == ref.shape == (2, 2, bins)
    np.testing.assert_allclose(got, ref, atol=1e-5, rtol=0)
    assert np.ptp(got) > 0.01  # a map that actually varies


def test_burst_on_a_window_edge_is_reported_once(energy: OnnxDetector) -> None:
    hop = energy.card.hop
    onsets = [2 * hop, 4 * hop - 150, 6 * hop - 299, 8 * hop + 1]  # on / across core edges
    x = noise(1, 10 * hop)
    for i, onset in enumerate(onsets):
        x[0, onset : onset + 300] += burst(300, 0.05, seed=i)
    probs = stitched(run_all(energy, FLOAT_1CH, x.astype(np.float32)))
    found = runs(probs[0, 0])
    assert len(found) == len(onsets)
    for (start, _stop), onset in zip(found, onsets, strict=True):
        assert abs(start * 8 - onset) <= 16


def test_odd_block_sizes_give_the_same_map_as_one_block(energy: OnnxDetector) -> None:
    fmt = StreamFormat(RATE, 2, "int16", 3e-7)
    x = noise(2, 12_345, seed=3, rms=100.0)
    x[:, 5000:5300] *= 50
    x = np.clip(x + 700, -32768, 32767).astype(np.int16)  # with a DC offset
    whole = stitched(run_all(energy, fmt, x, batch_windows=4))
    sd = ProbabilityMapStream(energy, fmt, batch_windows=3)
    sizes = [1, 7, 333, 1000, 4095, 17, 5000, 2]
    chunks, pos, i = [], 0, 0
    while pos < x.shape[1]:
        size = sizes[i % len(sizes)]
        chunks += sd.push(pos, np.ascontiguousarray(x[:, pos : pos + size]))
        pos, i = min(pos + size, x.shape[1]), i + 1
    pieces = stitched(chunks + sd.flush())
    np.testing.assert_allclose(pieces, whole, atol=1e-6, rtol=0)
    assert len(runs(whole[0, 0])) == 1 and len(runs(whole[1, 0])) == 1


@pytest.mark.parametrize("scale", [1e-6, 1000.0])
def test_input_scale_does_not_change_the_probabilities(energy: OnnxDetector, scale: float) -> None:
    x = noise(1, 6000, seed=4)
    x[0, 3000:3300] += burst(300, 0.03)
    ref = stitched(run_all(energy, FLOAT_1CH, x.astype(np.float32)))
    got = stitched(run_all(energy, FLOAT_1CH, (x * scale).astype(np.float32)))
    np.testing.assert_allclose(got, ref, atol=1e-4, rtol=0)
    assert ref.max() > 0.99 and np.median(ref) < 0.01


def test_counts_and_volts_give_the_same_probabilities(energy: OnnxDetector) -> None:
    counts = np.round(noise(1, 6000, seed=5, rms=300.0)).astype(np.int16)
    volts = (counts * 2e-6).astype(np.float32)
    p_counts = stitched(run_all(energy, StreamFormat(RATE, 1, "int16", 2e-6), counts))
    p_volts = stitched(run_all(energy, FLOAT_1CH, volts))
    np.testing.assert_allclose(p_counts, p_volts, atol=1e-5)


def test_rate_mismatch_is_a_one_line_error_naming_aemon_train(energy: OnnxDetector) -> None:
    with pytest.raises(ConfigError) as err:
        ProbabilityMapStream(energy, StreamFormat(192_000.0, 1, "int16", 1.0))
    text = str(err.value)
    assert "\n" not in text
    assert "expects 1562500 Hz but the source delivers 192000 Hz" in text
    assert "aemon train CONFIG --rate 192000" in text
    with pytest.raises(ConfigError, match="delivers 2000000 Hz"):  # not a whole multiple
        ProbabilityMapStream(energy, StreamFormat(2_000_000.0, 1, "int16", 1.0))


def test_whole_multiple_of_the_model_rate_is_decimated(tmp_path: Path) -> None:
    energy_model(tmp_path / "e192", rate=192_000.0, name="e192")
    det = OnnxDetector(tmp_path / "e192")
    fmt = StreamFormat(384_000.0, 1, "float32", 1.0)
    x = noise(1, 40_000, seed=6)
    onset = 21_000
    x[0, onset : onset + 600] += burst(600, 0.05, rate=384_000.0)
    chunks = run_all(det, fmt, x.astype(np.float32))
    assert chunks[0].bin_samples == 16  # 8 model samples × 2
    probs = stitched(chunks)
    assert probs.shape[-1] == 40_000 // 16
    found = runs(probs[0, 0])
    assert len(found) == 1 and abs(found[0][0] * 16 - onset) <= 32


def test_decimator_rejects_aliases_and_keeps_the_band() -> None:
    rate, factor = 384_000.0, 2
    t = np.arange(40_000) / rate
    dec = FirDecimator(1, factor, rate)
    for freq, low, high in [(30e3, 0.98, 1.02), (130e3, -1.0, 10 ** (-55 / 20))]:
        tone = np.sin(2 * np.pi * freq * t)[None, :].astype(np.float32)
        dec.restart(missing_before=False)
        y = np.concatenate([dec.process(tone), dec.finish()], axis=1)
        assert y.shape[1] == 20_000
        gain = np.sqrt(2 * np.mean(y[0, 2000:-2000] ** 2))
        assert low <= gain <= high
    # delay compensated: model sample m sits on source sample 2m
    dec.restart(missing_before=False)
    slow = np.sin(2 * np.pi * 5e3 * t)[None, :].astype(np.float32)
    y = np.concatenate([dec.process(slow), dec.finish()], axis=1)
    np.testing.assert_allclose(y[0, 1000:-1000], slow[0, 2000:-2000:2], atol=2e-3)


def test_highpass_removes_an_offset_without_a_start_transient() -> None:
    hp = HighPass(1, RATE, 20_000.0, 1e-3)
    x = np.full((1, 5000), 1200, np.int16)
    assert hp.process(x[:, :10]).shape == (1, 0)  # the start waits for its offset estimate
    y = np.concatenate([hp.process(x[:, 10:]), hp.flush()], axis=1)
    assert y.shape == (1, 5000) and np.abs(y).max() < 1e-9
    step = hp.process(np.full((1, 5000), 1300, np.int16))  # offset change of 0.1 V decays
    assert abs(step[0, 0]) > 0.05 and np.abs(step[0, 500:]).max() < 1e-4


def test_dc_block_keeps_spikes_and_hum_as_trained() -> None:
    """Models trained without a high-pass get a 10 Hz DC block: offset gone, shapes kept."""
    assert card_highpass_hz({}) == DC_BLOCK_HZ and card_highpass_hz({"highpass_hz": 2e4}) == 2e4
    t = np.arange(200_000) / RATE
    hum = 15.0 * np.sin(2 * np.pi * 50 * t)
    x = noise(1, t.size, seed=9, rms=10.0) + hum + 700.0
    x[0, 100_000] += 1000.0  # an electrical spike
    y = HighPass(1, RATE, DC_BLOCK_HZ, 1.0).process(x.astype(np.float32))
    change = y[0] - (x[0] - 700.0)  # only a slowly varying remainder of the offset and hum
    assert np.abs(change).max() < 3.0 and np.abs(np.diff(change)).max() < 0.01


def test_short_gap_keeps_the_map_contiguous(energy: OnnxDetector) -> None:
    x = noise(1, 8000, seed=7).astype(np.float32)
    x[0, 6000:6300] += burst(300, 0.05).astype(np.float32)
    sd = ProbabilityMapStream(energy, FLOAT_1CH)
    chunks = sd.push(0, x[:, :3000])
    sd.gap(Gap(3000, 3400, "sequence"))
    chunks += sd.push(3400, x[:, 3400:]) + sd.flush()
    probs = stitched(chunks)
    assert probs.shape[-1] == 1000
    assert probs[0, 0, 3000 // 8 + 2 : 3400 // 8 - 2].max() < 0.01  # no event inside the gap
    assert [abs(s * 8 - 6000) <= 16 for s, _ in runs(probs[0, 0])] == [True]


def test_long_gap_restarts_on_the_bin_grid(energy: OnnxDetector) -> None:
    x = noise(1, 4000, seed=8).astype(np.float32)
    x[0, 2000:2300] += burst(300, 0.05).astype(np.float32)
    sd = ProbabilityMapStream(energy, StreamFormat(RATE, 1, "float32", 1.0), first_sample=100)
    before = sd.push(100, x[:, :1500])
    resume = 100 + 1_000_003  # implied gap, far longer than a window
    after = sd.push(resume, x[:, 1500:]) + sd.flush()
    earlier = before + [c for c in after if c.first_bin_sample < resume - 8]
    assert stitched(earlier, origin=100).shape[-1] == -(-1500 // 8)
    later = [c for c in after if c.first_bin_sample >= resume - 8]
    assert (later[0].first_bin_sample - 100) % 8 == 0 and later[0].first_bin_sample <= resume
    probs = stitched(later, origin=later[0].first_bin_sample)
    ((start, _),) = runs(probs[0, 0])
    assert abs(later[0].first_bin_sample + start * 8 - (resume + 500)) <= 16


def test_provider_choice_falls_back_to_cpu(energy_dir: Path) -> None:
    assert resolve_providers("auto", [CPU_PROVIDER]) == [CPU_PROVIDER]
    assert resolve_providers("auto", [CUDA_PROVIDER, CPU_PROVIDER]) == [
        CUDA_PROVIDER,
        CPU_PROVIDER,
    ]
    assert resolve_providers("cpu", [CUDA_PROVIDER, CPU_PROVIDER]) == [CPU_PROVIDER]
    with pytest.raises(ConfigError, match=r"no CUDAExecutionProvider.*--provider cpu"):
        resolve_providers("cuda", [CPU_PROVIDER])
    with pytest.raises(ConfigError, match="unknown"):
        resolve_providers("tpu", [CPU_PROVIDER])
    det = OnnxDetector(energy_dir)  # auto
    import onnxruntime as ort

    expected = "cuda" if CUDA_PROVIDER in ort.get_available_providers() else "cpu"
    assert det.provider == expected and det.threads >= 1


def test_missing_model_and_mismatched_card_are_one_line_errors(
    energy_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(FileFormatError, match=r"no detector model at .*aemon train"):
        OnnxDetector(tmp_path / "nothing")
    bad = tmp_path / "bad"
    energy_model(bad, window=512)
    card = (bad / "model_card.json").read_text()
    (bad / "model_card.json").write_text(
        card.replace('"window": 512', '"window": 1024').replace(
            '"output_bins": 64', '"output_bins": 128'
        )
    )
    with pytest.raises(FileFormatError, match="card does not belong"):
        OnnxDetector(bad)


def test_default_model_path_follows_the_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AEMON_MODELS", str(tmp_path))
    assert default_model_path() == tmp_path / "aemon-rt-1m5"
    assert default_model_path(192_000) == tmp_path / "aemon-rt-192k"
    energy_model(tmp_path / "lab-96k", rate=96_000.0, name="lab-96k")
    assert default_model_path(192_000) == tmp_path / "lab-96k"  # decimates by 2
    energy_model(tmp_path / "aemon-rt-192k", rate=192_000.0, name="aemon-rt-192k")
    assert default_model_path(192_000) == tmp_path / "aemon-rt-192k"
    energy_model(tmp_path / "aemon-rt-1m5", name="aemon-rt-1m5")
    det = OnnxDetector("aemon-rt-1m5")  # a bare name is looked up in the models directory
    with pytest.raises(ConfigError, match=r"use a model .* or --model \S*aemon-rt-192k$"):
        ProbabilityMapStream(det, StreamFormat(192_000.0, 1, "int16", 1.0))


def test_overlapped_inference_gives_the_same_chunks_one_batch_later(
    energy: OnnxDetector,
) -> None:
    fmt = StreamFormat(RATE, 2, "int16", 3e-7)
    x = noise(2, 30_000, seed=5, rms=100.0)
    x[:, 9000:9300] *= 50
    x = np.clip(x, -32768, 32767).astype(np.int16)
    pieces = [(0, 4000), (4000, 9000), (9200, 15000), (15000, 15001), (40_000, 55_000)]
    results = {}
    for overlap in (False, True):
        sd = ProbabilityMapStream(energy, fmt, batch_windows=2, overlap=overlap)
        per_push = []
        for start, stop in pieces:  # a short gap at 9000, a long one at 15001
            block = x[:, start % 30_000 : start % 30_000 + stop - start]
            per_push.append(sd.push(start, np.ascontiguousarray(block)))
        per_push.append(sd.flush())
        per_push.append(sd.push(55_000, np.ascontiguousarray(x[:, :3000])) + sd.flush())
        results[overlap] = per_push
    plain, overlapped = results[False], results[True]
    flat = [c for push in plain for c in push]
    assert [c.first_bin_sample for c in flat] == [
        c.first_bin_sample for push in overlapped for c in push
    ]
    for a, b in zip(flat, [c for push in overlapped for c in push], strict=True):
        np.testing.assert_array_equal(a.probabilities, b.probabilities)
    assert len(overlapped[0]) <= len(plain[0])  # the newest batch may still be in flight
    sd = ProbabilityMapStream(energy, fmt, batch_windows=2, overlap=True)
    assert sd.latency_samples > ProbabilityMapStream(energy, fmt, batch_windows=2).latency_samples
