"""What ``aemon adapt`` prints and writes: the guard's scores, the refusal, the new model
directory (written under ``DIR.partial`` and renamed once complete)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from aemon.commands._model_copy import partial_model_copy, publish_model
from aemon.detect.model_card import read_model_card
from aemon.detect.onnx_runtime import default_model_path, resolve_model
from aemon.errors import ConfigError
from aemon.io.file_readers import open_block_reader
from aemon.site.guard import Verdict
from aemon.site.learning import SiteLearning

logger = logging.getLogger(__name__)

SITE_ADVICE = (
    "record the machine alone for at least 10 s before any damage, and 10-20 pencil-lead "
    "breaks on the specimen, with the same sensor and gain"
)
FINE_TUNE_ADVICE = "give --background with a recording of the machine alone to learn the site"


def default_model(recording: Path) -> Path:
    """The shipped model for the rate of ``recording``, as ``aemon detect`` picks it."""
    reader = open_block_reader(recording)
    try:
        return default_model_path(reader.format.sample_rate_hz)
    finally:
        reader.close()


def print_verdict(verdict: Verdict) -> None:
    """Both detectors' scores, on the held-back site data and on the independent slice."""
    print("guard: held-back site data | independent slice")
    print(f"  old: {verdict.site_old.text()} | {verdict.slice_old.text()}")
    print(f"  new: {verdict.site_new.text()} | {verdict.slice_new.text()}")


def print_sources(summary: dict[str, Any]) -> None:
    """Each candidate source's site F1 (held back and out of fold) and the guard's word; ``*``
    marks the one written."""
    written = summary["candidates"] if summary["guard"]["kept"] else None
    for name, tried in summary["candidates_tried"].items():
        print(f"  {'*' if name == written else ' '} candidates {name}: held-back F1 "
              f"{tried['site_f1_held_back']:.2f}, out of fold {tried['site_f1_out_of_fold']:.2f};"
              f" {tried['guard']}")  # fmt: skip


def refuse(verdict: Verdict, *, site: bool) -> int:
    """Keep the old model: one line (what was found, what to record instead), exit 2."""
    advice = SITE_ADVICE if site else FINE_TUNE_ADVICE
    raise ConfigError(f"kept the old model and wrote nothing: the new detector {verdict.reason}; "
                      f"{advice}")  # fmt: skip


def write_site_model(model: str | Path, out: Path, learnt: SiteLearning, command: str) -> None:
    """A copy of ``model`` with the site classifier and a card saying how it was learnt."""
    source = resolve_model(model)[0].parent
    card = read_model_card(source)
    training = {**card.training, "site": {"started_from": card.name, **learnt.summary}}
    partial = partial_model_copy(
        source,
        out,
        training=training,
        reproduce=command,
        created_utc=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    learnt.classifier.write(partial)
    publish_model(partial, out)
