"""The command-line contract (docs/cli.md), walked command by command with bad input.

Every bad input or environment problem ends with exactly one line ``aemon: error: WHAT; do
THIS`` on stderr and exit status 2, and leaves existing files as they were.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import zmq

from aemon.cli import build_parser, main

ERROR_LINE = re.compile(r"^aemon: error: [^\n]+; [^\n]+$")


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    """Run ``aemon argv``; assert exit 2 and one error line holding ``needles``; return it."""
    with pytest.raises(SystemExit) as exited:
        status = main(argv)
        raise SystemExit(status)
    assert exited.value.code == 2, argv
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("aemon: error:")]
    assert len(lines) == 1, (argv, lines)
    assert ERROR_LINE.match(lines[0]), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def precious(tmp_path: Path) -> Callable[[str], Path]:
    """Existing files the commands must not touch."""

    def make(name: str) -> Path:
        path = tmp_path / name
        path.write_text("time_s,precious\n1,2\n" * 21)
        return path

    return make


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_no_command_and_unknown_options(capsys: pytest.CaptureFixture[str]) -> None:
    _fails(capsys, [], "no COMMAND given")
    _fails(capsys, ["nosuch"], "invalid choice", "aemon --help")
    # an unknown option is reported with the subcommand's help, not the top-level usage
    _fails(capsys, ["info", "x.h5", "--bogus"], "unrecognized arguments: --bogus", "aemon info")
    _fails(capsys, ["sim", "--duration", "ten", "-o", "x.h5"], "invalid float", "aemon sim")


def test_sim(capsys: pytest.CaptureFixture[str], tmp_path: Path, precious) -> None:
    out = str(tmp_path / "s.h5")
    _fails(capsys, ["sim", "--duration", "-1", "-o", out], "--duration -1", "--duration 10")
    _fails(capsys, ["sim", "--duration", "1", "--burst-rate", "-2", "-o", out], "--burst-rate")
    _fails(capsys, ["sim", "--duration", "1", "--burst-rate", "1e6", "-o", out], "--burst-rate")
    line = _fails(capsys, ["sim", "--duration", "1", "--coincident", "2", "-o", out])
    assert "--coincident" in line and "coincident_fraction" not in line
    _fails(capsys, ["sim", "--duration", "1", "-o", str(tmp_path / "no" / "x.h5")], "mkdir -p")
    old = precious("old.h5")
    _fails(capsys, ["sim", "--duration", "0.01", "-o", str(old)], "--overwrite")
    assert old.read_text().startswith("time_s,precious")
    assert main(["sim", "--duration", "0.01", "-o", str(old), "--overwrite"]) == 0
    assert not old.read_text(errors="replace").startswith("time_s,precious")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.h5"]  # no temporary left


def test_daq_sim(capsys: pytest.CaptureFixture[str], tmp_path: Path, precious) -> None:
    _fails(capsys, ["daq-sim", "--channels", "0"], "--channels 0")
    _fails(capsys, ["daq-sim", "--duration", "0"], "--duration 0")
    truth = precious("truth.csv")
    _fails(capsys, ["daq-sim", "--truth", str(truth)], "--overwrite")
    assert build_parser().parse_args(["daq-sim"]).channels is None  # 1, as everywhere
    with zmq.Context() as ctx, ctx.socket(zmq.PULL) as busy:
        port = busy.bind_to_random_port("tcp://127.0.0.1")
        endpoint = f"tcp://127.0.0.1:{port}"
        _fails(capsys, ["daq-sim", "--endpoint", endpoint], "in use", "--endpoint")


def test_record(capsys: pytest.CaptureFixture[str], tmp_path: Path, precious) -> None:
    out = str(tmp_path / "r.h5")
    for bad in ("0", "-1"):
        _fails(capsys, ["record", "x.h5", "-o", out, "--ring-seconds", bad], "--ring-seconds")
    _fails(capsys, ["record", "x.h5", "-o", out, "--duration", "0"], "--duration 0")
    _fails(capsys, ["record", "x.h5", "-o", out, "--idle-timeout", "-1"], "--idle-timeout")
    old = precious("old.h5")
    _fails(capsys, ["record", "x.h5", "-o", str(old)], "already exists", "--overwrite")
    assert old.read_text().startswith("time_s,precious")


def test_monitor(capsys: pytest.CaptureFixture[str], tmp_path: Path, precious) -> None:
    src = str(tmp_path / "none.h5")
    _fails(capsys, ["monitor", src, "--x-noise", "4"], "--x-noise", "--detector threshold")
    _fails(capsys, ["monitor", src, "--threshold-db", "40"], "--threshold-db", "cascade")
    thr = ["monitor", src, "--detector", "threshold"]
    _fails(capsys, [*thr, "--probability", "0.5"], "--probability", "--detector nn or cascade")
    _fails(capsys, [*thr, "--threshold", "45", "--threshold-db", "40"], "give only --threshold-db")
    _fails(capsys, ["monitor", src, "--threshold", "0.5", "--probability", "0.4"], "only --prob")
    _fails(capsys, ["monitor", src, "--probability", "1.5"], "--probability 1.5", "0 to 1")
    _fails(capsys, ["monitor", src, "--threshold", "7"], "--threshold 7", "0 to 1")
    csv = precious("ev.csv")
    _fails(capsys, ["monitor", src, "--csv", str(csv)], "already exists", "--overwrite")
    assert csv.read_text().startswith("time_s,precious")


def test_monitor_with_a_bad_model_leaves_no_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sim = tmp_path / "sim.h5"
    assert main(["sim", "--duration", "0.05", "-o", str(sim)]) == 0
    out, csv = tmp_path / "m.h5", tmp_path / "m.csv"
    argv = ["monitor", str(sim), "-o", str(out), "--csv", str(csv), "--events-endpoint", "none"]
    _fails(capsys, [*argv, "--model", str(tmp_path / "nomodel")], "no detector model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim.h5"]  # a rerun is not refused


def test_demo_refuses_an_existing_out_at_once_and_starts_no_child(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, precious
) -> None:
    old = precious("demo.h5")
    started = time.monotonic()
    _fails(capsys, ["demo", "--headless", "-o", str(old)], "already exists", "--overwrite")
    assert time.monotonic() - started < 5.0
    found = subprocess.run(["pgrep", "-f", f"daq-sim.*{tmp_path}"], capture_output=True)
    assert found.stdout == b""
    assert old.read_text().startswith("time_s,precious")


def test_detect_failures_keep_the_old_csv(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, precious
) -> None:
    sim = tmp_path / "sim.h5"
    assert main(["sim", "--duration", "0.05", "-o", str(sim)]) == 0
    old = precious("ev.csv")
    before = _digest(old)
    _fails(capsys, ["detect", str(sim), "-o", str(old)], "already exists", "--overwrite")
    base = ["detect", str(sim), "-o", str(old), "--overwrite", "--no-progress"]
    _fails(capsys, [*base, "--threshold", "7"], "--threshold 7")
    _fails(capsys, [*base, "--model", str(tmp_path / "nomodel")], "no detector model")
    _fails(capsys, [*base, "--x-noise", "3"], "--x-noise has no effect with --detector nn")
    _fails(capsys, [*base, "--detector", "threshold", "--probability", "0.5"], "--probability")
    _fails(capsys, ["detect", str(tmp_path / "missing.h5")], "no such file")
    assert _digest(old) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev.csv", "sim.h5"]


def test_score(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    events = tmp_path / "ev.csv"
    from aemon.io.event_csv import write_event_csv

    write_event_csv(events, [])
    truth = tmp_path / "truth.csv"
    truth.write_text("sample_index,type\n1000,low\n")
    _fails(capsys, ["score", str(events), str(truth), "--rate", "-5"], "--rate -5")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _fails(capsys, ["score", str(events), str(empty)], "is empty", "sample_index")
    _fails(capsys, ["score", str(events), str(tmp_path / "nope.csv")], "no such file")
    # one channel needs no channel column; no events scores F1 0, not nan
    assert main(["score", str(events), str(truth), "--rate", "1e6", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"f1": 0.0' in out and '"recall": 0.0' in out and '"true_bursts": 1' in out


def test_info_devices_train_evaluate(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _fails(capsys, ["info", str(tmp_path / "none.h5")])
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    _fails(capsys, ["info", str(text)])
    assert main(["devices", "--json"]) == 0
    assert capsys.readouterr().out.strip().startswith("[")
    model = tmp_path / "model"
    model.mkdir()
    (model / "notes.txt").write_text("mine")
    _fails(capsys, ["train", "aemon-rt", "-o", str(model)], "--resume", "--overwrite")
    _fails(capsys, ["train", "aemon-rt", "-o", str(tmp_path / "m2"), "--epochs", "0"], "--epochs")
    _fails(capsys, ["evaluate", str(model), "--windows", "0"], "--windows 0")
    (model / "model.onnx").write_bytes(b"corrupt")
    _fails(capsys, ["evaluate", str(model)], "cannot load model", "retrain")


@pytest.mark.parametrize("command", sorted(build_parser()._subparsers._group_actions[0].choices))  # type: ignore[union-attr]
def test_every_help_ends_with_an_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    examples = text[text.rindex("examples:") :]
    assert f"aemon {command}" in examples
    # every argument says what it is for: help on the same line or indented on the next
    lines = text.splitlines()
    for line, following in zip(lines, [*lines[1:], ""], strict=True):
        if re.match(r"^  -{1,2}[a-z]", line) and "  " not in line.strip():
            assert following.startswith(" " * 8), f"{command}: option without help: {line!r}"


def test_stop_signals_set_the_event_and_a_second_one_interrupts() -> None:
    from aemon.commands._live import stop_on_signals

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with stop_on_signals() as stop:
            os.kill(os.getpid(), signum)
            time.sleep(0.05)
            assert stop.is_set()
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signum)
                time.sleep(0.05)


def test_detect_interrupted_keeps_a_named_partial_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = tmp_path / "sim.h5"
    assert main(["sim", "--duration", "4", "-o", str(sim)]) == 0  # detection outlasts Ctrl-C
    warm = tmp_path / "warm.h5"  # a first run imports and compiles everything: Ctrl-C then
    assert main(["sim", "--duration", "0.2", "-o", str(warm)]) == 0  # lands in detection, not
    assert main(["detect", str(warm), "-o", str(tmp_path / "warm.csv")]) == 0  # an import
    out = tmp_path / "ev.csv"
    out.write_text("old contents\n")
    partial = tmp_path / "ev.partial.csv"
    main_thread = threading.main_thread().ident
    assert main_thread is not None

    def press_ctrl_c_once_writing() -> None:
        deadline = time.monotonic() + 30
        while not partial.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.3)  # the writer is open and detection is under way (4 s of signal)
        signal.pthread_kill(main_thread, signal.SIGINT)

    watcher = threading.Thread(target=press_ctrl_c_once_writing)
    watcher.start()
    try:
        status = main(["detect", str(sim), "-o", str(out), "--overwrite", "--provider", "cpu"])
    finally:
        watcher.join()
    assert status == 130
    assert out.read_text() == "old contents\n"
    assert partial.read_text().startswith("time_s,")
    err = capsys.readouterr().err
    assert "interrupted; the incomplete result is kept as" in err and "ev.partial.csv" in err
    said = [line for line in err.splitlines() if line.startswith("aemon:")]
    assert len(said) == 1, err  # one line, not a second "aemon: interrupted"


def test_detect_without_a_terminal_shows_plain_progress_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = tmp_path / "sim.h5"
    assert main(["sim", "--duration", "0.05", "-o", str(sim)]) == 0
    assert main(["detect", str(sim), "--detector", "threshold"]) == 0
    captured = capsys.readouterr()
    assert "detect: 100%" in captured.err and "\r" not in captured.err
    assert " events in " in captured.out and (tmp_path / "sim.h5.events.csv").exists()


def test_a_command_line_registers_only_its_command() -> None:
    def commands(parser: argparse.ArgumentParser) -> set[str]:
        return set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]

    everything = commands(build_parser())
    assert {"detect", "sim", "monitor"} <= everything
    assert commands(build_parser(["-v", "detect", "x.h5"])) == {"detect"}
    assert commands(build_parser(["no-such-command"])) == everything  # its error lists them


def test_the_detect_path_does_not_import_slow_modules() -> None:
    """scipy.signal / scipy.optimize cost about a second each at startup of `aemon detect`."""
    code = (
        "import sys, aemon.cli as cli\n"
        "cli.build_parser(['detect'])\n"
        "import aemon.detect.offline, aemon.dsp.preprocess, aemon.events.grouping\n"
        "print(sorted(m for m in ('scipy.signal', 'scipy.optimize', 'sklearn', 'torch') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_help_text_shows_rest_markup() -> None:
    parser = build_parser()
    (commands,) = (
        a for a in parser._subparsers._group_actions if isinstance(a, argparse._SubParsersAction)
    )
    assert len(commands.choices) > 20
    for name, sub in commands.choices.items():
        text = sub.format_help()
        markup = re.findall(r"``|:(?:class|func|meth|mod|data|attr):`|\*\*\w|\S::$", text, re.M)
        assert markup == [], f"aemon {name} --help: {markup}"


def test_every_sample_file_a_help_text_names_exists() -> None:
    root = Path(__file__).parents[1]
    parser = build_parser()
    (commands,) = (
        a for a in parser._subparsers._group_actions if isinstance(a, argparse._SubParsersAction)
    )
    named = {
        (name, found)
        for name, sub in commands.choices.items()
        for found in re.findall(r"recordings/[\w.-]+", sub.format_help())
    }
    assert ("import", "recordings/sim-1m5-hits.tradb") in named
    assert [(n, f) for n, f in sorted(named) if not (root / f).is_file()] == []
