"""The layers of fsnb import one way: a module may import its own layer or lower ones, even lazily or for typing.

Layers, lowest first (a module belongs to the most specific prefix listed):

0. foundation: errors, types, config, time helpers
1. definitions and the formats everybody shares: definitions, wire, reprs
2. parts: the registry, feature requests resolved against it, the online byte stores and their formats, the offline
   engines, the HTTP session
3. operations on a store's parts: serving (local and remote), writes, vectors, materialize, push, apply
4. the ``Store`` facade
5. apps: notebook, server, command line, examples, testing helpers, the package's public names

The only upward imports allowed are the facade's lazy delegations to the notebook layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "fsnb"

LAYERS: list[set[str]] = [
    {"fsnb.errors", "fsnb.types", "fsnb.config", "fsnb._time", "fsnb._deps"},
    {"fsnb.definitions", "fsnb.on_demand", "fsnb.wire", "fsnb._reprs"},
    {"fsnb.registry", "fsnb.requests", "fsnb.transforms", "fsnb.online", "fsnb.offline", "fsnb.http"},
    {
        "fsnb._parts",
        "fsnb.serving",
        "fsnb.ops",
        "fsnb.online.writes",
        "fsnb.online.vectors",
        "fsnb.materialize",
        "fsnb.push",
        "fsnb.registry.apply",
        "fsnb.served_log",
    },
    {"fsnb.store"},
    {
        "fsnb",
        "fsnb.notebook",
        "fsnb.server",
        "fsnb.commands",
        "fsnb.cli",
        "fsnb.examples",
        "fsnb.testing",
        "fsnb.deploy",
        "fsnb.feast_import",
        "fsnb.tuning",
        "fsnb.__main__",
    },
]

#: the facade's lazy delegations to the notebook layer, and nothing else
ALLOWED_UPWARD = {
    ("fsnb.store", "fsnb.notebook.reprs"),
    ("fsnb.store", "fsnb.notebook.profiler"),
    ("fsnb.store", "fsnb.notebook.explorer"),
    ("fsnb.store", "fsnb.notebook.parity"),
    ("fsnb.store", "fsnb.notebook.drift"),
}

#: the remote serving backend is chosen by name through the online backend table: no import edge, by design
SERVING_LEVEL = {"fsnb.serving.remote"}


def layer_of(module: str) -> int:
    best, best_len = -1, -1
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best_len:
                best, best_len = i, len(name)
    if best < 0:
        raise AssertionError(f"module {module} is in no layer: add it to LAYERS in {__file__}")
    return best


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path = PACKAGE) -> list[tuple[str, int]]:
    """Every fsnb module ``path`` imports (module level, inside functions, under TYPE_CHECKING), with its line."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "fsnb"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "fsnb":
                continue
            for a in node.names:  # `from fsnb.serving import read` imports the module fsnb.serving.read
                sub = f"{target}.{a.name}"
                is_module = (root.parent / (sub.replace(".", "/") + ".py")).exists()
                out.append((sub if is_module else target, node.lineno))
    return out


def upward_imports(root: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        src = module_name(path, root)
        for target, line in imports_of(path, root):
            if layer_of(target) > layer_of(src) and (src, target) not in ALLOWED_UPWARD:
                found.append(f"{path.relative_to(root.parent)}:{line}: {src} (layer {layer_of(src)}) imports "
                             f"{target} (layer {layer_of(target)})")
    return found


def test_every_import_points_down_or_sideways() -> None:
    assert upward_imports() == []


def test_every_module_has_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        layer_of(module_name(path))


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    pkg = tmp_path / "fsnb"
    (pkg / "online").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "online" / "__init__.py").write_text("")
    (pkg / "online" / "bad.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "def f():\n    from fsnb.serving.read import read\n"
        "if TYPE_CHECKING:\n    from fsnb.store import Store\n"
    )
    found = upward_imports(pkg)
    assert len(found) == 2, found
    assert "fsnb.online.bad (layer 2) imports fsnb.serving.read (layer 3)" in found[0]
    assert "imports fsnb.store (layer 4)" in found[1]


@pytest.mark.parametrize("word", ['type == "remote"', "type == 'remote'", 'type == "redis"', 'type == "sqlite"'])
def test_no_module_branches_on_an_online_backend_name(word: str) -> None:
    hits = [str(p.relative_to(PACKAGE.parent)) for p in PACKAGE.rglob("*.py") if word in p.read_text()]
    assert hits == []
