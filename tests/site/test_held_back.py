"""The guard's held-back background: stretches spread over the recording, each with a lead-in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aemon.site.held_back import LEAD_IN_S, STRETCH_S, split_background
from aemon.site.learning import SiteOptions, learn_site
from tests.detect_models import energy_model
from tests.site.site_data import NOISE_RMS_V, RATE, machine, with_bursts, write_wav

SLOW_RATE = 10_000.0


def test_a_long_background_is_held_back_in_every_part() -> None:
    x = np.arange(int(10 * STRETCH_S * SLOW_RATE), dtype=np.float64)
    learn, held = split_background(x, 0.3, SLOW_RATE)
    assert len(learn) == len(held) == 10
    scored = np.concatenate([h.signal[h.lead_in :] for h in held])
    assert scored.size == pytest.approx(0.3 * x.size, rel=0.01)
    # learnt and scored stretches tile the recording, in time order, without overlap
    assert np.array_equal(np.sort(np.concatenate([*learn, scored])), x)
    for h, after in zip(held, learn[1:], strict=False):
        assert h.signal[-1] + 1 == after[0]
    # each part of the recording has its own held-back stretch, led in by what came before
    for k, h in enumerate(held):
        first = h.signal[h.lead_in]
        assert k * STRETCH_S * SLOW_RATE <= first < (k + 1) * STRETCH_S * SLOW_RATE
        assert h.lead_in == int(LEAD_IN_S * SLOW_RATE)
        assert np.array_equal(h.signal, np.arange(h.signal[0], h.signal[-1] + 1))


def test_a_short_background_is_held_back_at_its_end() -> None:
    x = np.arange(int(0.8 * STRETCH_S * SLOW_RATE), dtype=np.float64)
    learn, held = split_background(x, 0.25, SLOW_RATE)
    assert len(learn) == len(held) == 1
    assert held[0].signal[-1] == x[-1]
    assert held[0].signal.size - held[0].lead_in == pytest.approx(0.25 * x.size, abs=1)


@pytest.mark.slow
def test_the_guard_hears_what_the_machine_did_early_in_the_background(tmp_path: Path) -> None:
    """A machine that falls quiet half-way: its noise must reach the guard's held-back
    background (a held-back tail alone would hold only the quiet end, with no false alarm)."""
    rng = np.random.default_rng(3)
    energy_model(tmp_path / "energy", window=4096)
    seconds = 2 * STRETCH_S
    knocking = machine(rng, seconds / 2)  # flow noise and knocks, both taken for bursts
    quiet = rng.standard_normal(int(seconds / 2 * RATE)) * NOISE_RMS_V  # then a white floor
    background = write_wav(tmp_path / "bg.wav", np.concatenate([knocking, quiet]))
    checked, _ = with_bursts(rng, machine(rng, seconds / 2), 16, (35.0, 45.0))
    plb = write_wav(tmp_path / "plb.wav", np.concatenate([checked, quiet]))
    options = SiteOptions(candidates=((0.3, None),), generator_s=0.0, trees=20, fa_per_min=600)
    learnt = learn_site(tmp_path / "energy", [plb], [background], options)
    old = learnt.verdict.site_old
    assert old.alarms > 10  # the first half, which the plain energy model takes for bursts
    assert learnt.summary["background_s_train_held_out"][1] == pytest.approx(0.3 * seconds, 0.02)
