"""Feast registry messages → the text of an fsnb repo (``definitions.py``, ``fsnb.yaml``) and a report."""

from __future__ import annotations

import json
import keyword
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fsnb.feast_import.pycode import Call, Code, Kw, Node, assignment, literal

__all__ = ["Translation", "translate"]

_SCALARS = {1: "fsnb.Bytes", 2: "fsnb.String", 3: "fsnb.Int32", 4: "fsnb.Int64", 5: "fsnb.Float64",
            6: "fsnb.Float32", 7: "fsnb.Bool", 8: "fsnb.UnixTimestamp"}
_LISTS = {11: 1, 12: 2, 13: 3, 14: 4, 15: 5, 16: 6, 17: 7, 18: 8}  # X_LIST → X
_SETS = {22: 1, 23: 2, 24: 3, 25: 4, 26: 5, 27: 6, 28: 7, 29: 8}  # X_SET → X (imported as arrays)
_STRUCT_NAMES = {"STRING": "fsnb.String", "INT32": "fsnb.Int32", "INT64": "fsnb.Int64", "FLOAT64": "fsnb.Float64",
                 "FLOAT32": "fsnb.Float32", "BOOL": "fsnb.Bool", "BYTES": "fsnb.Bytes",
                 "UNIX_TIMESTAMP": "fsnb.UnixTimestamp"}
_MAP, _JSON, _STRUCT = 20, 32, 34
_PUSH, _FILE, _REQUEST = 9, 1, 7


@dataclass
class Translation:
    definitions: str
    config: str
    report: list[str] = field(default_factory=list)


def translate(registry: Any, project: str, feast_config: dict[str, Any], repo: Path,
              out: Path | None = None) -> Translation:
    """The fsnb repo for a Feast ``registry``; relative file paths of ``repo`` are rewritten relative to ``out``."""
    report: list[str] = []
    writer = _Writer(report, repo, out)
    config = _config(project or _project(registry), feast_config.get("online_store"), report)
    return Translation(writer.definitions(registry), config, report)


def _project(registry: Any) -> str:
    for p in registry.projects:
        return str(p.spec.name)
    for e in registry.entities:
        if e.spec.project:
            return str(e.spec.project)
    return "feast_import"


class _Writer:
    def __init__(self, report: list[str], repo: Path, out: Path | None) -> None:
        self.report = report
        self.repo = repo
        self.out = out
        self.lines: list[str] = []
        self.vars: dict[tuple[str, str], str] = {}  # (kind, feast name) → Python name
        self.key_types: dict[str, int] = {}  # join key → Feast value type, from the views' entity columns
        self.view_features: dict[str, list[str]] = {}  # view → imported feature names
        self.uses_timedelta = False
        self.uses_pandas = False
        self.uses_functions = False

    def definitions(self, registry: Any) -> str:
        views = sorted(registry.feature_views, key=lambda v: v.spec.name)
        for fv in [*views, *registry.stream_feature_views]:
            for col in fv.spec.entity_columns:
                self.key_types.setdefault(col.name, col.value_type)
        self._section("entities")
        for e in sorted(registry.entities, key=lambda e: e.spec.name):
            self._entity(e.spec)
        sources = {s.name: s for s in registry.data_sources}
        for fv in [*views, *registry.stream_feature_views]:
            for s in (fv.spec.batch_source, fv.spec.stream_source):
                if s.name:
                    sources.setdefault(s.name, s)
        self._section("sources")
        for s in sorted(sources.values(), key=lambda s: (s.type == _PUSH, s.name)):
            self._source(s)
        self._section("feature views")
        for fv in views:
            self._view(fv.spec)
        if registry.on_demand_feature_views:
            self._section("on-demand feature views")
        for odfv in sorted(registry.on_demand_feature_views, key=lambda v: v.spec.name):
            self._on_demand(odfv.spec)
        for kind, items, why in (
            ("stream feature view", registry.stream_feature_views, "fsnb has no stream transformations (define a "
             "FeatureView over a PushSource and push the results)"),
            ("label view", registry.label_views, "fsnb has no label views (keep the labels in a Parquet file and "
             "add them to the entity frame)"),
        ):
            for item in sorted(items, key=lambda v: v.spec.name):
                self.report.append(f"{kind} {item.spec.name!r}: not imported; {why}")
        self._section("feature services")
        for fs in sorted(registry.feature_services, key=lambda s: s.spec.name):
            self._service(fs.spec)
        head = ['"""Feature definitions imported from a Feast registry by `fsnb import-feast`."""', ""]
        head += ["from __future__ import annotations", ""] if self.uses_functions else []
        head += ["from datetime import timedelta", ""] if self.uses_timedelta else []
        head += ["import pandas as pd", ""] if self.uses_pandas else []
        head += ["import fsnb"]
        return "\n".join(head + self.lines).rstrip() + "\n"

    def _section(self, title: str) -> None:
        if self.lines[-2:] == ["", ""]:
            self.lines.pop()
        self.lines += ["", f"# {'-' * (100 - len(title))} {title}", ""]

    def _name(self, kind: str, name: str) -> str:
        var = "".join(c if c.isalnum() else "_" for c in name).lower() or kind
        if var[0].isdigit() or keyword.iskeyword(var) or var in self.vars.values() or var in ("fsnb", "timedelta"):
            var = f"{var}_{kind}"
        self.vars[(kind, name)] = var
        return var

    def _common(self, spec: Any, owner: bool = True) -> list[Node]:
        out: list[Node] = []
        if spec.description:
            out.append(Kw("description", literal(spec.description)))
        tags = {k: v for k, v in sorted(spec.tags.items()) if not k.startswith("feast:")}  # Feast's own bookkeeping
        if tags:
            out.append(Kw("tags", literal(tags)))
        who: str = spec.owner if owner and hasattr(spec, "owner") else ""
        if who:
            out.append(Kw("owner", literal(who)))
        return out

    def _entity(self, spec: Any) -> None:
        if spec.name == "__dummy":  # Feast's placeholder for entity-less views
            return
        key = spec.join_key or spec.name
        dtype = _SCALARS.get(spec.value_type) or _SCALARS.get(self.key_types.get(key, 0))
        if dtype is None:
            dtype = "fsnb.String"
            self.report.append(f"entity {spec.name!r}: the type of join key {key!r} is not in the registry; "
                               "imported as String (change it if the key is a number)")
        args: list[Node] = [literal(spec.name), Kw("join_keys", literal({key: Code(dtype)})),
                            *self._common(spec, owner=False)]
        if spec.owner:
            self.report.append(f"entity {spec.name!r}: owner {spec.owner!r} kept as a tag (fsnb entities have none)")
            tags = dict(sorted(spec.tags.items())) | {"owner": spec.owner}
            args = [a for a in args if not (isinstance(a, Kw) and a.name == "tags")] + [Kw("tags", literal(tags))]
        self._emit(self._name("entity", spec.name), "fsnb.Entity", args)

    def _source(self, s: Any) -> None:
        common = self._common(s, owner=False)
        if s.type == _FILE or s.WhichOneof("options") == "file_options":
            args: list[Node] = [literal(self._path(s.file_options.uri)), Kw("name", literal(s.name)),
                                Kw("timestamp_field", literal(s.timestamp_field or "event_timestamp"))]
            if s.created_timestamp_column:
                args.append(Kw("created_timestamp_column", literal(s.created_timestamp_column)))
            if s.field_mapping:
                self.report.append(f"source {s.name!r}: field_mapping {dict(s.field_mapping)} not imported; "
                                   "rename the columns in the file or in a DuckDBSource query")
            self._emit(self._name("source", s.name), "fsnb.ParquetSource", args + common)
        elif s.type == _REQUEST or s.WhichOneof("options") == "request_data_options":
            fields: list[Node] = []
            for f in s.request_data_options.schema:
                dtype = self._dtype(s.name, f, None)
                if dtype is not None:
                    fields.append(Call("fsnb.Field", (literal(f.name), Code(dtype))))
            self._emit(self._name("source", s.name), "fsnb.RequestSource",
                       [literal(s.name), Kw("schema", literal(fields)), *common])
        elif s.type == _PUSH:
            batch = self.vars.get(("source", s.batch_source.name))
            if batch is None:
                self.report.append(f"push source {s.name!r}: its batch source was not imported; skipped")
                return
            self._emit(self._name("source", s.name), "fsnb.PushSource", [literal(s.name), Code(batch), *common])
        else:
            kind = type(s).SourceType.Name(s.type) if s.type in type(s).SourceType.values() else str(s.type)
            self.report.append(f"source {s.name!r} ({kind}, {s.data_source_class_type or 'unknown class'}): not "
                               "imported; fsnb reads Parquet, CSV and DuckDB sources (export the table to Parquet)")

    def _path(self, uri: str) -> str:
        """A Feast file path (relative to the Feast repo) as the fsnb repo must spell it (relative to ``out``)."""
        if "://" in uri or Path(uri).is_absolute() or self.out is None:
            return uri
        return os.path.relpath(self.repo.resolve() / uri, self.out.resolve())

    def _view(self, spec: Any) -> None:
        src = spec.stream_source if spec.stream_source.type == _PUSH else spec.batch_source
        source = self.vars.get(("source", src.name))
        if source is None:
            self.report.append(f"feature view {spec.name!r}: its source {src.name!r} was not imported; skipped")
            return
        entities = [Code(self.vars[("entity", e)]) for e in spec.entities if ("entity", e) in self.vars]
        fields: list[Node] = []
        for f in spec.features:
            dtype = self._dtype(spec.name, f, spec.batch_source)
            if dtype is None:
                continue
            fields.append(Call("fsnb.Field", (literal(f.name), Code(dtype), *self._common(f, owner=False))))
            self.view_features.setdefault(spec.name, []).append(f.name)
        args: list[Node] = [literal(spec.name), Kw("entities", literal(entities)), Kw("schema", literal(fields)),
                            Kw("source", Code(source))]
        if spec.HasField("ttl") and (spec.ttl.seconds or spec.ttl.nanos):
            self.uses_timedelta = True
            args.append(Kw("ttl", Code(_timedelta(spec.ttl.seconds, spec.ttl.nanos))))
        if not spec.online:
            args.append(Kw("online", Code("False")))
        self._emit(self._name("view", spec.name), "fsnb.FeatureView", args + self._common(spec))

    def _on_demand(self, spec: Any) -> None:
        """An on-demand view, as the decorated function Feast kept as text (its dill body is never read)."""
        udf = spec.feature_transformation.user_defined_function
        if not udf.body_text:
            udf = spec.user_defined_function
        text = _function_text(udf.body_text)
        if text is None:
            self.report.append(f"on-demand feature view {spec.name!r}: not imported; its function's source text is "
                               "not in the registry (only a substrait plan or a dill body)")
            return
        fname, body = text
        sources: list[Node] = []
        for key in sorted(spec.sources):
            src = spec.sources[key]
            kind = src.WhichOneof("source")
            if kind == "request_data_source":
                var = self.vars.get(("source", src.request_data_source.name))
            else:
                proj = src.feature_view_projection if kind == "feature_view_projection" else None
                name = proj.feature_view_name if proj is not None else src.feature_view.spec.name
                var = self.vars.get(("view", name))
                names = [c.name for c in proj.feature_columns] if proj is not None else []
                if var is not None and names and names != self.view_features.get(name, []):
                    var = f"{var}[{literal(names).flat()}]"
            if var is None:
                self.report.append(f"on-demand feature view {spec.name!r}: its source {key!r} was not imported; "
                                   "skipped")
                return
            sources.append(Code(var))
        fields: list[Node] = []
        for f in spec.features:
            dtype = self._dtype(spec.name, f, None)
            if dtype is not None:
                fields.append(Call("fsnb.Field", (literal(f.name), Code(dtype))))
        mode = udf.mode or spec.mode or "pandas"
        if mode not in ("python", "pandas"):
            self.report.append(f"on-demand feature view {spec.name!r}: not imported; fsnb runs python and pandas "
                               f"modes, not {mode!r}")
            return
        self.uses_pandas = self.uses_pandas or mode == "pandas"
        self.uses_functions = True
        args: list[Node] = [Kw("sources", literal(sources)), Kw("schema", literal(fields)),
                            Kw("mode", literal(mode))]
        if fname != spec.name:
            args.append(Kw("name", literal(spec.name)))
        if spec.write_to_online_store:
            args.append(Kw("write_to_online_store", Code("True")))
        args += self._common(spec)
        self.vars[("view", spec.name)] = fname
        self.view_features[spec.name] = [f.name for f in spec.features]
        while self.lines and not self.lines[-1]:
            self.lines.pop()
        self.lines += ["", "", *Call("@fsnb.on_demand_feature_view", tuple(args)).lines(0, "", ""), *body, ""]
        self.report.append(f"on-demand feature view {spec.name!r}: imported; its function runs from its source "
                           "text (math, np and pd are available to it: move other imports inside it)")

    def _dtype(self, view: str, f: Any, source: Any) -> str | None:
        t = f.value_type
        if t in _SCALARS:
            return _SCALARS[t]
        if t in _LISTS:
            return f"fsnb.Array({_SCALARS[_LISTS[t]]})"
        if t in _SETS:
            self.report.append(f"{view}.{f.name}: a Feast Set, imported as an Array (duplicates are not removed)")
            return f"fsnb.Array({_SCALARS[_SETS[t]]})"
        if t == _JSON:
            return "fsnb.Json"
        if t == _STRUCT:
            schema = f.tags.get("feast:struct_schema")
            try:
                parts = {k: _STRUCT_NAMES[v] for k, v in json.loads(schema).items()} if schema else None
            except (ValueError, KeyError, AttributeError):
                parts = None
            if parts:
                return f"fsnb.Struct({literal({k: Code(v) for k, v in parts.items()}).flat()})"
            self.report.append(f"{view}.{f.name}: Struct without a readable schema; imported as Json")
            return "fsnb.Json"
        if t == _MAP:
            value = self._map_value_type(source, f.name)
            if value:
                return f"fsnb.Map({value})"
            self.report.append(f"{view}.{f.name}: Feast's Map has no value type and the source file did not tell "
                               "it; imported as Json (change it to fsnb.Map(T) if the values share a type)")
            return "fsnb.Json"
        self.report.append(f"{view}.{f.name}: Feast value type {t} has no fsnb dtype; feature left out")
        return None

    def _map_value_type(self, source: Any, column: str) -> str | None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if source is None or source.WhichOneof("options") != "file_options":
            return None
        uri = source.file_options.uri
        path = Path(uri) if Path(uri).is_absolute() else self.repo / uri
        try:
            arrow_type = pq.read_schema(path).field(column).type
        except (OSError, KeyError, pa.ArrowException):
            return None
        if not pa.types.is_map(arrow_type):
            return None
        item = arrow_type.item_type
        for test, expr in ((pa.types.is_float64, "fsnb.Float64"), (pa.types.is_float32, "fsnb.Float32"),
                           (pa.types.is_int64, "fsnb.Int64"), (pa.types.is_int32, "fsnb.Int32"),
                           (pa.types.is_string, "fsnb.String"), (pa.types.is_large_string, "fsnb.String"),
                           (pa.types.is_boolean, "fsnb.Bool"), (pa.types.is_binary, "fsnb.Bytes")):
            if test(item):
                return expr
        return None

    def _service(self, spec: Any) -> None:
        items: list[Node] = []
        for proj in spec.features:
            view = self.vars.get(("view", proj.feature_view_name))
            if view is None:
                self.report.append(f"feature service {spec.name!r}: view {proj.feature_view_name!r} was not "
                                   "imported; left out of the service")
                continue
            if proj.feature_view_name_alias or proj.join_key_map:
                self.report.append(f"feature service {spec.name!r}: alias / join-key map of "
                                   f"{proj.feature_view_name!r} not imported (fsnb projections select features)")
            names = [c.name for c in proj.feature_columns]
            whole = not names or names == self.view_features.get(proj.feature_view_name, [])
            items.append(Code(view if whole else f"{view}[{literal(names).flat()}]"))
        args: list[Node] = [literal(spec.name), literal(items)]
        if spec.precompute_online:
            args.append(Kw("precompute_online", Code("True")))
        self._emit(self._name("service", spec.name), "fsnb.FeatureService", args + self._common(spec))

    def _emit(self, var: str, cls: str, args: list[Node]) -> None:
        self.lines += [*assignment(var, Call(cls, tuple(args))), ""]


def _timedelta(seconds: int, nanos: int) -> str:
    if nanos:
        return f"timedelta(seconds={seconds + nanos / 1e9!r})"
    days, rest = divmod(seconds, 86400)
    parts = ([f"days={days}"] if days else []) + ([f"seconds={rest}"] if rest else [])
    return f"timedelta({', '.join(parts)})"


def _config(project: str, online: Any, report: list[str]) -> str:
    lines = ["# fsnb feature repo imported from Feast by `fsnb import-feast`.", f"project: {project}",
             "registry: .fsnb/registry.db", ""]
    online = {"type": online} if isinstance(online, str) else dict(online or {"type": "sqlite"})
    kind = str(online.get("type", "sqlite"))
    if kind == "redis":
        conn = str(online.get("connection_string", "localhost:6379"))
        cluster = online.get("redis_type") == "redis_cluster"
        lines += ["online_store:", "  type: redis", f"  url: {_redis_url(conn)}"]
        if cluster:
            report.append("online store: Feast's Redis Cluster was imported as its first node's URL; set the "
                          "cluster configuration of fsnb's Redis store by hand")
        if "password=" in conn or "ssl=" in conn:
            report.append("online store: Redis password / ssl options were not copied; put them in the url "
                          "(redis://:PASSWORD@host:port/db, rediss:// for TLS)")
    elif kind == "sqlite":
        lines += ["online_store:", "  type: sqlite", "  path: .fsnb/online.db"]
    elif kind == "remote":
        lines += ["online_store:", "  type: remote", f"  path: {online.get('path', 'http://127.0.0.1:6566')}"]
    else:
        lines += ["online_store:", "  type: sqlite", "  path: .fsnb/online.db"]
        report.append(f"online store: Feast's {kind!r} store has no fsnb counterpart; the imported repo uses SQLite "
                      "(switch to Redis for low latency)")
    lines += ["", "offline_store:", "  type: duckdb"]
    return "\n".join(lines) + "\n"


def _redis_url(conn: str) -> str:
    first, *opts = [p.strip() for p in conn.split(",")]
    db = next((o.split("=", 1)[1] for o in opts if o.startswith("db=")), "0")
    return f"redis://{first}/{db}"


def _function_text(text: str) -> tuple[str, list[str]] | None:
    """(name, lines) of the one function ``text`` defines, without its decorators."""
    import ast
    import textwrap

    text = textwrap.dedent(text or "")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if len(defs) != 1:
        return None
    node = defs[0]
    return node.name, text.splitlines()[node.lineno - 1 : node.end_lineno]
