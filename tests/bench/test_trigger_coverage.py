"""``bench/bench_trigger_coverage.py``: its helpers, and whitened triggers on a resonant sensor."""

from __future__ import annotations

import numpy as np
import pytest
from bench_trigger_coverage import coverage, main, parse_triggers

from aemon.detect.trigger_setting import Triggers


def test_settings_are_parsed_and_bad_ones_refused() -> None:
    assert parse_triggers("raw:3,whitened:2") == [Triggers(3.0, False), Triggers(2.0, True)]
    with pytest.raises(SystemExit, match="not raw:RATIO"):
        parse_triggers("loud:3")


def test_coverage_uses_the_matching_window() -> None:
    # 100 µs before to 250 µs after at 1.5625 MHz: -156 .. +390 samples
    assert coverage(np.array([1000 - 156, 5000 + 390]), [1000, 5000, 9000]) == pytest.approx(2 / 3)
    assert coverage(np.array([1000 - 157, 5000 + 391]), [1000, 5000]) == 0.0


def test_whitened_triggers_reach_a_resonant_sensors_weak_bursts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--families", "resonant_sensor", "--bands", "low"]) == 0
    row = capsys.readouterr().out.strip().splitlines()[-1]
    cells = [c.strip() for c in row.strip("|").split("|")]
    raw, whitened = (tuple(float(v) for v in c.split(" / ")) for c in cells[4:6])
    # more of the 3-10 dB bursts covered, with fewer candidates in the burst-free background
    assert whitened[0] > raw[0] + 0.1 and whitened[1] < raw[1] / 4
