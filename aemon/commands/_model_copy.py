"""A copy of a model directory for ``calibrate --out`` and ``adapt``: written under
``DIR.partial`` and renamed once complete, without the source's site files."""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from aemon.detect.calibration import CALIBRATION_FILE
from aemon.detect.model_card import read_model_card, write_model_card
from aemon.detect.site_classifier import SITE_CLASSIFIER_FILE
from aemon.errors import ConfigError

logger = logging.getLogger(__name__)

SITE_FILES = frozenset({CALIBRATION_FILE, SITE_CLASSIFIER_FILE})
"""Files that belong to one site: a copy starts without them."""


def check_new_model_directory(out: Path) -> None:
    """Refuse an ``--out`` that exists and is not an empty directory.

    Raises:
        ConfigError: One line naming it.
    """
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} exists and is not empty; choose a new --out")


def partial_model_copy(source: Path, out: Path, **card_changes: Any) -> Path:
    """Copy the model in ``source`` to ``OUT.partial`` (replacing one left over), without its
    site files, with its card named after ``out`` and ``card_changes`` applied; returns the
    partial directory. :func:`publish_model` renames it to ``out``."""
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial, ignore=lambda _d, names: [n for n in names if n in SITE_FILES])
    card = replace(read_model_card(source), name=out.name, **card_changes)
    write_model_card(card, partial)
    return partial


def publish_model(partial: Path, out: Path) -> None:
    """Rename a complete partial model directory to ``out`` (an empty ``out`` is replaced)."""
    if out.exists():
        out.rmdir()  # checked empty by the command
    partial.rename(out)
