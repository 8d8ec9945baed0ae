"""``aemon adapt --background``: site learning end to end, its guard and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aemon.cli import main
from aemon.detect.onnx_runtime import OnnxDetector
from aemon.detect.signal_detection import detect_signal
from aemon.site.guard import Scores, judge
from aemon.site.learning import RICHER_MARGIN
from tests.detect_models import energy_model
from tests.site.site_data import RATE, machine, with_bursts, write_wav

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A model that fires on every transient, the machine's background and a PLB check."""
    base = tmp_path_factory.mktemp("site")
    rng = np.random.default_rng(11)
    energy_model(base / "energy", window=4096)
    plb, _ = with_bursts(rng, machine(rng, 2.5), 16, (35.0, 45.0))
    test, onsets = with_bursts(rng, machine(rng, 1.0), 20, (12.0, 30.0))
    np.save(base / "test-onsets.npy", onsets)
    return {
        "model": base / "energy",
        "background": write_wav(base / "background.wav", machine(rng, 2.5)),
        "plb": write_wav(base / "plb.wav", plb),
        "test": write_wav(base / "test.wav", test),
        "test_onsets": base / "test-onsets.npy",
    }


def _f1(model: Path, recording: Path, onsets: list[int]) -> tuple[float, int]:
    from aemon.site.harvest import recording_volts
    from aemon.site.training_set import burst_matches

    x = recording_volts(recording, RATE)[0]
    found = detect_signal(OnnxDetector(model), x, RATE).events
    hit = burst_matches(np.array([e.sample_index for e in found]), onsets, RATE)
    return 2 * hit.sum() / (len(found) + len(onsets)), len(found) - int(hit.sum())


# About 275 s alone on one core, 215 s of it the boosted trees' out-of-fold fits for the three
# candidate sources (this machine proposes ~20000 candidates a minute); the suite's 300 s limit
# left too little room on a loaded machine.
@pytest.mark.timeout(600)
def test_site_learning_rejects_the_machines_impacts_and_keeps_the_bursts(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rig"
    argv = ["adapt", str(site["plb"]), "--background", str(site["background"])]
    argv += ["--fa-per-min", "600"]  # this machine makes ~20000 impacts a minute
    assert main([*argv, "--model", str(site["model"]), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "old:" in printed and "new:" in printed  # both scores, always
    card = json.loads((out / "model_card.json").read_text())
    assert card["name"] == "rig"
    learnt = card["training"]["site"]
    assert learnt["guard"]["kept"] is True
    assert learnt["harvest"]["bursts"] >= 8
    assert learnt["guard"]["site_new"]["f1"] > learnt["guard"]["site_old"]["f1"]
    assert "aemon adapt" in card["reproduce"] and "--background" in card["reproduce"]
    assert (out / "site_classifier.json").is_file()
    tried = learnt["candidates_tried"]
    # one classifier per source
    assert set(tried) == {"0.3", "0.1+sta/lta 3", "0.1+whitened sta/lta 2"}
    rank = {c: tried[c]["site_f1_out_of_fold"] - RICHER_MARGIN * i for i, c in enumerate(tried)}
    order = sorted(tried, key=lambda c: -rank[c])  # a richer source needs a margin
    chosen = learnt["candidates"]
    kept = [c for c in order if tried[c]["guard"] == "kept"]
    best = max(tried[c]["site_f1_held_back"] for c in kept)
    # the best held-back F1 of those the guard kept; a tie goes to the first ranked
    assert chosen == next(c for c in kept if tried[c]["site_f1_held_back"] == best)
    assert f"* candidates {chosen}: held-back F1" in printed  # the one written, marked
    assert printed.count(" candidates ") == len(tried)
    assert learnt["guard"]["site_new"]["f1"] == pytest.approx(
        tried[chosen]["site_f1_held_back"], abs=1e-4
    )
    onsets = [int(o) for o in np.load(site["test_onsets"])]
    old_f1, old_false = _f1(site["model"], site["test"], onsets)
    new_f1, new_false = _f1(out, site["test"], onsets)
    assert old_false > 50  # the plain model takes the impacts for bursts
    assert new_false < old_false / 5
    assert new_f1 > old_f1 + 0.2
    csv = tmp_path / "events.csv"
    assert main(["detect", str(site["test"]), "-o", str(csv), "--model", str(out)]) == 0


def test_bursts_only_in_the_background_leave_the_old_model(
    site: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "rig"
    argv = ["adapt", str(site["background"]), "--background", str(site["plb"])]
    argv += ["--model", str(site["model"]), "--out", str(out), "--no-progress"]
    assert main(argv) == 2
    assert not out.exists() and not out.with_name("rig.partial").exists()
    assert "burst-like events" in caplog.text


def test_a_white_noise_background_for_a_machine_is_refused(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    white = np.random.default_rng(5).standard_normal(int(3.0 * RATE)) * 1e-3
    background = write_wav(tmp_path / "white.wav", white)
    out = tmp_path / "rig"
    argv = ["adapt", str(site["plb"]), "--background", str(background)]
    assert main([*argv, "--model", str(site["model"]), "--out", str(out), "--no-progress"]) == 2
    assert not out.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not sound like the noise between the bursts" in err[0]


def test_nothing_harvested_is_one_line_and_no_model(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rig"
    argv = ["adapt", str(site["background"]), "--background", str(site["background"])]
    assert main([*argv, "--model", str(site["model"]), "--out", str(out), "--no-progress"]) == 2
    assert not out.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no isolated burst" in err[0]


def test_a_recording_at_another_rate_names_both_rates(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = write_wav(tmp_path / "slow.wav", np.zeros(48_000, np.float32), 48_000.0)
    argv = ["adapt", str(site["plb"]), "--background", str(slow), "--model", str(site["model"])]
    assert main([*argv, "--out", str(tmp_path / "rig"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "48000 Hz" in err and "1.5625e+06 Hz" in err


def _scores(f1: float, alarms: int = 0) -> Scores:
    return Scores(f1, f1, f1, alarms * 20.0, 10, alarms)  # 3 s of held-back background


def test_the_guard_keeps_only_a_detector_better_on_the_site_and_no_worse_elsewhere() -> None:
    assert judge(_scores(0.5), _scores(0.8), _scores(0.9), _scores(0.89)).keep
    worse_site = judge(_scores(0.8), _scores(0.8), _scores(0.9), _scores(0.9))
    assert not worse_site.keep and "not better on the held-back site" in worse_site.reason
    noisier = judge(_scores(0.5, 1), _scores(0.8, 5), _scores(0.9), _scores(0.9))
    assert not noisier.keep and "more false alarms" in noisier.reason
    assert judge(_scores(0.5, 0), _scores(0.8, 1), _scores(0.9), _scores(0.9)).keep  # chance
    forgot = judge(_scores(0.5), _scores(0.8), _scores(0.9), _scores(0.85))
    assert not forgot.keep and "independent check data" in forgot.reason
