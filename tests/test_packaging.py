"""The package data in ``pyproject.toml`` ships every file of the shipped models, so that a
wheel install can run, adapt (``model.pt``) and describe them like a checkout."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_shipped_model_file_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["aemon"]
    models = ROOT / "aemon" / "models"
    shipped = [
        path.relative_to(ROOT / "aemon").as_posix()
        for path in models.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.name != "checkpoint.pt"
    ]
    assert any(name.endswith("/model.pt") for name in shipped)
    missing = [name for name in shipped if not any(fnmatch.fnmatch(name, pat) for pat in patterns)]
    assert missing == [], f"not in [tool.setuptools.package-data]: {missing}"
