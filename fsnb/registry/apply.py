"""``Store.apply`` and ``Store.plan``: validate definitions, then diff (and write) them in one transaction.

Validation happens before anything is written, and every error names the object and the column:

- duplicate names within a kind (two *different* definitions; the same one listed twice is fine);
- references: a view's entities exist (in this apply or the registry) with the same join keys and dtypes; a
  service's views exist and have its features with the same dtypes; an on-demand view's sources exist and have its
  inputs with the same dtypes;
- on-demand views: the function runs once on generated input, and its output fits the declared schema;
- real source schemas: the timestamp / created-timestamp / join-key / feature columns exist in the source and
  their types fit (``DType.accepts_arrow``).

After the registry write, ``apply`` logs a warning for each view whose online rows no longer decode (features or
dtypes changed) and each precomputed service whose vectors need a rebuild, with what rebuilds them; with ``prune``,
the online rows of removed views are deleted (a view added again under that name starts empty).

Data sources used by feature views are applied with them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fsnb.definitions import DataSource, Entity, FeatureService, FeatureView, ParquetSource, from_spec
from fsnb.errors import DefinitionError, OfflineStoreError, SchemaMismatchError
from fsnb.on_demand import OnDemandFeatureView
from fsnb.registry.plan import KIND_LABELS, ApplyPlan, diff_plan
from fsnb.transforms import check_view

if TYPE_CHECKING:
    import pyarrow as pa

    from fsnb._parts import StoreParts
    from fsnb.offline.base import OfflineEngine

__all__ = ["apply", "check_references", "check_source_schemas", "collect_objects", "online_effects", "plan"]

log = logging.getLogger("fsnb.registry")

Definition = Entity | DataSource | FeatureView | FeatureService | OnDemandFeatureView
_TYPES = (Entity, DataSource, FeatureView, FeatureService, OnDemandFeatureView)


def apply(store: StoreParts, objects: Definition | Iterable[Definition], prune: bool = False) -> ApplyPlan:
    """Validate ``objects`` and write them to ``store``'s registry in one transaction; returns the applied plan.

    Nothing is written when validation fails; re-applying identical objects writes nothing and keeps the
    version. ``prune=True`` deletes the project's objects that are not in ``objects``.
    """
    objs = collect_objects(objects)
    registry = store.registry
    _, current = registry.current_specs()
    check_references(objs, current, prune=prune, project=store.project)  # fail fast, before reading sources
    for obj in objs:
        if isinstance(obj, OnDemandFeatureView):
            check_view(obj)
    check_source_schemas(objs, store.offline)

    def validate(locked_current: dict[tuple[str, str], dict[str, Any]], _plan: ApplyPlan) -> None:
        check_references(objs, locked_current, prune=prune, project=store.project)

    applied = registry.apply_objects(objs, prune=prune, validate=validate)
    if applied.applied:
        for note in online_effects(current, objs):
            log.warning("%s", note)
        pruned = [i.name for i in applied.removed if i.kind == "feature_view" or (
            i.kind == "on_demand_feature_view"  # a written one has stored rows under its name
            and current.get(("on_demand_feature_view", i.name), {}).get("write_to_online_store"))]
        if pruned:
            _delete_online_rows(store, pruned)
    return applied


def _delete_online_rows(store: StoreParts, views: list[str]) -> None:
    """Delete the online rows of pruned views (and written on-demand views), so a view added again later starts
    empty (NOT_FOUND until it is materialized) instead of serving what an earlier definition wrote."""
    from fsnb.errors import FsnbError
    from fsnb.online.writes import delete_view_data

    for name in views:
        try:
            count = delete_view_data(store, name)
        except FsnbError as e:  # no byte store here (remote), or it cannot delete: say what is left behind
            log.warning(
                "feature view %r was pruned but its online rows were not deleted (%s); delete them where the online "
                "store runs (fsnb.online.writes.delete_view_data) before adding a view of that name again", name, e
            )
        else:
            log.info("deleted %d online rows of pruned feature view %r", count, name)


def online_effects(current: Mapping[tuple[str, str], Mapping[str, Any]], objects: Sequence[Definition]) -> list[str]:
    """What an apply does to data already online: views whose stored rows no longer decode (their features or
    dtypes changed) and precomputed services whose vectors need a rebuild, each with what rebuilds it."""
    notes = []
    for obj in objects:
        old = current.get((obj.kind, obj.name))
        if old is None:
            continue
        before = from_spec(old)
        if isinstance(obj, FeatureView) and isinstance(before, FeatureView) and obj.online:
            was = [(f.name, f.dtype.name) for f in before.features]
            now = [(f.name, f.dtype.name) for f in obj.features]
            if was != now:
                notes.append(
                    f"feature view {obj.name!r} changed its features or their dtypes or order: its online rows, "
                    "written for the previous schema, read as NOT_FOUND until they are written again; run "
                    "`fsnb materialize START END` (or store.materialize) over the view's data to rebuild them"
                )
        if (isinstance(obj, FeatureService) and isinstance(before, FeatureService) and obj.precompute_online
                and (not before.precompute_online or before.fingerprint() != obj.fingerprint())):
            notes.append(
                f"feature service {obj.name!r}: its precomputed vectors were built for another layout; "
                f"precomputed reads raise VectorsNotBuiltError until `fsnb materialize` or "
                f"store.build_vectors({obj.name!r}) rebuilds them"
            )
    return notes


def plan(store: StoreParts, objects: Definition | Iterable[Definition], prune: bool = False) -> ApplyPlan:
    """What :func:`apply` would add, change and remove, after the same validation, without writing."""
    objs = collect_objects(objects)
    version, current = store.registry.current_specs()
    check_references(objs, current, prune=prune, project=store.project)
    check_source_schemas(objs, store.offline)
    desired = {(o.kind, o.name): o.to_dict() for o in objs}
    return diff_plan(store.project, current, desired, prune=prune, version=version)


# --------------------------------------------------------------------------------------------- collecting


def collect_objects(objects: Definition | Iterable[Definition]) -> list[Definition]:
    """The definitions to apply: type-checked, duplicates merged, views' data sources added."""
    if isinstance(objects, _TYPES):
        objects = [objects]
    if isinstance(objects, (str, bytes)) or not isinstance(objects, Iterable):
        raise DefinitionError(
            f"apply takes definitions (Entity, FeatureView, FeatureService, sources) or a list of them, "
            f"got {type(objects).__name__}"
        )
    by_key: dict[tuple[str, str], Definition] = {}

    def add(obj: Definition, via: str = "") -> None:
        key = (obj.kind, obj.name)
        seen = by_key.get(key)
        if seen is None:
            by_key[key] = obj
        elif seen != obj:
            label = KIND_LABELS[obj.kind]
            hint = f" ({via})" if via else ""
            extra = " Give each source its own name=." if obj.kind == "source" else ""
            raise DefinitionError(
                f"two different {label} definitions are named {obj.name!r}{hint}: names must be unique within a "
                f"kind; rename one or remove the duplicate.{extra} First: {seen!r}; second: {obj!r}"
            )

    items = list(objects)
    for obj in items:
        if not isinstance(obj, _TYPES):
            raise DefinitionError(
                f"cannot apply {obj!r}: expected Entity, FeatureView, OnDemandFeatureView, FeatureService or a data "
                "source"
            )
        add(obj)
    for obj in items:
        if isinstance(obj, FeatureView):
            add(obj.source, via=f"data source of FeatureView {obj.name!r}")
    return list(by_key.values())


# --------------------------------------------------------------------------------------------- references


def check_references(
    objects: Sequence[Definition],
    current: Mapping[tuple[str, str], Mapping[str, Any]],
    *,
    prune: bool,
    project: str,
) -> None:
    """Check that views and services of the resulting project refer to things that exist and agree on dtypes."""
    final: dict[tuple[str, str], Any] = {}
    applied = {(o.kind, o.name) for o in objects}
    if not prune:
        for key, spec in current.items():
            if key not in applied:
                final[key] = spec
    for o in objects:
        final[(o.kind, o.name)] = o
    where = "in this apply" if prune else "in this apply or the registry"

    def get(kind: str, name: str) -> Any:
        v = final.get((kind, name))
        if isinstance(v, Mapping):
            v = from_spec(v)
            final[(kind, name)] = v
        return v

    views = [get(k, n) for k, n in list(final) if k == "feature_view"]
    services = [get(k, n) for k, n in list(final) if k == "feature_service"]
    on_demand = [get(k, n) for k, n in list(final) if k == "on_demand_feature_view"]
    stored_names = {v.name for v in views}
    for odfv in on_demand:
        if odfv.name in stored_names:
            raise DefinitionError(
                f"OnDemandFeatureView {odfv.name!r} has the name of a feature view: views of both kinds share one "
                "namespace; rename one"
            )
        for proj in odfv.sources:
            _check_projection(f"OnDemandFeatureView {odfv.name!r}", proj, get("feature_view", proj.name), where,
                              project)
    for view in views:
        for ent_name, key_names in view.entity_join_keys.items():
            ent = get("entity", ent_name)
            if ent is None:
                raise DefinitionError(
                    f"FeatureView {view.name!r} uses entity {ent_name!r}, which is not {where} of project "
                    f"{project!r}; add the Entity to the definitions you apply"
                )
            cols = {c.name: c.dtype for c in view.entity_columns}
            if tuple(key_names) != ent.join_key_names:
                raise DefinitionError(
                    f"FeatureView {view.name!r}: entity {ent_name!r} has join keys {list(ent.join_key_names)} but "
                    f"the view was built with {list(key_names)}; rebuild the view with the current Entity"
                )
            for k in ent.join_keys:
                if cols.get(k.name) != k.dtype:
                    raise DefinitionError(
                        f"FeatureView {view.name!r}: join key {k.name!r} of entity {ent_name!r} is "
                        f"{cols[k.name].name} in the view but {k.dtype.name} in the entity; use one dtype for both"
                    )
    for svc in services:
        first: Any = None
        for proj in svc.projections:
            odfv = get("on_demand_feature_view", proj.name)
            if odfv is not None and get("feature_view", proj.name) is None:
                _check_projection(f"FeatureService {svc.name!r}", proj, odfv, where, project)
                continue
            view = get("feature_view", proj.name)
            if view is None:
                raise DefinitionError(
                    f"FeatureService {svc.name!r} uses feature view {proj.name!r}, which is not {where} of "
                    f"project {project!r}"
                )
            if first is None:
                first = view
            if svc.precompute_online and set(view.join_keys) != set(first.join_keys):
                raise DefinitionError(
                    f"FeatureService {svc.name!r} has precompute_online=True but mixes views of different join "
                    f"keys ({first.name!r}: {list(first.join_keys)}, {view.name!r}: {list(view.join_keys)}); "
                    "a precomputed vector is per entity: split the service or set precompute_online=False"
                )
            have = {f.name: f.dtype for f in view.features}
            for f in proj.features:
                if f.name not in have:
                    raise DefinitionError(
                        f"FeatureService {svc.name!r}: feature view {proj.name!r} has no feature {f.name!r} "
                        f"(it has {sorted(have)})"
                    )
                if have[f.name] != f.dtype:
                    raise DefinitionError(
                        f"FeatureService {svc.name!r}: feature {proj.name}:{f.name} is {f.dtype.name} in the "
                        f"service but {have[f.name].name} in the view; rebuild the service from the current view"
                    )


def _check_projection(user: str, proj: Any, view: Any, where: str, project: str) -> None:
    """``proj``'s features exist in ``view`` (a stored or on-demand view) with the same dtypes."""
    if view is None:
        raise DefinitionError(f"{user} uses feature view {proj.name!r}, which is not {where} of project {project!r}")
    have = {f.name: f.dtype for f in view.features}
    for f in proj.features:
        if f.name not in have:
            raise DefinitionError(
                f"{user}: feature view {proj.name!r} has no feature {f.name!r} (it has {sorted(have)})"
            )
        if have[f.name] != f.dtype:
            raise DefinitionError(
                f"{user}: feature {proj.name}:{f.name} is {f.dtype.name} here but {have[f.name].name} in the view; "
                "rebuild it from the current view"
            )


# --------------------------------------------------------------------------------------------- source schemas


def check_source_schemas(objects: Sequence[Definition], offline: OfflineEngine) -> None:
    """Check every applied feature view against the real schema of its source, as the offline engine reads it.

    A PushSource whose batch files do not exist yet passes (its schema is checked on push).
    """
    schemas: dict[str, pa.Schema | None] = {}
    for view in (o for o in objects if isinstance(o, FeatureView)):
        src = view.source
        if src.name not in schemas:
            try:
                schemas[src.name] = offline.schema(src)
            except OfflineStoreError as e:
                raise SchemaMismatchError(f"FeatureView {view.name!r}: cannot read its source: {e}") from e
            if schemas[src.name] is None:
                log.info("PushSource %r has no batch data yet; its schema is checked on push", src.name)
        schema = schemas[src.name]
        if schema is not None:
            _check_view_schema(view, schema)


def _check_view_schema(view: FeatureView, schema: pa.Schema) -> None:
    from fsnb.types import UnixTimestamp

    src = view.source.batch_source
    cols = {f.name: f.type for f in schema}
    what = f"source {src.name!r}" + (f" ({src.path})" if isinstance(src, ParquetSource) else "")

    def missing(role: str, col: str) -> SchemaMismatchError:
        near = [c for c in cols if c.lower() == col.lower()]
        hint = f"; did you mean {near[0]!r}?" if near else ""
        listed = ", ".join(list(cols)[:25]) + (", ..." if len(cols) > 25 else "")
        return SchemaMismatchError(
            f"FeatureView {view.name!r}: {role} {col!r} is missing from {what}{hint} (its columns: {listed})"
        )

    def check(role: str, col: str, dtype: Any) -> None:
        if col not in cols:
            raise missing(role, col)
        if not dtype.accepts_arrow(cols[col]):
            raise SchemaMismatchError(
                f"FeatureView {view.name!r}: {role} {col!r} is declared {dtype.name}, but column {col!r} of {what} "
                f"has type {cols[col]}, which does not fit; fix the Field's dtype or the data"
            )

    check("timestamp column", src.timestamp_field, UnixTimestamp)
    if src.created_timestamp_column:
        check("created-timestamp column", src.created_timestamp_column, UnixTimestamp)
    for key in view.entity_columns:
        check("join key", key.name, key.dtype)
    for feat in view.features:
        check("feature", feat.name, feat.dtype)
