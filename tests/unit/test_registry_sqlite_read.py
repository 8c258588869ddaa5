"""The SQLite registry is read with the standard library's ``sqlite3`` (no SQLAlchemy): the same snapshot as the
SQLAlchemy path, the same version checks, and a fallback to SQLAlchemy (which creates the tables) when the file or
its tables do not exist yet."""

from __future__ import annotations

from pathlib import Path

import pytest

from fsnb.definitions import Entity, FeatureService, FeatureView, Field, ParquetSource
from fsnb.errors import RegistryError
from fsnb.registry import registry as registry_module
from fsnb.registry.registry import KIND_TABLE_NAMES, Registry
from fsnb.registry.tables import KIND_TABLES
from fsnb.types import Float64, Int64


def _objects(extra: int = 0) -> list[object]:
    customer = Entity(name="customer", join_keys=["customer_id"])
    fields = [Field("customer_id", Int64), Field("score", Float64)] + [Field(f"x{i}", Int64) for i in range(extra)]
    view = FeatureView(name="scores", entities=[customer], source=ParquetSource(path="data/s.parquet"),
                       schema=fields)
    return [customer, view, FeatureService(name="svc", features=[view])]


def test_table_names_match_the_sqlalchemy_tables() -> None:
    assert {kind: table.name for kind, table in KIND_TABLES.items()} == KIND_TABLE_NAMES


def test_snapshots_and_versions_match_the_sqlalchemy_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = str(tmp_path / "registry.db")
    writer = Registry(url, project="p", cache_ttl_seconds=0)
    writer.apply_objects(_objects())  # type: ignore[arg-type]
    reader = Registry(url, project="p", cache_ttl_seconds=0)
    fast = reader.current_specs()
    assert reader._sqlite_conn is not None and reader._engine_ is None  # read without an engine
    snap = reader.snapshot()
    assert sorted(snap.feature_views) == ["scores"] and snap.version == fast[0] == 1
    writer.apply_objects(_objects(extra=1))  # type: ignore[arg-type]
    assert reader.version() == 2
    assert [f.name for f in reader.snapshot().feature_views["scores"].schema][-1] == "x0"
    monkeypatch.setattr(registry_module, "_sqlite_file", lambda url: None)
    slow = Registry(url, project="p", cache_ttl_seconds=0)
    assert slow._sqlite_file is None
    assert slow.current_specs() == reader.current_specs()
    reader.close()
    writer.close()
    slow.close()


def test_a_new_file_is_created_through_sqlalchemy(tmp_path: Path) -> None:
    reg = Registry(str(tmp_path / "sub" / "new.db"), project="p")
    assert reg.version() == 0 and reg.snapshot().feature_views == {}
    assert (tmp_path / "sub" / "new.db").exists()
    reg.close()


def test_an_unreadable_file_is_a_registry_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database" * 100)
    reg = Registry(str(path), project="p")
    with pytest.raises(RegistryError, match=r"garbage\.db"):
        reg.version()
    reg.close()
