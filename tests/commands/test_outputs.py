"""Atomic outputs: the real name appears only on success; partial results are named so."""

from __future__ import annotations

from pathlib import Path

import pytest

from aemon.commands._outputs import AtomicOutput, partial_path
from aemon.errors import ConfigError


def test_success_renames_and_failure_leaves_the_old_file(tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    out.write_text("old")
    with pytest.raises(ConfigError, match="--overwrite"):
        AtomicOutput(out, overwrite=False)
    with pytest.raises(RuntimeError), AtomicOutput(out, overwrite=True) as o:
        o.partial.write_text("half")
        raise RuntimeError("failed half-way")
    assert out.read_text() == "old" and not partial_path(out).exists()
    with AtomicOutput(out, overwrite=True) as o:
        assert out.read_text() == "old"  # the old file stays until the rename
        o.partial.write_text("new")
    assert out.read_text() == "new" and not o.partial.exists()


def test_interrupt_or_valuable_data_keep_the_partial_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run.h5"
    said = r"^interrupted; the incomplete result is kept as"
    with (
        pytest.raises(KeyboardInterrupt, match=said),
        AtomicOutput(out, overwrite=False, keep_on_interrupt=True) as o,
    ):
        o.partial.write_text("60 of 119 events")
        raise KeyboardInterrupt
    assert o.kept == tmp_path / "run.partial.h5" and not out.exists()
    assert capsys.readouterr().err == ""  # the CLI prints the exception's one line
    # a partial recording of a crashed run is not silently replaced
    with pytest.raises(ConfigError, match="interrupted run"):
        AtomicOutput(out, overwrite=False, protect_partial=True)
    with pytest.raises(OSError), AtomicOutput(out, overwrite=True, keep_if=lambda: True) as o:
        o.partial.write_text("samples")
        raise OSError("disk full")
    assert o.kept is not None and o.kept.read_text() == "samples"


def test_missing_directory_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mkdir -p"):
        AtomicOutput(tmp_path / "no" / "x.h5", overwrite=False)
    with pytest.raises(ConfigError, match="is a directory"):
        AtomicOutput(tmp_path, overwrite=True)
