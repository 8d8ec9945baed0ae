"""Screenshots of the window for the docs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

DOCS_IMG = Path(__file__).parents[2] / "docs" / "img"


def save_screenshot(widget: Any, tmp_path: Path, name: str) -> Path:
    """Save a PNG of ``widget``; also into docs/img when AEMON_SCREENSHOTS=1, and into the
    folder $AEMON_SHOT_DIR when set (to look at them)."""
    path = tmp_path / name
    assert widget.grab().save(str(path))
    assert path.stat().st_size > 10_000
    if os.environ.get("AEMON_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS_IMG / name)
    folder = os.environ.get("AEMON_SHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(folder) / name)
    return path
