"""Machine noise of the randomised training backgrounds: shapes, spans and band scaling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from aemon.sim.machine_noise import (
    add_fretting,
    add_friction,
    add_impact_trains,
    hydraulic_noise,
    impact_ring,
    level_swing,
)
from aemon.sim.randomised_background import (
    BACKGROUND_FAMILIES,
    MACHINE_FAMILIES,
    draw_background,
)

FS = 1_562_500.0


@pytest.mark.parametrize("fs", [FS, 192_000.0])
def test_impact_ring_has_unit_peak_and_decays_to_minus_40_db(fs: float) -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        ring = impact_ring(rng, fs)
        assert np.max(np.abs(ring)) == pytest.approx(1.0)
        assert abs(ring[-1]) >= 0.01 > 0.0  # cut at the last sample above -40 dB
        assert np.all(np.isfinite(ring))


def test_impact_ring_modes_give_several_spectral_peaks() -> None:
    rng = np.random.default_rng(5)
    counts = []
    for _ in range(30):
        ring = impact_ring(rng, FS, modes=4)
        spectrum = np.abs(np.fft.rfft(ring, 1 << 15))
        peaks, _ = sps.find_peaks(spectrum, prominence=0.2 * spectrum.max())
        counts.append(peaks.size)
    assert max(counts) >= 2  # a multi-mode ring-down, not one tone


def test_impact_trains_are_periodic_and_every_impact_is_a_span() -> None:
    rng = np.random.default_rng(7)
    out = np.zeros(200_000)
    spans: list[tuple[int, int]] = []
    add_impact_trains(rng, out, FS, spans)
    assert len(spans) >= 5
    onsets = np.array(sorted({a for a, _ in spans}))
    covered = np.zeros(out.size, bool)
    for a, b in spans:
        covered[a:b] = True
    assert np.all(out[~covered] == 0.0)  # nothing drawn outside a span
    assert np.all(np.diff(onsets) > 0)


def test_hydraulic_noise_is_low_pass_and_louder_than_the_floor() -> None:
    rng = np.random.default_rng(11)
    spans: list[tuple[int, int]] = []
    flow = hydraulic_noise(rng, 1 << 16, FS, spans)
    rms = float(np.sqrt(np.mean(flow**2)))
    assert rms >= 10 ** (6 / 20) * 0.5  # 6-30 dB over a unit floor, load cycle aside
    f, pxx = sps.welch(flow, FS, nperseg=4096)
    assert pxx[f > 300e3].sum() < 0.05 * pxx.sum()


def test_fretting_episodes_are_spans_with_click_trains() -> None:
    rng = np.random.default_rng(13)
    out = np.zeros(100_000)
    spans: list[tuple[int, int]] = []
    add_fretting(rng, out, FS, spans)
    assert 1 <= len(spans) <= 3
    for a, b in spans:
        assert np.max(np.abs(out[a:b])) > 0.5


def test_friction_episodes_are_long_emergent_spans_up_to_400_khz() -> None:
    rng = np.random.default_rng(23)
    high = 0
    for _ in range(40):
        out = np.zeros(200_000)
        spans: list[tuple[int, int]] = []
        add_friction(rng, out, FS, spans)
        assert 1 <= len(spans) <= 3
        for a, b in spans:
            assert b - a >= int(2e-3 * FS) or a == 0 or b == out.size  # clipped at the ends
        a, b = max(spans, key=lambda s: s[1] - s[0])
        episode = out[a:b]
        if b - a < int(2e-3 * FS) or a == 0 or b == out.size:
            continue
        # emergent: the first 2 % of the episode is far quieter than its loudest part
        head = np.sqrt(np.mean(episode[: max(8, episode.size // 50)] ** 2))
        assert head < 0.5 * np.max(np.abs(episode))
        f, pxx = sps.welch(episode, FS, nperseg=1024)
        centroid = float(np.sum(f * pxx) / np.sum(pxx))
        assert 15e3 < centroid < 450e3
        high += centroid > 150e3
    assert high >= 3  # unlike the randomised rubbing (15-80 kHz), some ride high in the band


@pytest.mark.parametrize("fs", [48_000.0, 192_000.0, 5e6])
def test_friction_scales_its_band_with_the_rate(fs: float) -> None:
    rng = np.random.default_rng(29)
    for _ in range(20):
        out = np.zeros(int(0.2 * fs))
        spans: list[tuple[int, int]] = []
        add_friction(rng, out, fs, spans)
        assert spans and np.all(np.isfinite(out))
        f, pxx = sps.welch(out, fs, nperseg=256)
        centroid = float(np.sum(f * pxx) / np.sum(pxx))
        assert centroid <= 1.25 * 400e3 * min(1.0, fs / FS)  # the 400 kHz top, band-scaled


def test_friction_draws_only_with_machine_noise_and_leaves_the_other_draws_alone() -> None:
    rubbed = 0
    for seed in range(40):
        plain = draw_background(np.random.default_rng(seed), 8192, FS, machine_noise=False)
        ignored = draw_background(np.random.default_rng(seed), 8192, FS, False, friction=True)
        np.testing.assert_array_equal(plain.signal, ignored.signal)
        machine = draw_background(np.random.default_rng(seed), 8192, FS, machine_noise=True)
        friction = draw_background(np.random.default_rng(seed), 8192, FS, True, friction=True)
        if "rubbing" in machine.families:
            rubbed += 1
            assert not np.array_equal(machine.signal, friction.signal)
            continue
        np.testing.assert_array_equal(machine.signal, friction.signal)
    assert rubbed > 0


def test_level_swing_changes_level_by_3_to_20_db() -> None:
    rng = np.random.default_rng(17)
    for _ in range(20):
        gain = level_swing(rng, 1000)
        change = abs(20 * np.log10(gain[-1] / gain[0]))
        assert 3.0 <= change <= 20.0


@pytest.mark.parametrize("machine_noise", [False, True])
def test_machine_families_only_with_machine_noise_and_they_carry_spans(machine_noise: bool) -> None:
    rng = np.random.default_rng(19)
    seen: dict[str, int] = {}
    with_spans: dict[str, int] = {}
    for _ in range(600):
        bg = draw_background(rng, 8192, FS, machine_noise=machine_noise)
        primary = bg.families[0]
        seen[primary] = seen.get(primary, 0) + 1
        with_spans[primary] = with_spans.get(primary, 0) + bool(bg.disturbances)
        assert np.all(np.isfinite(bg.signal))
    expected = set(BACKGROUND_FAMILIES) | (set(MACHINE_FAMILIES) if machine_noise else set())
    assert set(seen) == expected  # the shipped models' draws never hold the new families
    # impacts and fretting episodes always reach into the window (a slow impact train or a
    # Poisson count of cavitation pops may not)
    for family in ("impacts", *(("fretting",) if machine_noise else ())):
        assert with_spans[family] == seen[family]
