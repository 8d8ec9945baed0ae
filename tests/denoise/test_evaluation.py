"""The denoising benchmark's table (bench/bench_denoise.py) on a handful of bursts."""

from __future__ import annotations

import math

from aemon.denoise.denoiser import Denoiser
from aemon.denoise.evaluation import METHODS, evaluate, format_table, improvement


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
