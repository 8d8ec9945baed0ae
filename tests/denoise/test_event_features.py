"""Event features from the denoised waveform, with the raw ones kept beside them."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from aemon.denoise.denoiser import Denoiser
from aemon.denoise.event_features import (
    DENOISED_COLUMNS,
    FEATURE_FIELDS,
    RAW_PREFIX,
    event_on_waveform,
    event_span,
    read_denoised_csv,
    with_denoised_features,
    write_denoised_csv,
)
from aemon.denoise.mixing import DenoiseMixer
from aemon.events.hit import Detection, HitBuilder

FS = 1_562_500.0


def test_features_come_from_the_denoised_waveform_and_raw_ones_stay(tmp_path: Path) -> None:
    mixer = DenoiseMixer(8192)
    rng = np.random.default_rng(9)
    example = mixer.mix(rng, mixer.burst(rng), mixer.background(rng), 12.0, 3000)
    signal = example.noisy
    builder = HitBuilder(FS)
    detection = Detection(0, "burst", example.onset, example.end, 0.9)
    raw_event = builder.build(detection, signal[None, :], 0, detector="nn")
    span = event_span(raw_event, builder)
    assert span.start_sample <= example.onset and span.stop_sample == example.end

    def read(channel: int, start: int, count: int) -> np.ndarray:
        out = np.zeros(count)
        lo, hi = max(start, 0), min(start + count, signal.size)
        out[lo - start : hi - start] = signal[lo:hi]
        return out

    [(denoised, raw)] = with_denoised_features([raw_event], read, builder, Denoiser())
    assert raw == raw_event
    assert denoised.time_s == raw.time_s and denoised.score == raw.score
    assert denoised.duration_us == raw.duration_us  # the same span, another waveform
    assert denoised.energy_eu != raw.energy_eu  # the background's energy is gone
    clean = builder.build(detection, example.clean[None, :], 0, detector="nn")
    assert abs(denoised.energy_eu - clean.energy_eu) < abs(raw.energy_eu - clean.energy_eu)

    path = tmp_path / "events.csv"
    assert write_denoised_csv(path, [(denoised, raw)]) == 1
    with open(path, newline="", encoding="utf-8") as f:
        assert next(csv.reader(f)) == DENOISED_COLUMNS
    [row] = read_denoised_csv(path)
    for field in FEATURE_FIELDS:
        assert row[RAW_PREFIX + field] == pytest.approx(float(getattr(raw, field)), rel=1e-3)
    assert row["energy_eu"] == pytest.approx(denoised.energy_eu, rel=1e-5)


def test_measuring_an_event_on_its_own_waveform_gives_its_own_features() -> None:
    mixer = DenoiseMixer(4096)
    rng = np.random.default_rng(11)
    example = mixer.mix(rng, mixer.burst(rng), mixer.background(rng), 9.0, 1500)
    builder = HitBuilder(FS)
    detection = Detection(0, "burst", example.onset + 5, example.end, 0.9)
    raw = builder.build(detection, example.noisy[None, :], 0, detector="nn")
    same = event_on_waveform(builder, raw, example.noisy, 0)
    assert same == raw  # same span, same rule: nothing changes
    quiet = event_on_waveform(builder, raw, 0.5 * example.noisy, 0)
    assert quiet.amplitude_V == pytest.approx(0.5 * raw.amplitude_V)
    assert quiet.rise_time_us == raw.rise_time_us and quiet.sample_index == raw.sample_index
