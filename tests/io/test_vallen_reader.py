"""The one Vallen reader (:mod:`aemon.io.vallen`): detection, import and training read a tradb
through it and get the samples vallenae itself decodes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import vallenae.io as vio

from aemon.errors import FileFormatError
from aemon.io.vallen import iter_tradb_records, tradb_layout
from aemon.train.data_sources import read_waveforms
from tests.io.test_import_ import RATE, write_tradb

PACKAGE = Path(__file__).resolve().parents[2] / "aemon"


@pytest.mark.parametrize("tr_mv", [0.05, 0.0030517578125, 1.7])
def test_records_in_volts_are_what_vallenae_decodes(tmp_path: Path, tr_mv: float) -> None:
    path = tmp_path / "hits.tradb"
    counts = write_tradb(path, [(0.1, 1, 50, 400), (0.2, 2, 50, 300), (0.3, 3, 20, 500)], tr_mv)
    with vio.TraDatabase(str(path)) as db:
        theirs = [(r.time, r.channel, r.pretrigger, r.data) for r in db.iread()]
    ours = list(iter_tradb_records(path))
    assert [(r.time_s, r.channel, r.pretrigger) for r in ours] == [t[:3] for t in theirs]
    for record, their, raw in zip(ours, theirs, counts, strict=True):
        assert np.array_equal(record.counts, raw)
        assert record.volts().dtype == np.float32
        assert np.array_equal(record.volts(), their[3])  # bit for bit
    waves, rate = read_waveforms(path, 0.0)  # training
    assert rate == RATE == tradb_layout(path).sample_rate_hz
    for wave, their in zip(waves, theirs, strict=True):
        assert np.array_equal(wave, their[3].astype(np.float64))


def test_a_file_that_is_not_a_tradb_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tradb"
    bad.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(FileFormatError, match=r"bad\.tradb: cannot read as a Vallen tradb"):
        list(iter_tradb_records(bad))
    with pytest.raises(FileFormatError, match="no such file"):
        list(iter_tradb_records(tmp_path / "missing.tradb"))


def test_only_io_vallen_opens_vallen_files() -> None:
    opened = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if re.search(r"\b(TraDatabase|PriDatabase)\(", path.read_text(encoding="utf-8"))
    }
    assert opened == {"io/vallen.py"}
