"""Tests of the AE simulator (aemon.sim.simulator) and the ``aemon sim`` command."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from aemon.cli import main
from aemon.errors import ConfigError
from aemon.sim.simulator import (
    BURST_TYPES,
    AESimulator,
    BurstTruth,
    SimBlock,
    SimConfig,
    make_background,
    make_burst,
)

FS = 1_562_500.0
Second = tuple[SimConfig, SimBlock, SimBlock, np.ndarray]


def render_with_and_without_bursts(config: SimConfig, n: int) -> tuple[SimBlock, SimBlock]:
    """Render ``config`` and the same config without bursts.

    Background streams are independent of the burst stream, so the difference of the two is
    exactly the bursts (the signal a perfect separation would give).
    """
    with_bursts = AESimulator(config).render(n)
    background = AESimulator(dataclasses.replace(config, burst_rate_hz=0.0)).render(n)
    return with_bursts, background


def spectral_centroid_hz(x: np.ndarray, fs: float) -> float:
    n_fft = max(4096, x.size)
    power = np.abs(np.fft.rfft(x, n_fft)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1.0 / fs)
    return float(np.sum(freqs * power) / np.sum(power))


@pytest.fixture(scope="module")
def two_channel_second() -> Second:
    config = SimConfig(channels=2, burst_rate_hz=100.0, seed=11)
    block, background = render_with_and_without_bursts(config, int(FS))
    clean = block.samples.astype(np.float64) - background.samples.astype(np.float64)
    return config, block, background, clean


def test_bursts_are_where_the_truth_says(two_channel_second: Second) -> None:
    config, block, _, clean = two_channel_second
    assert len(block.bursts) > 150  # 100 /s on two channels for 1 s
    inside = np.zeros(clean.shape, dtype=bool)
    for b in block.bursts:
        assert 0 <= b.onset_sample < b.end_sample <= block.samples.shape[1] + 2000
        assert b.burst_type in (0, 1)
        inside[b.channel, b.onset_sample : b.end_sample] = True
        segment = block.samples[b.channel, b.onset_sample : b.end_sample].astype(np.float64)
        ratio_db = 10 * np.log10(np.mean(segment**2) / config.noise_rms_v**2)
        # mean power over the burst: peak power minus the burst's crest/decay factor (<19 dB)
        assert ratio_db > max(2.0, b.snr_db - 19.0)
    # Outside the truth intervals the burst-free rendering is identical: nothing else is a burst.
    assert not np.any(clean[~inside])
    assert np.all(np.diff([b.onset_sample for b in block.bursts]) >= 0)


def test_snr_and_peak_in_truth_match_the_signal(two_channel_second: Second) -> None:
    config, block, _, clean = two_channel_second
    quiet = AESimulator(
        SimConfig(hum_amplitude_v=0, friction_rate_hz=0, spike_rate_hz=0, burst_rate_hz=0)
    ).render(200_000)
    assert np.std(quiet.samples) == pytest.approx(config.noise_rms_v, rel=0.01)
    for b in block.bursts:
        peak = np.max(np.abs(clean[b.channel, b.onset_sample : b.end_sample]))
        assert peak == pytest.approx(b.peak_amplitude_v, rel=1e-3)
        assert 20 * np.log10(peak / config.noise_rms_v) == pytest.approx(b.snr_db, abs=0.01)
        if b.snr_db > 40:  # measured on the noisy signal, noise barely matters
            noisy = np.max(np.abs(block.samples[b.channel, b.onset_sample : b.end_sample]))
            assert 20 * np.log10(noisy / config.noise_rms_v) == pytest.approx(b.snr_db, abs=0.5)


def test_amplitudes_span_at_least_40_db(two_channel_second: Second) -> None:
    _, block, _, _ = two_channel_second
    snrs = np.array([b.snr_db for b in block.bursts])
    assert snrs.min() >= 15.0 and snrs.max() <= 55.0
    peaks = np.array([b.peak_amplitude_v for b in block.bursts])
    assert 20 * np.log10(peaks.max() / peaks.min()) > 38.0
    # dBAE (re 1 µV): 35..75
    assert 20 * np.log10(peaks.min() / 1e-6) >= 35.0 - 1e-9
    assert {b.burst_type for b in block.bursts} == {0, 1}


def test_burst_shape_fast_rise_and_decay(two_channel_second: Second) -> None:
    _, block, _, clean = two_channel_second
    for b in block.bursts:
        if b.end_sample > clean.shape[1]:
            continue  # runs past the rendered block
        x = np.abs(clean[b.channel, b.onset_sample : b.end_sample])
        peak = x.max()
        first_audible = int(np.argmax(x > 0.01 * peak))
        assert first_audible <= 10, "burst must start at its onset"
        assert np.argmax(x > 0.5 * peak) < 60e-6 * FS, "rises to half its peak within 60 µs"
        assert np.argmax(x) < 150e-6 * FS
        assert x[-10:].max() < 0.05 * peak, "burst decays before its end"
        assert 100e-6 * FS * 0.5 < x.size < 600e-6 * FS


def test_band_content_matches_type(two_channel_second: Second) -> None:
    _, block, _, clean = two_channel_second
    centroids: dict[int, list[float]] = {0: [], 1: []}
    for b in block.bursts:
        segment = clean[b.channel, b.onset_sample : b.end_sample]
        centroids[b.burst_type].append(spectral_centroid_hz(segment, FS))
    assert max(centroids[0]) < min(centroids[1])
    assert 90e3 < np.median(centroids[0]) < 260e3
    assert 290e3 < np.median(centroids[1]) < 620e3


def test_make_burst_unit_peak_and_varied() -> None:
    rng = np.random.default_rng(0)
    bursts = [make_burst(rng, t, FS) for t in (0, 1) for _ in range(20)]
    for x in bursts:
        assert x.dtype == np.float64 and x.ndim == 1
        assert np.max(np.abs(x)) == pytest.approx(1.0)
        assert abs(x[0]) < 0.05  # starts at the onset from (near) zero
    lengths = {x.size for x in bursts}
    assert len(lengths) > 10, "bursts must be randomised"
    with pytest.raises(ConfigError):
        make_burst(rng, len(BURST_TYPES), FS)


def test_seeded_and_reproducible() -> None:
    config = SimConfig(channels=2, seed=5, burst_rate_hz=200)
    a = AESimulator(config).render(100_000)
    b = AESimulator(config).render(100_000)
    c = AESimulator(dataclasses.replace(config, seed=6)).render(100_000)
    assert np.array_equal(a.samples, b.samples)
    assert a.bursts == b.bursts and a.disturbances == b.disturbances
    assert not np.array_equal(a.samples, c.samples)
    assert a.bursts != c.bursts
    # channels get independent noise
    assert abs(np.corrcoef(a.samples[0], a.samples[1])[0, 1]) < 0.1


@pytest.mark.parametrize("coincident", [0.0, 0.6])
def test_chunked_rendering_is_bit_identical(coincident: float) -> None:
    config = SimConfig(
        channels=3,
        seed=9,
        burst_rate_hz=300.0,
        friction_rate_hz=40.0,
        spike_rate_hz=200.0,
        coincident_fraction=coincident,
    )
    n = 300_001
    whole = AESimulator(config).render(n)
    sim = AESimulator(config)
    rng = np.random.default_rng(1)
    parts, bursts, disturbances = [], [], []
    while sim.position < n:
        size = min(int(rng.choice([1, 7, 255, 4096, 65536])), n - sim.position)
        block = sim.render(size)
        assert block.first_sample == sim.position - size
        parts.append(block.samples)
        bursts += block.bursts
        disturbances += block.disturbances
    assert np.array_equal(whole.samples, np.concatenate(parts, axis=1))
    assert whole.bursts == sorted(bursts, key=lambda b: (b.onset_sample, b.channel))
    assert whole.disturbances == sorted(disturbances, key=lambda d: (d.start_sample, d.channel))
    # something actually straddled a chunk boundary
    assert any(b.end_sample - b.onset_sample > 255 for b in whole.bursts)
    assert len(whole.bursts) > 100


def test_chunks_iterator_and_block_format() -> None:
    config = SimConfig(channels=4)
    sim = AESimulator(config)
    chunks = sim.chunks(65536)
    first, second = next(chunks), next(chunks)
    assert (first.first_sample, second.first_sample) == (0, 65536)
    assert second.samples.shape == (4, 65536)
    assert second.samples.dtype == np.float32 and second.samples.flags.c_contiguous
    assert sim.position == 131072


def test_coincident_bursts_arrive_later_and_weaker() -> None:
    config = SimConfig(channels=4, seed=3, coincident_fraction=1.0, snr_db_range=(40, 55))
    truth = AESimulator(config).render(int(FS)).bursts
    groups: list[list[BurstTruth]] = []
    for b in truth:  # sorted by onset; an event reaches all channels within 80 µs
        if groups and b.onset_sample - groups[-1][0].onset_sample <= 80e-6 * FS:
            groups[-1].append(b)
        else:
            groups.append([b])
    assert len(groups) > 8
    for group in groups:
        first, *later = group
        assert sorted(b.channel for b in group) == [0, 1, 2, 3]
        assert {b.burst_type for b in group} == {first.burst_type}
        assert all(40 <= b.snr_db <= first.snr_db for b in later)
        assert all(b.onset_sample > first.onset_sample for b in later)


def test_disturbances_are_not_bursts() -> None:
    config = SimConfig(burst_rate_hz=0.0, friction_rate_hz=30.0, spike_rate_hz=50.0, seed=2)
    block = AESimulator(config).render(int(FS))
    no_friction = AESimulator(dataclasses.replace(config, friction_rate_hz=0.0)).render(int(FS))
    friction_only = block.samples[0].astype(np.float64) - no_friction.samples[0]
    assert block.bursts == []
    assert {d.kind for d in block.disturbances} == {"friction", "spike"}
    for d in block.disturbances:
        segment = friction_only[d.start_sample : min(d.end_sample, int(FS))]
        if d.kind == "spike":
            assert d.end_sample - d.start_sample in (1, 2)
            assert np.max(np.abs(block.samples[0, d.start_sample])) > 10 * config.noise_rms_v
        else:
            assert 1e-3 < (d.end_sample - d.start_sample) / FS < 40e-3  # ms long, not µs
            assert np.sqrt(np.mean(segment**2)) > 0.5 * config.noise_rms_v
            assert spectral_centroid_hz(segment, FS) < 90e3  # below the burst bands


def test_192_khz_keeps_bursts_distinguishable() -> None:
    fs = 192_000.0
    config = SimConfig(sample_rate_hz=fs, burst_rate_hz=50.0, seed=4)
    block, background = render_with_and_without_bursts(config, int(fs * 2))
    clean = block.samples.astype(np.float64) - background.samples.astype(np.float64)
    centroids: dict[int, list[float]] = {0: [], 1: []}
    for b in block.bursts:
        segment = clean[0, b.onset_sample : b.end_sample]
        assert 50 < segment.size < 1000  # about the same length in samples as at 1.5625 MHz
        centroids[b.burst_type].append(spectral_centroid_hz(segment, fs))
    assert centroids[0] and centroids[1]
    assert 5e3 < max(centroids[0]) < min(centroids[1]) < fs / 2


def test_make_background_one_channel() -> None:
    config = SimConfig(friction_rate_hz=50.0, spike_rate_hz=100.0)
    x, disturbances = make_background(np.random.default_rng(3), 200_000, config)
    y, _ = make_background(np.random.default_rng(3), 200_000, config)
    assert x.shape == (200_000,) and x.dtype == np.float64
    assert np.array_equal(x, y)
    assert disturbances and all(0 <= d.start_sample < d.end_sample <= x.size for d in disturbances)
    assert 0.8 * config.noise_rms_v < np.median(np.abs(x)) / 0.6745 < 3 * config.noise_rms_v


@pytest.mark.parametrize(
    "changes",
    [
        {"snr_db_range": (40.0, 20.0)},
        {"channels": 0},
        {"sample_rate_hz": 0.0},
        {"noise_rms_v": -1.0},
        {"burst_rate_hz": -1.0},
        {"burst_rate_hz": 1e5},
        {"coincident_fraction": 1.5},
        {"seed": -1},
        {"channels": 1.5},
    ],
)
def test_impossible_configs_raise(changes: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        SimConfig(**changes)


def test_cli_wav_and_truth_csv_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "demo.wav"
    argv = ["sim", "--duration", "0.3", "--channels", "2", "--seed", "7"]
    assert main([*argv, "--burst-rate", "60", "--out", str(out)]) == 0
    data, rate = soundfile.read(out, dtype="float32", always_2d=True)
    assert rate == 1_562_500 and data.shape == (468_750, 2)
    config = SimConfig(channels=2, seed=7, burst_rate_hz=60)
    expected = AESimulator(config).render(468_750)
    assert np.array_equal(data.T, expected.samples)
    with (tmp_path / "demo.truth.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:5] == ["time_s", "sample_index", "channel", "type", "snr_db"]
    assert len(rows) == len(expected.bursts) > 10
    for row, b in zip(rows, expected.bursts, strict=True):
        assert int(row["sample_index"]) == b.onset_sample
        assert float(row["time_s"]) == pytest.approx(b.onset_sample / 1_562_500)
        assert int(row["channel"]) == b.channel
        assert row["type"] == BURST_TYPES[b.burst_type]
        assert float(row["snr_db"]) == pytest.approx(b.snr_db, abs=1e-3)
        assert int(row["end_sample"]) == min(b.end_sample, 468_750)
    # refuses to overwrite unless asked
    assert main([*argv, "--out", str(out)]) == 2
    assert main([*argv, "--out", str(out), "--overwrite"]) == 0


def test_cli_hdf5_recording(tmp_path: Path) -> None:
    recording = pytest.importorskip("aemon.io.recording")
    out = tmp_path / "demo.h5"
    assert main(["sim", "--duration", "0.2", "--rate", "192000", "--out", str(out)]) == 0
    config = SimConfig(sample_rate_hz=192_000.0)
    expected = AESimulator(config).render(38_400)
    with recording.RecordingReader(out) as reader:
        assert reader.info.sample_rate_hz == 192_000.0
        assert np.array_equal(reader.read(0, 38_400, volts=True), expected.samples)
        truth = reader.truth()
    assert [int(t) for t in truth["onset_sample"]] == [b.onset_sample for b in expected.bursts]
    assert [t.decode() for t in truth["burst_type"]] == [
        BURST_TYPES[b.burst_type] for b in expected.bursts
    ]


@pytest.mark.parametrize(
    "extra",
    [
        ["--duration", "0", "--out", "x.wav"],
        ["--duration", "1", "--rate", "-5", "--out", "x.wav"],
        ["--duration", "1", "--channels", "0", "--out", "x.wav"],
        ["--duration", "1", "--snr-min", "50", "--snr-max", "20", "--out", "x.wav"],
        ["--duration", "1", "--out", "x.mp3"],
        ["--duration", "1", "--rate", "44100.5", "--out", "x.wav"],
    ],
)
def test_cli_rejects_bad_values_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    extra = [str(tmp_path / a) if a.startswith("x.") else a for a in extra]
    assert main(["sim", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aemon: error:") and "\n" not in err
    assert not list(tmp_path.iterdir())


def test_truth_rows_are_named_tuples() -> None:
    block = AESimulator(SimConfig(burst_rate_hz=300, seed=1)).render(200_000)
    assert block.bursts and all(isinstance(b, BurstTruth) for b in block.bursts)
    assert block.bursts[0]._fields == (
        "onset_sample",
        "end_sample",
        "channel",
        "burst_type",
        "peak_amplitude_v",
        "snr_db",
    )
