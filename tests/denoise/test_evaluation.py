"""The denoising benchmark's table (bench/bench_denoise.py) on a handful of bursts."""

from __future__ import annotations

import math

import numpy as np

from aemon.denoise.denoiser import Denoiser
from aemon.denoise.evaluation import (
    METHODS,
    collect,
    evaluate,
    format_table,
    improvement,
    summarise,
)


def test_every_method_gets_a_row_per_snr_and_filters_gain() -> None:
    rows = evaluate(Denoiser(), snrs_db=(6.0, 20.0), examples=4)
    assert [(r.snr_db, r.method) for r in rows] == [(s, m) for s in (6.0, 20.0) for m in METHODS]
    by = {(r.snr_db, r.method): r for r in rows}
    assert all(by[s, "noisy"].snr_gain_db == 0.0 for s in (6.0, 20.0))
    assert by[6.0, "bandpass"].snr_gain_db > 0 and by[6.0, "unet"].snr_gain_db > 0
    assert by[6.0, "noisy"].energy_error_pct > by[20.0, "noisy"].energy_error_pct
    table = format_table(rows)
    assert len(table.splitlines()) == 1 + len(rows) and "unet" in table
    assert all(math.isfinite(v) for v in improvement(rows, (6.0,)).values())


def test_percentiles_of_the_same_examples_are_ordered() -> None:
    results = collect(Denoiser(), snrs_db=(9.0,), examples=5)
    assert {m for _, m in results} == set(METHODS)
    assert all(v.shape == (5, 4) for v in results.values())
    median = {r.method: r for r in summarise(results)}
    upper = {r.method: r for r in summarise(results, 75.0)}
    for method in METHODS:
        assert upper[method].rise_time_error_us >= median[method].rise_time_error_us
        assert upper[method].energy_error_pct >= median[method].energy_error_pct
    assert median["unet"].energy_error_pct == round(float(np.median(results[9.0, "unet"][:, 3])), 3)


def test_the_ideal_mask_bounds_the_network() -> None:
    results = collect(Denoiser(), snrs_db=(6.0,), examples=6, oracle=True)
    rows = {r.method: r for r in summarise(results)}
    assert set(rows) == {*METHODS, "oracle"}
    assert rows["oracle"].snr_gain_db > rows["unet"].snr_gain_db > rows["bandpass"].snr_gain_db
    assert improvement(list(rows.values()), (6.0,), method="oracle")["energy_error_pct"] > 0
