"""Training data sources (b: burst folders, c: labelled recordings), metrics and stream stitching.

No torch needed: these parts also serve ``aemon evaluate`` and the live path.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile

from aemon.errors import ConfigError, FileFormatError
from aemon.events.scoring import DetectedEvent, TrueEvent, match_events
from aemon.sim.simulator import SimConfig, make_background, make_burst
from aemon.train.config import ModelConfig, model_config_from_dict
from aemon.train.data import NO_AUGMENTATION, WindowGenerator
from aemon.train.data_sources import build_sources
from aemon.train.labelled import LabelledSource, read_labelled_csv
from aemon.train.metrics import extract_events, map_metrics, roc_auc

RATE = 1_562_500.0


def small_config(rate: float = RATE, classes: tuple[str, ...] = ("low", "high")) -> ModelConfig:
    return model_config_from_dict(
        {
            "name": "small",
            "architecture": "inceptiontime",
            "signal": {"sample_rate_hz": rate, "window": 4096, "classes": list(classes)},
            "frontend": {"filters": 4, "kernel": 16, "stride": 8},
            "blocks": [{"kernels": [3], "filters": 4, "bottleneck": 4, "modules": 1, "pool": 2}],
            "training": {"window": 2048, "bursts_per_window": [1, 2]},
        }
    )


def make_burst_folder(root: Path, rate: float = RATE) -> Path:
    rng = np.random.default_rng(0)
    for label, kind in (("low", 0), ("high", 1)):
        folder = root / "bursts" / label
        folder.mkdir(parents=True)
        for i in range(5):
            wave = np.concatenate([np.zeros(100), make_burst(rng, kind, rate) * 1e-3])
            wave[:100] += rng.standard_normal(100) * 1e-6  # pre-trigger noise
            soundfile.write(
                folder / f"b{i}.wav", wave.astype(np.float32), int(rate), subtype="FLOAT"
            )
    (root / "noise").mkdir()
    noise, _ = make_background(rng, 40000, SimConfig(sample_rate_hz=rate))
    soundfile.write(root / "noise" / "n.wav", noise.astype(np.float32), int(rate), subtype="FLOAT")
    return root


def test_burst_folder_source_places_trimmed_bursts(tmp_path: Path) -> None:
    config = small_config()
    sources = build_sources([str(make_burst_folder(tmp_path))], config, NO_AUGMENTATION)
    gen = WindowGenerator(config, sources)
    rng = np.random.default_rng(1)
    for _ in range(10):
        win = gen.raw(rng)
        assert 1 <= len(win.events) <= 2
        for ev in win.events:
            if ev.onset >= 0 and ev.end <= 2048:
                seg = np.abs(win.signal[0, ev.onset : ev.end])
                before = np.abs(win.signal[0, max(ev.onset - 60, 0) : ev.onset])
                # the AIC-trimmed burst starts within a few samples of its onset
                assert seg[:40].max() > 10 * (before.max() if before.size else 0) or ev.onset < 60


def test_burst_folder_errors(tmp_path: Path) -> None:
    config = small_config()
    make_burst_folder(tmp_path)
    (tmp_path / "bursts" / "medium").mkdir()
    soundfile.write(tmp_path / "bursts" / "medium" / "x.wav", np.ones(64, np.float32), int(RATE))
    with pytest.raises(ConfigError, match="'medium' is not a model class"):
        build_sources([str(tmp_path)], config, NO_AUGMENTATION)
    with pytest.raises(ConfigError, match="no such file"):
        build_sources([str(tmp_path / "missing")], config, NO_AUGMENTATION)


def test_mismatched_rates_are_resampled_down_or_refused(tmp_path: Path) -> None:
    make_burst_folder(tmp_path, rate=192000.0)
    with pytest.raises(ConfigError, match="upsampling cannot restore"):
        build_sources([str(tmp_path)], small_config(RATE), NO_AUGMENTATION)
    # 192 kHz files for a 96 kHz model: resampled by 1/2
    sources = build_sources([str(tmp_path)], small_config(96000.0), NO_AUGMENTATION)
    assert sources[0].name.startswith("bursts:")


def write_labelled_wav(
    tmp_path: Path, columns: list[str]
) -> tuple[Path, list[tuple[int, str, int]]]:
    rng = np.random.default_rng(2)
    n = 60000
    signal, _ = make_background(rng, n, SimConfig())
    truth: list[tuple[int, str, int]] = []
    for onset in range(3000, n - 3000, 5000):
        kind = int(rng.integers(2))
        wave = make_burst(rng, kind, RATE) * 3e-4
        signal[onset : onset + wave.size] += wave
        truth.append((onset, ("low", "high")[kind], wave.size))
    path = tmp_path / "rec.wav"
    soundfile.write(path, signal.astype(np.float32), int(RATE), subtype="FLOAT")
    with (tmp_path / "rec.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for onset, name, size in truth:
            row = {
                "time_s": onset / RATE,
                "type": name,
                "channel": 0,
                "duration_us": size / RATE * 1e6,
                "score": 0.9,
            }
            writer.writerow({k: row[k] for k in columns})
        writer.writerow(
            {
                k: {"time_s": 0.01, "type": "noise", "channel": 0, "duration_us": 50, "score": 0.6}[
                    k
                ]
                for k in columns
            }
        )
    return path, truth


def test_labelled_recording_windows_carry_their_labels(tmp_path: Path) -> None:
    path, truth = write_labelled_wav(
        tmp_path, ["time_s", "type", "channel", "duration_us", "score"]
    )
    config = small_config()
    events = read_labelled_csv(tmp_path / "rec.csv", RATE, ["low", "high"])
    assert [e.onset for e in events] == [t[0] for t in truth]  # the 'noise' row is background
    source = build_sources([str(path)], config, NO_AUGMENTATION)[0]
    rng = np.random.default_rng(3)
    found = 0
    for _ in range(20):
        win = source.draw(rng, 2048, 1)
        for ev in win.events:
            if 0 <= ev.onset < 2048 - 100:
                energy_in = np.mean(win.signal[0, ev.onset : ev.onset + 100] ** 2)
                energy_before = (
                    np.mean(win.signal[0, max(ev.onset - 400, 0) : ev.onset] ** 2) + 1e-30
                )
                assert energy_in > 4 * energy_before or ev.onset < 400
                found += 1
    assert found >= 5


def test_csv_without_needed_columns_is_refused(tmp_path: Path) -> None:
    path, _ = write_labelled_wav(tmp_path, ["time_s", "type", "score"])
    with pytest.raises(FileFormatError, match=r"lacks column.*channel.*end_s or duration_us"):
        build_sources([str(path)], small_config(), NO_AUGMENTATION)
    bad_type = tmp_path / "rec.csv"
    bad_type.write_text("time_s,type,channel,end_s\n0.001,crack,0,0.0012\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'crack' is not a model class"):
        read_labelled_csv(bad_type, RATE, ["low", "high"])


def test_event_matching_window_is_100us_before_to_250us_after() -> None:
    us = RATE / 1e6
    truth = [TrueEvent(100_000, 100_500, 0)]
    for offset_us, hit in ((-100, True), (-101, False), (250, True), (251, False), (0, True)):
        pred = [DetectedEvent(100_000 + int(offset_us * us), 100_600, 0, 0.9)]
        counts = match_events(pred, truth, RATE)
        assert (counts.tp == 1) is hit, offset_us
        assert counts.fp == (0 if hit else 1) and counts.fn == (0 if hit else 1)
    wrong_type = [DetectedEvent(100_000, 100_500, 1, 0.9)]
    assert match_events(wrong_type, truth, RATE, typed=True).tp == 0
    assert match_events(wrong_type, truth, RATE, typed=False).tp == 1
    two = [DetectedEvent(100_050, 1, 0, 0.9), DetectedEvent(100_010, 1, 0, 0.9)]
    counts = match_events(two, truth, RATE)  # one-to-one, closest onset wins
    assert (counts.tp, counts.fp) == (1, 1)
    assert counts.onset_errors_us == [pytest.approx(10 / us)]


def test_map_metrics_and_auc() -> None:
    labels = np.array([0, 0, 1, 1, 0, 1])
    scores = np.array([0.1, 0.6, 0.7, 0.4, 0.2, 0.9])
    m = map_metrics(labels, scores)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["roc_auc"] == pytest.approx(8 / 9)
    assert roc_auc(labels, labels.astype(float)) == 1.0
    assert roc_auc(labels, 1.0 - labels) == 0.0


def test_extract_events_reads_runs_as_the_live_segmenter() -> None:
    probs = np.zeros((2, 20))
    probs[0, 3:6] = 0.8
    probs[1, 10] = 0.55
    probs[1, 15:20] = 0.9
    rate = 1.6e6  # a bin of 16 samples is 10 µs
    events = extract_events(probs, 16, rate, offset=1000, merge_gap_us=0.0)
    assert events == [
        DetectedEvent(1048, 1096, 0, 0.8),
        DetectedEvent(1160, 1176, 1, 0.55),
        DetectedEvent(1240, 1320, 1, 0.9),
    ]
    # gaps of up to 20 µs (2 empty bins) join
    probs[0, 12:14] = 0.7
    merged = extract_events(probs, 16, rate, merge_gap_us=20.0)
    assert merged == [DetectedEvent(48, 96, 0, 0.8), DetectedEvent(160, 320, 1, 0.9)]
    assert len(extract_events(probs, 16, rate, merge_gap_us=20.0, per_class=True)) == 4
    # the class with the highest probability names the event, not the one with most mass
    plateau = np.zeros((2, 20))
    plateau[0, 2:18] = 0.6
    plateau[1, 9] = 0.9
    assert extract_events(plateau, 16, rate) == [DetectedEvent(32, 288, 1, 0.9)]


def energy_predictor(decimation: int):
    """A stand-in 'model' whose output bin is a squashed energy of its own input bin."""

    def predict(x: np.ndarray) -> np.ndarray:
        b, c, n = x.shape
        energy = (x.astype(np.float64) ** 2).reshape(b, c, n // decimation, decimation).mean(-1)
        p = 1.0 - np.exp(-energy / 50.0)
        return np.concatenate([p, p], axis=1).astype(np.float32)

    return predict


def write_tradb(path: Path, waves: list[np.ndarray], rate: float) -> None:
    """A Vallen tradb with one transient record per wave (1 µV ADC step)."""
    import sqlite3

    import vallenae.io

    with vallenae.io.TraDatabase(str(path), mode="rwc"):
        pass
    with sqlite3.connect(path) as con:
        con.execute("insert into tr_params values (1, 1, 1, 0.001, 0.001)")  # 1 µV steps
    with vallenae.io.TraDatabase(str(path), mode="rw") as tradb:
        for i, wave in enumerate(waves):
            tradb.write(
                vallenae.io.TraRecord(
                    time=float(i),
                    channel=1,
                    param_id=1,
                    pretrigger=100,
                    threshold=1e-4,
                    samplerate=int(rate),
                    samples=wave.size,
                    data=wave.astype(np.float32),
                    trai=i + 1,
                )
            )


def test_vallen_tradb_bursts_are_read_and_trimmed(tmp_path: Path) -> None:
    make_burst_folder(tmp_path)
    rng = np.random.default_rng(7)
    waves = []
    for _ in range(4):
        wave = np.concatenate([rng.standard_normal(100) * 2e-6, make_burst(rng, 1, RATE) * 5e-3])
        waves.append(wave)
    write_tradb(tmp_path / "bursts" / "high" / "lab.tradb", waves, RATE)
    from aemon.train.data_sources import pick_burst, read_waveforms

    read, rate = read_waveforms(tmp_path / "bursts" / "high" / "lab.tradb", 0.0)
    assert rate == RATE and len(read) == 4
    for wave in read:
        span = pick_burst(wave)
        assert span is not None
        # the AIC onset lands within a few samples of the true onset (sample 100)
        assert abs(span[0] - 100) <= 8
    sources = build_sources([str(tmp_path)], small_config(), NO_AUGMENTATION)
    assert sources[0].name.startswith("bursts:")


def test_simulator_recording_is_a_labelled_source(tmp_path: Path) -> None:
    from aemon.commands.sim import write_hdf5

    path = tmp_path / "sim.h5"
    rows = write_hdf5(path, SimConfig(burst_rate_hz=300.0, seed=3), 100_000)
    assert rows > 5
    config = small_config()
    source = build_sources([str(path)], config, NO_AUGMENTATION, split="train")[0]
    rng = np.random.default_rng(0)
    labelled = [ev for _ in range(20) for ev in source.draw(rng, 2048, 1).events]
    assert labelled and all(ev.label in (0, 1) for ev in labelled)
    test_part = build_sources([str(path)], config, NO_AUGMENTATION, split="test")[0]
    assert isinstance(test_part, LabelledSource)
    assert test_part.parts[0].signal.shape[1] == 100_000 - int(100_000 * 0.8)


def test_bursts_ride_on_the_background_transients_when_spans_are_given() -> None:
    from aemon.train.data import MixSource

    n, transient = 20_000, (12_000, 12_400)

    def spanned(rng: np.random.Generator, size: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
        return np.zeros(size), [transient]

    def source(p: float) -> MixSource:
        return MixSource(
            "t", lambda rng, label: np.ones(50), lambda rng, size: np.zeros(size), None, 2,
            (1, 1), RATE, NO_AUGMENTATION, draw_background_spans=spanned, on_disturbance_p=p,
        )  # fmt: skip

    rng = np.random.default_rng(0)
    early, late = int(200e-6 * RATE), int(1.5e-3 * RATE)
    riding = [source(1.0).draw(rng, n, 1).events[0].onset for _ in range(200)]
    assert all(transient[0] - early <= o <= transient[0] + late for o in riding)
    free = [source(0.0).draw(rng, n, 1).events[0].onset for _ in range(200)]
    outside = [o for o in free if not transient[0] - early <= o <= transient[0] + late]
    assert len(outside) > 100  # without the spans' pull, bursts land anywhere


def test_randomised_machine_adds_machine_noise_and_riding_bursts_randomised_does_not() -> None:
    from aemon.train.data import MixSource

    plain, machine = build_sources(["randomised", "randomised-machine"], small_config(),
                                   NO_AUGMENTATION)  # fmt: skip
    assert isinstance(plain, MixSource) and isinstance(machine, MixSource)
    assert plain.name == "randomised" and plain.draw_background_spans is None
    assert machine.name == "randomised-machine" and machine.draw_background_spans is not None
    window = machine.draw(np.random.default_rng(1), 4096, 1)
    assert window.signal.shape == (1, 4096) and np.all(np.isfinite(window.signal))
