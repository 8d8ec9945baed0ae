"""Spectrogram columns without Qt: levels, burst visibility, the contiguous double-written ring."""

from __future__ import annotations

import numpy as np
import pytest

from aemon.gui.spectrogram_model import (
    DB_MAX,
    DB_MIN,
    SpectrogramColumns,
    code_to_db,
    level_lut,
    quantise_db,
)

RATE = 1_562_500.0


def test_quantisation_round_trips_within_half_a_code() -> None:
    db = np.linspace(DB_MIN, DB_MAX, 1000)
    assert np.max(np.abs(code_to_db(quantise_db(db)) - db)) <= (DB_MAX - DB_MIN) / 255 / 2 + 1e-9
    assert quantise_db(np.array([-1e3, 1e3])).tolist() == [0, 255]


def test_level_lut_maps_levels_to_the_ends_of_the_colour_map() -> None:
    colours = np.stack([np.arange(256, dtype=np.uint8)] * 3, axis=1)
    lut = level_lut(colours, 20.0, 60.0)
    assert lut.shape == (256, 3)
    assert lut[quantise_db(np.array([10.0]))[0], 0] == 0
    assert lut[quantise_db(np.array([80.0]))[0], 0] == 255
    assert 100 < lut[quantise_db(np.array([40.0]))[0], 0] < 155
    with pytest.raises(ValueError, match="high > low"):
        level_lut(colours, 60.0, 20.0)


def test_a_short_tone_burst_lands_in_its_column_and_frequency_bin() -> None:
    spec = SpectrogramColumns(2, RATE, 1e-6, columns=50, column_s=0.01)
    n = spec.column_samples * 20
    rng = np.random.default_rng(0)
    block = rng.normal(0, 5, (2, n)).astype(np.float32)  # 5 µV noise
    t = np.arange(200) / RATE
    at = spec.column_samples * 12 + 1000  # a 128 µs, 150 kHz burst inside column 12
    block[1, at : at + 200] += 5000 * np.sin(2 * np.pi * 150e3 * t)  # 5 mV = 74 dBAE
    assert spec.push(0, block[:, : n // 2]) + spec.push(n // 2, block[:, n // 2 :]) == 20
    image = spec.image(1)
    assert image.shape == (50, spec.bins)
    column = 50 - 20 + 12  # visible image is oldest first, newest 20 columns at the end
    peak_col, peak_bin = np.unravel_index(np.argmax(image), image.shape)
    assert peak_col == column
    assert abs(spec.freqs_hz[peak_bin] - 150e3) < 2 * RATE / spec.nfft
    assert 60 < code_to_db(image[column, peak_bin]) < 80
    assert image[column + 1].max() < image[column].max() - 20
    assert np.abs(spec.envelope(1)[column]).max() == pytest.approx(5000e-6, rel=0.05)
    assert spec.newest_s == pytest.approx(0.2)


def test_visible_image_is_a_contiguous_view_of_the_ring_after_wrapping() -> None:
    spec = SpectrogramColumns(1, 10_000.0, 1e-6, columns=8, column_s=0.01, nfft=64)
    for k in range(30):  # each column 3.5 dB louder, so the order is visible
        spec.push(k * 100, (np.sin(np.arange(100)) * 1.5**k).astype(np.float32)[None, :])
    image = spec.image(0)
    assert image.base is not None and image.flags.c_contiguous
    levels = image.max(axis=1).astype(int)
    assert list(levels) == sorted(levels) and len(set(levels)) == 8  # oldest (quietest) first
    assert spec.columns_written == 30


def test_a_jump_in_the_feed_starts_a_fresh_column_and_leaves_the_gap_dark() -> None:
    spec = SpectrogramColumns(1, 10_000.0, 1e-3, columns=20, column_s=0.01, nfft=64)
    loud = np.sin(np.arange(500, dtype=np.float32))[None, :] * 1e3
    spec.push(0, loud)
    spec.push(1000, loud)  # 5 columns skipped
    image = spec.image(0)
    assert spec.newest_s == pytest.approx(0.15)
    assert image[-10:-5].max() == 0 and image[-5:].min() > 0
