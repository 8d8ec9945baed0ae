"""The package's import graph: no cycles, and no stage imports a stage above it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "aemon"

LAYERS: dict[str, int] = {
    "": 0,  # aemon/__init__.py
    "_lazy": 0,
    "errors": 0,
    "types": 0,
    "utc": 0,
    "onnx_sessions": 0,  # the one ONNX Runtime session factory (imports onnxruntime lazily)
    "dsp": 1,
    "sim": 2,
    "events": 3,
    "io": 4,
    "stream": 5,
    "detect": 6,
    "drivers": 7,
    "reanalysis": 7,  # aemon reanalyse's Dask engine: runs detect's offline path in chunks
    "monitor": 8,
    "train": 9,
    "site": 9,  # site learning (aemon adapt --background): detect + io + scikit-learn
    "similarity": 9,
    "denoise": 6,  # STFT + ONNX Runtime inference; imports io (readers, writer) and sim
    "gpu": 10,  # the torch backend: rebuilds networks with train's builder
    "gui": 11,
    "commands": 12,
    "cli": 13,
    "__main__": 14,
}
"""Each top-level part of ``aemon`` and its layer: a module may import only its own part and
parts with a lower number (see docs/architecture.md)."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every ``aemon`` module ``path`` imports, at any depth (function-level imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "aemon")
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and node.module.split(".")[0] == "aemon"
        ):
            found.add(node.module)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for target in imports_of(path):
            while target not in modules and "." in target:  # "from aemon.x import name"
                target = target.rsplit(".", 1)[0]
            if target != name:
                targets.add(target)
        graph[name] = targets
    return graph


def part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_part_has_a_layer() -> None:
    unknown = {part(m) for m in import_graph()} - set(LAYERS)
    assert not unknown, f"give these parts of aemon a layer in LAYERS: {sorted(unknown)}"


def test_no_module_imports_a_higher_layer() -> None:
    upward = [
        f"{source} -> {target}"
        for source, targets in import_graph().items()
        for target in targets
        if LAYERS[part(target)] > LAYERS[part(source)]
    ]
    assert not upward, "upward imports:\n" + "\n".join(sorted(upward))


def test_import_graph_has_no_cycles() -> None:
    graph = import_graph()
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    cycles: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_layer_check_sees_a_planted_upward_import(tmp_path: Path) -> None:
    planted = tmp_path / "x.py"
    planted.write_text("def f():\n    from aemon.train.data import binary_map\n")
    assert imports_of(planted) == {"aemon.train.data"}


def test_no_module_is_longer_than_400_lines() -> None:
    long = [
        f"{p.relative_to(PACKAGE.parent)}: {n}"
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    ]
    assert not long, "split these modules (over 400 lines):\n" + "\n".join(long)
