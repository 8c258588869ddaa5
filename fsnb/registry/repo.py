"""Load the definitions of a feature repo folder: every ``*.py`` in it not starting with ``_``.

Module-level Entity, data source, FeatureView, OnDemandFeatureView and FeatureService objects are collected. Files
of the repo may import each other (``from entities import customer``); the same object seen in several modules
counts once.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType

from fsnb.definitions import DataSource, Entity, FeatureService, FeatureView
from fsnb.errors import DefinitionError
from fsnb.on_demand import OnDemandFeatureView
from fsnb.registry.plan import KIND_LABELS

__all__ = ["definition_files", "load_definitions"]

Definition = Entity | DataSource | FeatureView | FeatureService | OnDemandFeatureView
_TYPES = (Entity, DataSource, FeatureView, FeatureService, OnDemandFeatureView)
_ORDER = {"entity": 0, "source": 1, "feature_view": 2, "on_demand_feature_view": 3, "feature_service": 4}


def definition_files(repo_path: str | os.PathLike[str]) -> list[Path]:
    """The Python files whose module-level definitions make up the repo, sorted by name."""
    repo = Path(repo_path)
    return sorted(p for p in repo.glob("*.py") if p.is_file() and not p.name.startswith(("_", ".")))


def load_definitions(repo_path: str | os.PathLike[str]) -> list[Definition]:
    """Import the repo's definition files and return their definitions: entities, sources, views, services.

    Raises :class:`~fsnb.errors.DefinitionError` naming the file (and line) when a file fails to import, and
    when two different definitions of one kind share a name.
    """
    repo = Path(repo_path).resolve()
    if not repo.is_dir():
        raise DefinitionError(f"feature repo {repo} is not a folder")
    files = definition_files(repo)
    _forget_modules(repo)
    found: dict[tuple[str, str], tuple[Definition, Path]] = {}
    sys.path.insert(0, str(repo))
    try:
        for file in files:
            module = _import(file, repo)
            for attr, value in list(vars(module).items()):
                if attr.startswith("_") or not isinstance(value, _TYPES):
                    continue
                key = (value.kind, value.name)
                seen = found.get(key)
                if seen is None:
                    found[key] = (value, file)
                elif seen[0] is not value and seen[0] != value:
                    raise DefinitionError(
                        f"two different {KIND_LABELS[value.kind]} definitions are named {value.name!r}: in "
                        f"{seen[1].name} and in {file.name} ({attr}); names must be unique within a kind"
                    )
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(repo))
    objs = [obj for obj, _ in found.values()]
    objs.sort(key=lambda o: (_ORDER[o.kind], o.name))
    return objs


def _forget_modules(repo: Path) -> None:
    """Drop modules loaded from this repo before, so edited files are read again."""
    for name, mod in list(sys.modules.items()):
        f = getattr(mod, "__file__", None)
        if f and Path(f).parent == repo:
            del sys.modules[name]


def _import(file: Path, repo: Path) -> ModuleType:
    name = file.stem
    existing = sys.modules.get(name)
    if existing is not None:
        f = getattr(existing, "__file__", None)
        if f and Path(f).resolve() == file.resolve():
            return existing  # imported by an earlier file of this repo
        name = f"_fsnb_repo_{abs(hash(str(repo))):x}_{file.stem}"  # the name is taken by another module
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise DefinitionError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SystemExit as e:  # sys.exit() in a definitions file would end `fsnb apply` silently, applying nothing
        del sys.modules[name]
        raise DefinitionError(
            f"{file.name} called sys.exit({e.code!r}) while being loaded; definitions files must only define "
            "objects: remove the exit (or move the script part under `if __name__ == '__main__':`)"
        ) from None
    except Exception as e:
        del sys.modules[name]
        where = file.name
        for frame in reversed(traceback.extract_tb(e.__traceback__)):
            if frame.filename and Path(frame.filename).parent == repo:
                where = f"{Path(frame.filename).name}:{frame.lineno}"
                break
        detail = str(e) if isinstance(e, DefinitionError) else f"{type(e).__name__}: {e}"
        raise DefinitionError(f"{where}: {detail}") from e
    return module
