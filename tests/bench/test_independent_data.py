"""The independent generator: backgrounds, bursts, files with truth."""

from __future__ import annotations

import itertools

import h5py
import numpy as np
import pytest
from independent import (
    FAMILIES,
    SNR_BANDS,
    background,
    envelope,
    make_burst,
    noise_only_layout,
    read_truth_csv,
    render_file,
    render_noise_only,
    render_parts,
    render_plb_check,
    write_pair,
)
from independent.bursts import END_LEVEL, MAX_BURST_S, RISE_TIME_S
from independent.dataset import MIN_SPACING_S, PLB_SNR_DB

FS = 1_562_500.0


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_has_unit_rms_and_is_deterministic(family):
    x = background(family, np.random.default_rng(3), 150_000, FS)
    assert x.dtype == np.float32 and x.shape == (150_000,)
    assert np.all(np.isfinite(x))
    assert np.sqrt(np.mean(x.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-4)
    np.testing.assert_array_equal(x, background(family, np.random.default_rng(3), 150_000, FS))


def test_resonant_sensor_is_quantised():
    x = background("resonant_sensor", np.random.default_rng(1), 100_000, FS).astype(np.float64)
    levels = np.unique(x)
    step = np.min(np.diff(levels))
    assert len(levels) < 60
    np.testing.assert_allclose(levels / step, np.round(levels / step), atol=1e-3)


def test_unknown_family_names_the_known_ones():
    with pytest.raises(KeyError, match="ar_bandpass"):
        background("brown", np.random.default_rng(0), 10, FS)


def test_bursts_follow_the_truth_rule():
    rng = np.random.default_rng(11)
    for _ in range(12):
        b = make_burst(rng, FS)
        assert np.max(np.abs(b.waveform)) == pytest.approx(1.0)
        env = envelope(b.waveform)
        level = END_LEVEL * np.max(env)
        assert env[b.onset] >= level and np.all(env[: b.onset] < level)
        assert np.all(env[b.end :] < level) and env[b.end - 1] >= level
        assert b.onset < b.peak < b.end
        assert RISE_TIME_S[0] * 1e6 <= b.rise_time_us <= RISE_TIME_S[1] * 1e6
        assert (b.end - b.onset) / FS <= MAX_BURST_S
        assert b.source in ("plb", "crack") and b.sensor in ("resonant", "wideband")


def test_snr_rule_and_truth_order():
    parts = render_parts("white", "mid", seed=4, duration_s=0.6)
    truth = parts.truth
    assert len(truth) >= 5
    noise_rms = np.sqrt(np.mean(parts.background.astype(np.float64) ** 2))
    assert noise_rms == pytest.approx(1e-3, rel=1e-4)
    lo, hi = SNR_BANDS["mid"]
    for t in truth:
        assert lo <= t.snr_db <= hi
        peak = np.max(np.abs(parts.bursts[t.onset_sample : t.end_sample]))
        assert 20 * np.log10(peak / noise_rms) == pytest.approx(t.snr_db, abs=0.01)
    onsets = np.array([t.onset_sample for t in truth])
    assert np.all(np.diff(onsets) >= round(MIN_SPACING_S * FS))
    for a, b in itertools.pairwise(truth):
        assert a.onset_sample < a.end_sample <= b.onset_sample
    assert truth[-1].end_sample <= parts.bursts.size
    # outside the truth spans the bursts are below -40 dB of their peaks
    signal, truth2 = render_file("white", "mid", seed=4, duration_s=0.6)
    assert truth2 == truth
    np.testing.assert_array_equal(signal, parts.background + parts.bursts)


def test_families_of_one_seed_share_their_bursts():
    a = render_parts("hum", "high", seed=2, duration_s=0.3)
    b = render_parts("rubbing", "high", seed=2, duration_s=0.3)
    assert a.truth == b.truth
    np.testing.assert_array_equal(a.bursts, b.bursts)
    assert not np.array_equal(a.background, b.background)


def test_noise_only_has_no_truth_and_holds_hard_negatives():
    noise = render_noise_only(seed=1, duration_s=3.2)  # segments last at most 3 s
    assert noise.truth == []
    assert noise.signal.dtype == np.float32 and noise.signal.size == round(3.2 * FS)
    assert all(noise.counts[k] >= 0 for k in ("spike", "rub", "impact", "level_step"))
    assert noise.counts["spike"] > 0 and noise.counts["level_step"] >= 1


def test_another_recording_of_a_noise_only_machine_keeps_its_segments_not_its_noise():
    scored = render_noise_only(seed=1, duration_s=4.0)
    layout = noise_only_layout(scored)
    again = render_noise_only(seed=2, duration_s=4.0, layout=layout)
    assert again.segments == scored.segments  # families, spans and level steps
    assert not np.array_equal(again.signal, scored.signal)
    assert again.negatives != scored.negatives  # its own spikes, rubs and impacts
    drawn = render_noise_only(seed=2, duration_s=4.0)
    assert [f for f, *_ in drawn.segments] != [f for f, *_ in scored.segments]
    longer = render_noise_only(seed=3, duration_s=9.0, layout=layout)  # the layout repeats
    assert [f for f, *_ in longer.segments][: len(layout)] == [f for f, *_ in layout]
    assert longer.segments[-1][2] == round(9.0 * FS)


def test_files_round_trip(tmp_path):
    signal, truth = render_file("machine", "high", seed=5, duration_s=0.3)
    h5, csv_path = write_pair(tmp_path, "m", signal, truth, FS, 1e-3)
    assert read_truth_csv(csv_path) == [
        (t.onset_sample, t.end_sample, pytest.approx(t.snr_db, abs=1e-3)) for t in truth
    ]
    header = csv_path.read_text(encoding="utf-8").splitlines()[0]
    assert header == "time_s,sample_index,channel,type,snr_db,end_sample,peak_amplitude_V"
    with h5py.File(h5, "r") as f:
        np.testing.assert_array_equal(f["raw"][0], signal)
        assert f.attrs["sample_rate_hz"] == FS
        assert list(f["truth"]["onset_sample"]) == [t.onset_sample for t in truth]
    noise = render_noise_only(seed=2, duration_s=0.2)
    h5, csv_path = write_pair(tmp_path, "n", noise.signal, noise.truth, FS, 1e-3)
    assert read_truth_csv(csv_path) == []
    with h5py.File(h5, "r") as f:
        assert f["truth"].shape == (0,)


def test_a_plb_check_holds_its_bursts_spread_out_at_their_level():
    bg = render_parts("machine", "mid", 5, 2.0).background
    signal, truth = render_plb_check(bg, 9, 12)
    assert len(truth) == 12 and signal.shape == bg.shape
    onsets = np.array([t.onset_sample for t in truth])
    assert np.all(np.diff(onsets) > 0.5 * bg.size / 13)  # spread over the file
    assert all(PLB_SNR_DB[0] <= t.snr_db <= PLB_SNR_DB[1] for t in truth)
    strongest = max(truth, key=lambda t: t.snr_db)
    added = (
        signal[strongest.onset_sample : strongest.end_sample]
        - bg[strongest.onset_sample : strongest.end_sample]
    )
    assert 20 * np.log10(np.max(np.abs(added)) / 1e-3) == pytest.approx(strongest.snr_db, abs=0.5)
    again, _ = render_plb_check(bg, 9, 12)
    np.testing.assert_array_equal(again, signal)
