"""The shipped U-Net denoiser through ONNX Runtime (no torch)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aemon.denoise.denoiser import (
    CARD_NAME,
    DEFAULT_DENOISER,
    MIN_SAMPLES,
    MODEL_NAME,
    Denoiser,
    resolve_denoiser,
)
from aemon.denoise.mixing import DenoiseMixer, scale_to_snr
from aemon.errors import FileFormatError
from aemon.sim.bursts import make_burst


@pytest.fixture(scope="module")
def denoiser() -> Denoiser:
    return Denoiser()


def _snr_db(clean: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(clean**2) / np.sum((estimate - clean) ** 2)))


def test_shipped_model_is_small_and_has_its_card() -> None:
    card = json.loads((DEFAULT_DENOISER / CARD_NAME).read_text())
    assert (DEFAULT_DENOISER / MODEL_NAME).stat().st_size < 5_000_000
    assert "aemon" in card["command"] and "train-denoiser" in card["command"]
    assert card["onnx_parity_max_abs"] < 1e-4
    assert {"rows", "reduction_vs_bandpass_6_12_db_pct"} <= set(card["evaluation"])


def test_denoising_raises_the_snr_of_simulator_bursts(denoiser: Denoiser) -> None:
    mixer = DenoiseMixer(2048)
    rng = np.random.default_rng(123)
    gains = []
    for _ in range(8):
        example = mixer.mix(rng, mixer.burst(rng), mixer.background(rng), 10.0, 600)
        out = denoiser.denoise_block(example.noisy)
        assert out.shape == example.noisy.shape
        gains.append(_snr_db(example.clean, out) - _snr_db(example.clean, example.noisy))
    assert np.median(gains) > 3.0


def test_long_signals_are_denoised_in_blocks_without_seams(denoiser: Denoiser) -> None:
    x = np.random.default_rng(4).standard_normal(70_000)
    whole = denoiser.denoise(x)
    assert whole.shape == x.shape and np.isfinite(whole).all()
    # Noise only: the mask closes, so the output is far quieter than the input everywhere,
    # also around the block join at 65536.
    join = slice(65_000, 66_000)
    assert np.std(whole[join]) < 0.5 * np.std(x[join])
    short = x[: MIN_SAMPLES - 1]
    np.testing.assert_array_equal(denoiser.denoise(short), short)


def test_a_missing_denoiser_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="aemon train-denoiser"):
        resolve_denoiser(tmp_path / "nothing")
    assert resolve_denoiser(None) == DEFAULT_DENOISER
    assert resolve_denoiser(DEFAULT_DENOISER.name) == DEFAULT_DENOISER


def test_high_snr_bursts_keep_their_energy_through_the_snr_floor(denoiser: Denoiser) -> None:
    bare = Denoiser(snr_floor=False)
    floored, masked = [], []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        for burst_type in (0, 1):
            burst = make_burst(rng, burst_type, 1_562_500.0)
            noise = rng.standard_normal(2048)
            clean = np.zeros(2048)
            clean[600 : 600 + burst.size] = scale_to_snr(burst, noise, 30.0)[: 2048 - 600]
            span = slice(600, 600 + burst.size)
            energy = float(np.sum(clean[span] ** 2))
            for out, got in ((floored, denoiser), (masked, bare)):
                out.append(np.sum(got.denoise_block(clean + noise)[span] ** 2) / energy - 1.0)
    # The bare mask takes 1-6 % off a 30 dB burst; through the floor each keeps its energy
    # within 3 %, and the floor (which only raises the gain) gives back a clear share of it.
    assert max(abs(e) for e in floored) < 0.03
    assert np.median(masked) < np.median(floored) - 0.01
