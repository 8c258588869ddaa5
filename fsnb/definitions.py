"""Definitions: entities, fields, data sources, feature views and feature services.

They are plain immutable objects with value equality, checked when built. Each serialises to a JSON-ready
``to_dict()`` spec that the registry stores and :func:`from_spec` reads back.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar

from fsnb.errors import DefinitionError
from fsnb.types import DType, coerce_dtype, parse_dtype

__all__ = [
    "CsvSource",
    "DataSource",
    "DuckDBSource",
    "Entity",
    "FeatureService",
    "FeatureView",
    "FeatureViewProjection",
    "Field",
    "ParquetSource",
    "PushSource",
    "from_spec",
]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def _check_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise DefinitionError(
            f"{kind} name {name!r} is not valid: use letters, digits, '_' or '-', starting with a letter or '_'"
        )
    return name


def _tags(kind: str, name: str, tags: Mapping[str, str] | None) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise DefinitionError(f"{kind} {name!r}: tags must be a mapping of str to str")
    return {str(k): str(v) for k, v in sorted(tags.items())}


class _Definition:
    """Immutable base: value equality over ``to_dict()``, readable reprs."""

    kind: ClassVar[str] = ""
    __slots__ = ("_frozen",)

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, key: str, value: object) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError(f"{type(self).__name__} is immutable; build a new one instead")
        object.__setattr__(self, key, value)

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_dict() == self.to_dict()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, getattr(self, "name", None)))

    def _repr_rows(self) -> list[tuple[str, str]]:
        return [(k, _short(v)) for k, v in self.to_dict().items() if k != "kind" and v not in (None, {}, [], "")]

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self._repr_rows()
        )
        return f"<div><b>{type(self).__name__}</b><table>{rows}</table></div>"


def _short(value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[0], dict) and "name" in value[0]:
        return ", ".join(f"{v['name']}:{v.get('dtype', '')}".rstrip(":") for v in value)
    return str(value)


class Field(_Definition):
    """A named, typed column: ``Field("age", Int64)``."""

    kind = "field"
    __slots__ = ("name", "dtype", "description", "tags")
    name: str
    dtype: DType
    description: str
    tags: dict[str, str]

    def __init__(
        self, name: str, dtype: DType | str, *, description: str = "", tags: Mapping[str, str] | None = None
    ) -> None:
        self.name = _check_name("Field", name)
        try:
            self.dtype = coerce_dtype(dtype)
        except DefinitionError as e:
            raise DefinitionError(f"Field {name!r}: {e}") from None
        self.description = description
        self.tags = _tags("Field", name, tags)
        self._freeze()

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "dtype": self.dtype.name}
        if self.description:
            d["description"] = self.description
        if self.tags:
            d["tags"] = dict(self.tags)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Field:
        return cls(d["name"], d["dtype"], description=d.get("description", ""), tags=d.get("tags"))

    def __repr__(self) -> str:
        return f"Field({self.name!r}, {self.dtype.name})"


class Entity(_Definition):
    """What features describe: ``Entity("customer", join_keys={"customer_id": Int64})``.

    ``join_keys`` may be a list of names with one ``dtype`` for all (default Int64), or a mapping of name to dtype.
    """

    kind = "entity"
    __slots__ = ("name", "join_keys", "description", "tags")
    name: str
    join_keys: tuple[Field, ...]
    description: str
    tags: dict[str, str]

    def __init__(
        self,
        name: str,
        join_keys: Sequence[str] | Mapping[str, DType | str] | None = None,
        *,
        dtype: DType | str | None = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.name = _check_name("Entity", name)
        if join_keys is None:
            join_keys = [name]
        if isinstance(join_keys, str):
            join_keys = [join_keys]
        if isinstance(join_keys, Mapping):
            if dtype is not None:
                raise DefinitionError(f"Entity {name!r}: give dtypes in join_keys or in dtype=, not both")
            keys = [Field(k, v) for k, v in join_keys.items()]
        else:
            from fsnb.types import Int64

            keys = [Field(k, dtype if dtype is not None else Int64) for k in join_keys]
        if not keys:
            raise DefinitionError(f"Entity {name!r} needs at least one join key")
        names = [k.name for k in keys]
        if len(set(names)) != len(names):
            raise DefinitionError(f"Entity {name!r} has duplicate join keys: {names}")
        for k in keys:
            if len(k.name.encode()) > 255:  # the entity-key format stores each name's length in one byte
                raise DefinitionError(
                    f"Entity {name!r}: join key name {k.name[:40]!r}... is {len(k.name.encode())} bytes long; "
                    "join key names can be at most 255 bytes: choose a shorter name"
                )
            if not k.dtype.is_scalar or k.dtype.name in ("float32", "float64", "unix_timestamp"):
                raise DefinitionError(
                    f"Entity {name!r}: join key {k.name!r} has dtype {k.dtype.name}; "
                    "join keys must be int32, int64, string, bytes or bool"
                )
        self.join_keys = tuple(keys)
        self.description = description
        self.tags = _tags("Entity", name, tags)
        self._freeze()

    @property
    def join_key_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.join_keys)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "join_keys": [k.to_dict() for k in self.join_keys],
            "description": self.description,
            "tags": dict(self.tags),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Entity:
        return cls(
            d["name"],
            {k["name"]: k["dtype"] for k in d["join_keys"]},
            description=d.get("description", ""),
            tags=d.get("tags"),
        )

    def __repr__(self) -> str:
        keys = ", ".join(f"{k.name}:{k.dtype.name}" for k in self.join_keys)
        return f"Entity({self.name!r}, join_keys=[{keys}])"

    def _repr_html_(self) -> str:
        from fsnb._reprs import entity_html

        return entity_html(self)


# --------------------------------------------------------------------------------------------------- sources


class DataSource(_Definition):
    """Base of the batch sources. ``timestamp_field`` is the event time; ``created_timestamp_column`` breaks ties."""

    kind = "source"
    source_type: ClassVar[str] = ""
    __slots__ = ("name", "timestamp_field", "created_timestamp_column", "description", "tags")
    name: str
    timestamp_field: str
    created_timestamp_column: str | None
    description: str
    tags: dict[str, str]

    def _init_common(
        self,
        name: str,
        timestamp_field: str,
        created_timestamp_column: str | None,
        description: str,
        tags: Mapping[str, str] | None,
    ) -> None:
        self.name = _check_name(type(self).__name__, name)
        if not isinstance(timestamp_field, str) or not timestamp_field:
            raise DefinitionError(f"{type(self).__name__} {name!r} needs a timestamp_field")
        self.timestamp_field = timestamp_field
        self.created_timestamp_column = created_timestamp_column or None
        self.description = description
        self.tags = _tags(type(self).__name__, name, tags)

    def _common_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "type": self.source_type,
            "name": self.name,
            "timestamp_field": self.timestamp_field,
            "created_timestamp_column": self.created_timestamp_column,
            "description": self.description,
            "tags": dict(self.tags),
        }

    @property
    def batch_source(self) -> DataSource:
        """The source the offline store reads (itself, except for a PushSource)."""
        return self


def _default_source_name(path: str) -> str:
    parts = path.rstrip("/").split("/")
    while len(parts) > 1 and not parts[-1].split(".", 1)[0].strip("*?[]!"):
        parts.pop()  # "data/txn/*.parquet", "data/txn/**/*.parquet": named after the folder, not "*"
    stem = re.sub(r"[^A-Za-z0-9_]", "_", parts[-1].split(".", 1)[0]) or "source"
    return stem if _NAME.match(stem) else f"src_{stem}"


class ParquetSource(DataSource):
    """Parquet file(s): a path, a directory, or a glob; relative paths resolve against the repo folder."""

    source_type = "parquet"
    __slots__ = ("path",)
    path: str

    def __init__(
        self,
        path: str,
        *,
        name: str | None = None,
        timestamp_field: str = "event_timestamp",
        created_timestamp_column: str | None = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(path, str) or not path:
            raise DefinitionError(f"{type(self).__name__} needs a path")
        self.path = str(path)
        self._init_common(
            name or _default_source_name(self.path), timestamp_field, created_timestamp_column, description, tags
        )
        self._freeze()

    def to_dict(self) -> dict[str, Any]:
        return {**self._common_dict(), "path": self.path}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r}, timestamp_field={self.timestamp_field!r})"


class CsvSource(ParquetSource):
    """A CSV file or glob, read by DuckDB with type inference."""

    source_type = "csv"
    __slots__ = ()


class DuckDBSource(DataSource):
    """A table in a DuckDB database file (or the offline store's own), or a SQL query."""

    source_type = "duckdb"
    __slots__ = ("table", "query", "database")
    table: str | None
    query: str | None
    database: str | None

    def __init__(
        self,
        *,
        table: str | None = None,
        query: str | None = None,
        database: str | None = None,
        name: str | None = None,
        timestamp_field: str = "event_timestamp",
        created_timestamp_column: str | None = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> None:
        if (table is None) == (query is None):
            raise DefinitionError("DuckDBSource needs exactly one of table= or query=")
        self.table = table
        self.query = query
        self.database = database
        if name is None:
            if table is None:
                raise DefinitionError("DuckDBSource(query=...) needs a name=")
            name = _default_source_name(table.replace(".", "_"))  # "schema.table": both parts, not "schema"
        self._init_common(name, timestamp_field, created_timestamp_column, description, tags)
        self._freeze()

    def to_dict(self) -> dict[str, Any]:
        return {**self._common_dict(), "table": self.table, "query": self.query, "database": self.database}

    def __repr__(self) -> str:
        what = f"table={self.table!r}" if self.table else f"query={self.query!r}"
        return f"DuckDBSource({what}, name={self.name!r})"


class PushSource(DataSource):
    """A source rows can be pushed to (online, offline or both); ``batch_source`` holds its history."""

    source_type = "push"
    __slots__ = ("_batch_source",)

    def __init__(
        self,
        name: str,
        batch_source: DataSource,
        *,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(batch_source, DataSource) or isinstance(batch_source, PushSource):
            raise DefinitionError(f"PushSource {name!r}: batch_source must be a Parquet, CSV or DuckDB source")
        self._batch_source = batch_source
        self._init_common(
            name, batch_source.timestamp_field, batch_source.created_timestamp_column, description, tags
        )
        self._freeze()

    @property
    def batch_source(self) -> DataSource:
        return self._batch_source

    def to_dict(self) -> dict[str, Any]:
        return {**self._common_dict(), "batch_source": self._batch_source.to_dict()}

    def __repr__(self) -> str:
        return f"PushSource({self.name!r}, batch_source={self._batch_source!r})"


_SOURCE_TYPES: dict[str, type[DataSource]] = {
    "parquet": ParquetSource,
    "csv": CsvSource,
    "duckdb": DuckDBSource,
}


def _source_from_dict(d: Mapping[str, Any]) -> DataSource:
    common = {
        "name": d["name"],
        "description": d.get("description", ""),
        "tags": d.get("tags"),
    }
    if d["type"] == "push":
        return PushSource(d["name"], _source_from_dict(d["batch_source"]), description=common["description"],
                          tags=common["tags"])
    ts = {"timestamp_field": d["timestamp_field"], "created_timestamp_column": d.get("created_timestamp_column")}
    if d["type"] in ("parquet", "csv"):
        return _SOURCE_TYPES[d["type"]](d["path"], **common, **ts)  # type: ignore[call-arg]
    if d["type"] == "duckdb":
        return DuckDBSource(table=d.get("table"), query=d.get("query"), database=d.get("database"), **common, **ts)
    raise DefinitionError(f"unknown source type {d['type']!r}")


# ------------------------------------------------------------------------------------------ feature views


def _ttl(name: str, ttl: timedelta | int | float | None) -> timedelta | None:
    if ttl is None:
        return None
    if isinstance(ttl, (int, float)) and not isinstance(ttl, bool):
        ttl = timedelta(seconds=ttl)
    if not isinstance(ttl, timedelta):
        raise DefinitionError(f"FeatureView {name!r}: ttl must be a timedelta or seconds, got {ttl!r}")
    if ttl < timedelta(0):
        raise DefinitionError(f"FeatureView {name!r}: ttl must not be negative")
    return ttl if ttl > timedelta(0) else None


class FeatureView(_Definition):
    """Features of one or more entities, read from a source: the unit of storage and materialization.

    >>> FeatureView("transaction_stats", entities=[customer], schema=[Field("txn_count_7d", Int64)],
    ...             source=ParquetSource("data/transactions.parquet"), ttl=timedelta(days=2))

    ``schema`` may list the join keys too (as Feast's does); they are taken as key columns, not features.
    """

    kind = "feature_view"
    __slots__ = (
        "name", "entities", "entity_columns", "entity_join_keys", "features", "source", "ttl", "online",
        "description", "tags", "owner",
    )
    name: str
    entities: tuple[str, ...]
    entity_columns: tuple[Field, ...]
    entity_join_keys: dict[str, tuple[str, ...]]
    features: tuple[Field, ...]
    source: DataSource
    ttl: timedelta | None
    online: bool
    description: str
    tags: dict[str, str]
    owner: str

    def __init__(
        self,
        name: str,
        *,
        entities: Sequence[Entity],
        schema: Sequence[Field],
        source: DataSource,
        ttl: timedelta | int | float | None = None,
        online: bool = True,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        owner: str = "",
    ) -> None:
        self.name = _check_name("FeatureView", name)
        ents = list(entities) if entities is not None else []
        if not ents:
            raise DefinitionError(f"FeatureView {name!r} needs at least one entity")
        for e in ents:
            if not isinstance(e, Entity):
                raise DefinitionError(f"FeatureView {name!r}: entities must be Entity objects, got {e!r}")
        if not isinstance(source, DataSource):
            raise DefinitionError(f"FeatureView {name!r}: source must be a data source, got {source!r}")
        schema_by_name: dict[str, Field] = {}
        for f in schema or []:
            if not isinstance(f, Field):
                raise DefinitionError(f"FeatureView {name!r}: schema entries must be Field objects, got {f!r}")
            if f.name in schema_by_name:
                raise DefinitionError(f"FeatureView {name!r}: field {f.name!r} appears twice in the schema")
            schema_by_name[f.name] = f
        key_cols: list[Field] = []
        for e in ents:
            for k in e.join_keys:
                declared = schema_by_name.pop(k.name, None)
                if declared is not None and declared.dtype != k.dtype:
                    raise DefinitionError(
                        f"FeatureView {name!r}: join key {k.name!r} is {declared.dtype.name} in the schema but "
                        f"{k.dtype.name} in entity {e.name!r}"
                    )
                if any(c.name == k.name for c in key_cols):
                    raise DefinitionError(f"FeatureView {name!r}: join key {k.name!r} comes from two entities")
                key_cols.append(k)
        if not schema_by_name:
            keys = [k.name for k in key_cols]
            listed = [f for f in keys if f in {c.name for c in schema}] if schema else []
            why = f" (its schema lists only its join key(s) {listed}, which are not features)" if listed else ""
            raise DefinitionError(f"FeatureView {name!r} has no features{why}: add Fields to its schema")
        reserved = {source.timestamp_field, source.created_timestamp_column}
        for fname in schema_by_name:
            if fname in reserved:
                raise DefinitionError(
                    f"FeatureView {name!r}: {fname!r} is the source's timestamp column, not a feature"
                )
        self.entities = tuple(e.name for e in ents)
        self.entity_join_keys = {e.name: e.join_key_names for e in ents}
        self.entity_columns = tuple(key_cols)
        self.features = tuple(schema_by_name.values())
        self.source = source
        self.ttl = _ttl(name, ttl)
        self.online = bool(online)
        self.description = description
        self.tags = _tags("FeatureView", name, tags)
        self.owner = owner
        self._freeze()

    @property
    def schema(self) -> tuple[Field, ...]:
        """Join-key columns, then features."""
        return self.entity_columns + self.features

    @property
    def join_keys(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.entity_columns)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def __getitem__(self, features: str | Sequence[str]) -> FeatureViewProjection:
        """Select some features for a FeatureService: ``view[["a", "b"]]``."""
        if isinstance(features, str):
            features = [features]
        return self.projection().select(features)

    def projection(self) -> FeatureViewProjection:
        return FeatureViewProjection(self.name, self.features)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "entities": list(self.entities),
            "entity_columns": [c.to_dict() for c in self.entity_columns],
            "entity_join_keys": {e: list(k) for e, k in self.entity_join_keys.items()},
            "features": [f.to_dict() for f in self.features],
            "source": self.source.to_dict(),
            "ttl_seconds": self.ttl.total_seconds() if self.ttl else None,
            "online": self.online,
            "description": self.description,
            "tags": dict(self.tags),
            "owner": self.owner,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureView:
        # Rebuild the entities from the stored key columns; the registry holds their full specs separately.
        cols = {c["name"]: parse_dtype(c["dtype"]) for c in d["entity_columns"]}
        ents = [Entity(e, {k: cols[k] for k in keys}) for e, keys in d["entity_join_keys"].items()]
        return cls(
            d["name"],
            entities=ents,
            schema=[Field.from_dict(f) for f in d["features"]],
            source=_source_from_dict(d["source"]),
            ttl=d.get("ttl_seconds"),
            online=d.get("online", True),
            description=d.get("description", ""),
            tags=d.get("tags"),
            owner=d.get("owner", ""),
        )

    def __repr__(self) -> str:
        ttl = f", ttl={self.ttl}" if self.ttl else ""
        return (
            f"FeatureView({self.name!r}, entities={list(self.entities)}, "
            f"features=[{', '.join(f.name for f in self.features)}]{ttl})"
        )

    def _repr_html_(self) -> str:
        from fsnb._reprs import feature_view_html

        return feature_view_html(self)


class FeatureViewProjection(_Definition):
    """Some features of one view, as a FeatureService uses them."""

    kind = "projection"
    __slots__ = ("name", "features")
    name: str
    features: tuple[Field, ...]

    def __init__(self, name: str, features: Iterable[Field]) -> None:
        self.name = name
        self.features = tuple(features)
        self._freeze()

    def select(self, names: Sequence[str]) -> FeatureViewProjection:
        by_name = {f.name: f for f in self.features}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise DefinitionError(
                f"FeatureView {self.name!r} has no feature(s) {missing}; it has {list(by_name)}"
            )
        if len(set(names)) != len(names):
            raise DefinitionError(f"projection of {self.name!r} names a feature twice: {list(names)}")
        return FeatureViewProjection(self.name, [by_name[n] for n in names])

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def to_dict(self) -> dict[str, Any]:
        return {"view": self.name, "features": [f.to_dict() for f in self.features]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureViewProjection:
        return cls(d["view"], [Field.from_dict(f) for f in d["features"]])

    def __repr__(self) -> str:
        return f"{self.name}[{list(self.feature_names)}]"


class FeatureService(_Definition):
    """A named set of features a model reads together.

    ``precompute_online=True`` keeps one precomputed vector per entity online, read in one GET.
    """

    kind = "feature_service"
    __slots__ = ("name", "projections", "precompute_online", "description", "tags", "owner")
    name: str
    projections: tuple[FeatureViewProjection, ...]
    precompute_online: bool
    description: str
    tags: dict[str, str]
    owner: str

    def __init__(
        self,
        name: str,
        features: Sequence[Any],
        *,
        precompute_online: bool = False,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        owner: str = "",
    ) -> None:
        self.name = _check_name("FeatureService", name)
        projs: list[FeatureViewProjection] = []
        for item in features or []:
            if isinstance(item, FeatureView) or getattr(item, "kind", None) == "on_demand_feature_view":
                projs.append(item.projection())  # type: ignore[union-attr]
            elif isinstance(item, FeatureViewProjection):
                projs.append(item)
            else:
                raise DefinitionError(
                    f"FeatureService {name!r}: features must be FeatureViews, on-demand views or view[[...]] "
                    f"projections, got {item!r}"
                )
        if not projs:
            raise DefinitionError(f"FeatureService {name!r} needs at least one feature view")
        seen: set[str] = set()
        for p in projs:
            if p.name in seen:
                raise DefinitionError(f"FeatureService {name!r} names feature view {p.name!r} twice")
            seen.add(p.name)
        self.projections = tuple(projs)
        self.precompute_online = bool(precompute_online)
        self.description = description
        self.tags = _tags("FeatureService", name, tags)
        self.owner = owner
        self._freeze()

    @property
    def feature_refs(self) -> tuple[str, ...]:
        """``view:feature`` references, in service order."""
        return tuple(f"{p.name}:{f.name}" for p in self.projections for f in p.features)

    def fingerprint(self) -> str:
        """A hash of everything a precomputed vector's layout depends on: the views in service order, and each
        projection's features (names and dtypes) in order. Reordering views or features changes it."""
        import hashlib

        items = [
            f"{p.name}:" + ",".join(f"{f.name}:{f.dtype.name}" for f in p.features) for p in self.projections
        ]
        return hashlib.sha256(("layout 2\n" + "\n".join(items)).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "features": [p.to_dict() for p in self.projections],
            "precompute_online": self.precompute_online,
            "description": self.description,
            "tags": dict(self.tags),
            "owner": self.owner,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureService:
        return cls(
            d["name"],
            [FeatureViewProjection.from_dict(p) for p in d["features"]],
            precompute_online=d.get("precompute_online", False),
            description=d.get("description", ""),
            tags=d.get("tags"),
            owner=d.get("owner", ""),
        )

    def __repr__(self) -> str:
        pre = ", precompute_online=True" if self.precompute_online else ""
        return f"FeatureService({self.name!r}, features={list(self.projections)}{pre})"

    def _repr_html_(self) -> str:
        from fsnb._reprs import feature_service_html

        return feature_service_html(self)


def from_spec(spec: Mapping[str, Any]) -> Any:
    """Rebuild a definition from its ``to_dict()`` spec."""
    kind = spec.get("kind")
    if kind == "entity":
        return Entity.from_dict(spec)
    if kind == "source":
        return _source_from_dict(spec)
    if kind == "feature_view":
        return FeatureView.from_dict(spec)
    if kind == "feature_service":
        return FeatureService.from_dict(spec)
    if kind == "on_demand_feature_view":
        from fsnb.on_demand import OnDemandFeatureView

        return OnDemandFeatureView.from_dict(spec)
    raise DefinitionError(f"unknown definition kind {kind!r}")
