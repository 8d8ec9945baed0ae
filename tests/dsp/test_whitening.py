"""Tests of the adaptive pre-whitener (aemon.dsp.whitening)."""

from __future__ import annotations

import itertools
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import signal as sps

from aemon.dsp.whitening import (
    PreWhitener,
    spectral_flatness,
    support_band,
    whiten_window,
)

FS = 1_562_500.0
N = 1 << 17


def _probe(name: str, rng: np.random.Generator, n: int = N) -> np.ndarray:
    white = rng.standard_normal(n)
    if name == "white":
        x = white
    elif name == "ar_bandpass":
        x = sps.lfilter([1.0], [1.0, -0.6], white)
        x = sps.sosfilt(sps.butter(4, [20e3, 700e3], "bandpass", fs=FS, output="sos"), x)
    elif name == "bandpass":
        x = sps.sosfilt(sps.butter(4, [50e3, 300e3], "bandpass", fs=FS, output="sos"), white)
    else:  # 1/f
        spec = np.fft.rfft(white)
        k = np.arange(spec.size, dtype=float)
        k[0] = 1.0
        x = np.fft.irfft(spec / np.sqrt(k), n)
    return (x / x.std()).astype(np.float32)


@pytest.mark.parametrize("name", ["white", "ar_bandpass", "bandpass", "pink"])
def test_whitening_flattens(name: str) -> None:
    x = _probe(name, np.random.default_rng(1))
    y = whiten_window(x)
    band = support_band(x, FS)
    before = spectral_flatness(x, FS, band)
    after = spectral_flatness(y[N // 2 :], FS, band)
    assert after > 0.8
    if name != "white":
        assert before < 0.5
    assert 0.8 < float(np.std(y[N // 2 :])) < 1.25  # unit prediction-error power


def test_block_cuts_do_not_matter() -> None:
    rng = np.random.default_rng(2)
    x = np.stack([_probe("ar_bandpass", rng, 40_000), 3 * _probe("pink", rng, 40_000)])
    x[1, 9000:9100] = np.nan
    x[0, 20_000:20_300] += 30 * np.sin(np.arange(300) * 0.6).astype(np.float32)
    whole = PreWhitener(2, hop=1024).process(x)
    for seed in range(3):
        cuts = np.sort(np.random.default_rng(seed).integers(0, x.shape[1], 25))
        w = PreWhitener(2, hop=1024)
        parts = [w.process(p) for p in np.split(x, cuts, axis=1)]
        assert np.array_equal(np.concatenate(parts, axis=1), whole)


def test_numba_matches_numpy() -> None:
    rng = np.random.default_rng(3)
    x = np.stack([_probe("bandpass", rng, 30_000), _probe("white", rng, 30_000)])
    x[0, 7000:7050] = np.nan
    x[1, 15_000:15_400] *= 20  # freezes a hop
    fast, slow = PreWhitener(2, hop=1024), PreWhitener(2, hop=1024, use_numba=False)
    cuts = [0, 333, 5000, 5001, 17_000, 30_000]
    for a, b in itertools.pairwise(cuts):
        np.testing.assert_allclose(fast.process(x[:, a:b]), slow.process(x[:, a:b]), atol=1e-5)
    np.testing.assert_allclose(fast.coefficients, slow.coefficients, rtol=1e-6, atol=1e-9)


def test_window_equals_stream_and_reset() -> None:
    x = np.stack([_probe("pink", np.random.default_rng(c), 32_768) for c in range(2)])
    w = PreWhitener(2)
    w.process(np.ones((2, 5000), np.float32))
    w.reset()
    live = np.concatenate([w.process(x[:, :1000]), w.process(x[:, 1000:])], axis=1)
    assert np.array_equal(whiten_window(x), live)
    assert np.array_equal(whiten_window(x[0]), live[0])
    assert np.array_equal(whiten_window(x, preroll=500), live[:, 500:])


def test_startup_and_missing_samples() -> None:
    x = _probe("ar_bandpass", np.random.default_rng(4), 20_000)[None].copy()
    x[0, 8192 + 100 : 8192 + 200] = np.nan  # inside the hop 8192..12288
    w = PreWhitener(1, hop=4096)
    y = w.process(x[:, :8192])
    assert np.all(y[0, : 4096 // 16] == 0)  # no coefficients before the first segment ends
    assert np.all(np.isfinite(y)) and np.std(y[0, 4096:]) > 0.5
    r_before = w._r.copy()
    y2 = w.process(x[:, 8192:12_288])
    assert np.all(y2[0, 100:200] == 0) and np.all(np.isfinite(y2))
    assert np.array_equal(w._r, r_before)  # the hop with gaps did not adapt
    w.process(x[:, 12_288:16_384])
    assert not np.array_equal(w._r, r_before)


def test_freeze_during_event_and_recovery_after_step() -> None:
    rng = np.random.default_rng(5)
    x = _probe("ar_bandpass", rng, 1 << 16)[None].copy()
    w = PreWhitener(1, hop=1024, max_frozen=4)
    w.process(x[:, : 1 << 15])
    r_before = w._r.copy()
    burst = 40 * np.sin(2 * np.pi * 150e3 / FS * np.arange(1024)) * np.exp(-np.arange(1024) / 300)
    w.process((x[:, 1 << 15 : (1 << 15) + 1024] + burst).astype(np.float32))
    assert np.array_equal(w._r, r_before)  # loud hop: frozen
    step = 10 * x[:, (1 << 15) + 1024 :]  # permanent +20 dB: re-acquired after 4 frozen hops
    y = w.process(step)
    assert 0.7 < float(np.std(y[0, -8192:])) < 1.4


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        PreWhitener(1, order=16, hop=100)
    with pytest.raises(ValueError):
        PreWhitener(1).process(np.zeros((2, 10), np.float32))
    silent = PreWhitener(1).process(np.zeros((1, 10_000), np.float32))
    assert np.all(silent == 0)


def test_a_pickled_whitener_runs_the_compiled_kernel_of_the_process_that_loads_it(
    tmp_path: Path,
) -> None:
    # a numba dispatcher pickled by value becomes a new function in another process and
    # compiles afresh there (5 s of CPU per chunk task that gets a state from another worker)
    rng = np.random.default_rng(3)
    whitener = PreWhitener(2, order=8, hop=256)
    whitener.process(rng.standard_normal((2, 5000)))
    state = tmp_path / "whitener.pkl"
    state.write_bytes(pickle.dumps(whitener))
    block = rng.standard_normal((2, 3000))
    np.save(tmp_path / "block.npy", block)
    script = (
        "import pickle, sys, numpy as np\n"
        "from aemon.dsp import whitening\n"
        f"w = pickle.loads(open({str(state)!r}, 'rb').read())\n"
        "assert w._kernel is whitening._whiten_numba, w._kernel\n"
        f"block = np.load({str(tmp_path / 'block.npy')!r})\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, w.process(block))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), whitener.process(block))
