"""Lazy re-exports for subpackage ``__init__`` modules.

A subpackage lists its public API in ``__all__`` and maps each name to the module that defines
it; the module is imported on first attribute access (PEP 562). ``import aemon.detect.options``
then stays cheap, while ``from aemon.detect import ProbabilityMapStream`` still works.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``package + "." + exports[name]`` on demand.

    Args:
        package: The subpackage's ``__name__``.
        exports: Public name → defining module, relative to ``package``.
    """

    def __getattr__(name: str) -> Any:  # noqa: N807 (the PEP 562 hook's name)
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__
