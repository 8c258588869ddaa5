"""``fsnb import-feast``: a Feast feature repo's registry (file or SQL) → an fsnb repo, without installing Feast.

Feast's registry is read with fsnb's own protobuf messages (``feast_registry.proto``, field numbers as in Feast's
published schema; ``feast_registry_pb2.py`` is generated from it by ``scripts/gen_feast_protos.sh`` and committed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ImportResult", "import_feast"]


@dataclass
class ImportResult:
    """What :func:`import_feast` wrote, and what it could not translate (one line per item, with the reason)."""

    out: Path
    files: list[Path]
    report: list[str]


def import_feast(path: str | Path, out: str | Path, *, force: bool = False) -> ImportResult:
    """Write ``definitions.py``, ``fsnb.yaml`` and ``FEAST_IMPORT.md`` (the report) into ``out``."""
    from fsnb.errors import ConfigError
    from fsnb.feast_import.registry import read_feast_repo
    from fsnb.feast_import.translate import translate

    repo = read_feast_repo(path)
    result = translate(repo.registry, repo.project, repo.config, repo.path, Path(out))
    target = Path(out)
    files = [target / "definitions.py", target / "fsnb.yaml", target / "FEAST_IMPORT.md"]
    existing = [f for f in files if f.exists()]
    if existing and not force:
        raise ConfigError(f"{existing[0]} exists; pass --force to overwrite, or choose another --out folder")
    target.mkdir(parents=True, exist_ok=True)
    files[0].write_text(result.definitions)
    files[1].write_text(result.config)
    notes = result.report or ["Everything was translated."]
    files[2].write_text(f"# Imported from Feast\n\nRegistry: `{repo.registry_location}`\n\n"
                        + "\n".join(f"- {n}" for n in notes) + "\n")
    return ImportResult(target, files, result.report)
