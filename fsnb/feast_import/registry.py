"""Read a Feast feature repo's registry (file or SQL) into fsnb's own protobuf messages; no Feast install needed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fsnb.errors import ConfigError

__all__ = ["FeastRepo", "read_feast_repo"]

#: SQL registry tables and the column holding each row's protobuf (Feast's ``sql`` registry schema).
_SQL_TABLES = {
    "entities": ("entities", "entity_proto"),
    "data_sources": ("data_sources", "data_source_proto"),
    "feature_views": ("feature_views", "feature_view_proto"),
    "stream_feature_views": ("stream_feature_views", "feature_view_proto"),
    "on_demand_feature_views": ("on_demand_feature_views", "feature_view_proto"),
    "feature_services": ("feature_services", "feature_service_proto"),
    "label_views": ("label_views", "feature_view_proto"),
}


@dataclass
class FeastRepo:
    """A Feast repo's project, its parsed ``feature_store.yaml`` and its registry (a ``Registry`` message)."""

    path: Path
    project: str
    config: dict[str, Any]
    registry: Any
    registry_location: str
    notes: list[str] = field(default_factory=list)


def read_feast_repo(path: str | Path) -> FeastRepo:
    """``path`` is a Feast repo (holding ``feature_store.yaml``) or a ``registry.db`` file itself."""
    p = Path(path)
    if p.is_file() and p.name != "feature_store.yaml":
        return FeastRepo(p.parent, "", {}, _read_file_registry(p), str(p))
    yaml_path = p if p.is_file() else p / "feature_store.yaml"
    if not yaml_path.exists():
        raise ConfigError(f"{yaml_path}: no feature_store.yaml; pass a Feast feature repo or its registry.db file")
    try:
        config = yaml.safe_load(yaml_path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{yaml_path}: not valid YAML ({e}); fix the file and run again") from None
    repo = yaml_path.parent
    project = str(config.get("project") or "")
    reg = config.get("registry", "data/registry.db")
    reg = {"path": reg} if isinstance(reg, str) else dict(reg or {})
    kind = str(reg.get("registry_type") or reg.get("type") or "file")
    location = str(reg.get("path") or "data/registry.db")
    if kind == "sql":
        registry = _read_sql_registry(location, project)
    elif kind == "file":
        if "://" in location:
            raise ConfigError(f"{yaml_path}: registry {location!r} is not a local file; copy it next to the repo "
                              "and pass that registry.db to `fsnb import-feast`")
        file = Path(location) if Path(location).is_absolute() else repo / location
        registry = _read_file_registry(file)
        location = str(file)
    else:
        raise ConfigError(f"{yaml_path}: registry_type {kind!r} is not supported; export it to a file registry "
                          "(registry.db) or use a SQL registry")
    return FeastRepo(repo, project, config, registry, location)


def _read_file_registry(path: Path) -> Any:
    from google.protobuf.message import DecodeError

    from fsnb.feast_import.feast_registry_pb2 import Registry

    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the Feast registry ({e.strerror}); run `feast apply` first") from None
    registry = Registry()
    try:
        registry.ParseFromString(data)
    except DecodeError:
        raise ConfigError(f"{path}: not a Feast registry (the protobuf does not parse); pass the registry.db "
                          "that `feast apply` wrote") from None
    if data and not (registry.entities or registry.feature_views or registry.registry_schema_version
                     or registry.projects or registry.data_sources):
        raise ConfigError(f"{path}: not a Feast registry (no entities, views or version); pass the registry.db "
                          "that `feast apply` wrote")
    return registry


def _read_sql_registry(url: str, project: str) -> Any:
    import sqlalchemy as sa
    from google.protobuf.message import DecodeError

    from fsnb.feast_import import feast_registry_pb2 as pb

    registry = pb.Registry()
    kinds = {"entities": pb.Entity, "data_sources": pb.DataSource, "feature_views": pb.FeatureView,
             "stream_feature_views": pb.StreamFeatureView, "on_demand_feature_views": pb.OnDemandFeatureView,
             "feature_services": pb.FeatureService, "label_views": pb.LabelView}
    engine = sa.create_engine(url)
    where = f"{url.split('://')[0]} registry"
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            if "feature_views" not in tables and "entities" not in tables:
                raise ConfigError(f"{where} at {_redact(url)}: no Feast registry tables; run `feast apply` first")
            for attr, (table, column) in _SQL_TABLES.items():
                if table not in tables:
                    continue
                sql = f"SELECT {column} FROM {table}" + (" WHERE project_id = :p" if project else "")
                for (blob,) in conn.execute(sa.text(sql), {"p": project} if project else {}):
                    msg = kinds[attr]()
                    try:
                        msg.ParseFromString(bytes(blob))
                    except DecodeError:
                        raise ConfigError(f"{where} at {_redact(url)}: a row of {table} is not a Feast "
                                          "protobuf") from None
                    getattr(registry, attr).append(msg)
    except sa.exc.SQLAlchemyError as e:
        raise ConfigError(f"{where} at {_redact(url)}: cannot read ({type(e).__name__}: {e.args[0]})") from None
    finally:
        engine.dispose()
    return registry


def _redact(url: str) -> str:
    from fsnb.config import redact_url

    return redact_url(url)
