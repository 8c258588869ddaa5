"""Read plans: everything about an online read that does not depend on the entity values, compiled once per
(request shape, registry version) and cached on the store.
"""

from __future__ import annotations

import contextlib
import operator
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fsnb.definitions import FeatureService, FeatureView, Field
from fsnb.errors import (
    EmptyRequestError,
    ExtraJoinKeyError,
    JoinKeyTypeError,
    MissingJoinKeyError,
    RequestError,
)
from fsnb.online.codec import ROW_FORMAT_VERSION, RowCodec, SegmentsCodec, loads_json, python_converter
from fsnb.online.keys import hash_key_prefix, key_encoder, marker_key, vector_key_prefix
from fsnb.online.vector_format import vector_codec, vector_head
from fsnb.requests import FeatureRequest
from fsnb.serving.response import NOT_FOUND, OUTSIDE_MAX_AGE, PRESENT
from fsnb.types import DType

if TYPE_CHECKING:
    from fsnb.registry.snapshot import RegistrySnapshot

__all__ = [
    "KeyGroup", "ReadPlan", "VectorPlan", "VectorRows", "ViewRead", "cached_plan", "compile_plan", "compile_request"
]

_MAX_PLANS = 512
_loads = loads_json


class ViewRead:
    """One feature view in a plan: where its row sits in the reply and which decoded fields become columns."""

    __slots__ = ("codec", "field", "name", "nulls", "out_cols", "outputs", "pick", "slot", "ttl_us")

    def __init__(self, name: str, codec: RowCodec, ttl_us: int, slot: int, outputs: list[tuple[int, int]]) -> None:
        self.name = name
        self.field = name.encode()
        self.codec = codec
        self.ttl_us = ttl_us
        self.slot = slot
        #: (output column, index of the feature in the codec's fields)
        self.outputs = outputs
        #: the output columns, and a C-level picker of their values from a decoded row (always a tuple)
        self.out_cols = tuple(c for c, _ in outputs)
        idx = [f for _, f in outputs]
        getter = operator.itemgetter(*idx)
        self.pick = getter if len(idx) > 1 else (lambda row: (getter(row),))
        self.nulls = (None,) * len(idx)


class KeyGroup:
    """Views sharing one set of join keys: one HMGET per unique entity reads all of their rows."""

    __slots__ = ("encode", "fields", "key_fields", "key_positions", "prefix", "views")

    def __init__(self, key_fields: tuple[Field, ...], key_positions: tuple[int, ...], prefix: bytes) -> None:
        self.key_fields = key_fields
        #: positions of this group's keys in the plan's join keys (the request's columns)
        self.key_positions = key_positions
        self.prefix = prefix
        #: the prefixed keys of the group's key columns (see fsnb.online.keys.key_encoder)
        self.encode = key_encoder(prefix, key_fields)
        self.views: list[ViewRead] = []
        self.fields: tuple[bytes, ...] = ()


class VectorRows:
    """The few-rows reader of a precomputed read, compiled with its plan: per vector one ``struct.unpack_from`` and
    one ``json.loads``, every output value picked from them in output-column order by one C-level getter, then only
    the exceptions fixed up in Python (views without a row or past their TTL, nulls, timestamps, composites)."""

    __slots__ = ("converters", "end", "has_var", "header", "missing", "n_values", "pick", "segments", "unpack")

    def __init__(self, codec: SegmentsCodec, views: list[ViewRead]) -> None:
        self.unpack = codec.struct.unpack_from
        self.header = codec.header
        self.end = codec.header + codec.width
        self.has_var = any(codec.var_counts)
        n_fixed = codec.spans[-1][1] if codec.spans else 0
        # (output column, position in the unpacked fixed values + JSON array, segment, field) of every output
        outs = []
        for j, (view, c, (a, _, va, _)) in enumerate(zip(views, codec.codecs, codec.spans)):
            for col, fi in view.outputs:
                pos = a + 4 + c.fixed.index(fi) if fi in c.fixed else n_fixed + va + c.var.index(fi)
                outs.append((col, pos, j, fi))
        outs.sort()
        self.n_values = len(outs)
        getter = operator.itemgetter(*[pos for _, pos, _, _ in outs]) if outs else (lambda row: ())
        self.pick = getter if len(outs) != 1 else (lambda row: (getter(row),))
        #: per segment: (start of its items, schema id, ttl µs, [(index in the picked values, null byte, bit)])
        self.segments: list[tuple[int, int, int, list[tuple[int, int, int]]]] = []
        for j, (view, c, (a, _, _, _)) in enumerate(zip(views, codec.codecs, codec.spans)):
            mine = [(p, fi >> 3, 1 << (fi & 7)) for p, (_, _, seg, fi) in enumerate(outs) if seg == j]
            self.segments.append((a, c.schema_id, view.ttl_us, mine))
        #: (index in the picked values, converter) of values that need one (timestamps, composites)
        self.converters = []
        for p, (_, _, j, fi) in enumerate(outs):
            conv = python_converter(codec.codecs[j].dtypes[fi])
            if conv is not None:
                self.converters.append((p, conv))
        #: what a missing vector reads as
        self.missing = ([None] * self.n_values, [NOT_FOUND] * len(views), [0] * len(views))

    def read(self, body: bytes, now_us: int) -> tuple[list[Any], list[int], list[int]]:
        """(output values in column order, status per view, event time per view) of one vector body."""
        fixed = self.unpack(body, self.header)
        row = (*fixed, *_loads(body[self.end :])) if self.has_var else fixed
        values = list(self.pick(row))
        status = []
        times = []
        for a, schema_id, ttl_us, outs in self.segments:
            if row[a] != ROW_FORMAT_VERSION or row[a + 1] != schema_id:  # no row in this view (zeros)
                status.append(NOT_FOUND)
                times.append(0)
                for p, _, _ in outs:
                    values[p] = None
                continue
            ts = row[a + 2]
            times.append(ts)
            if ttl_us and ts < now_us - ttl_us:
                status.append(OUTSIDE_MAX_AGE)
                for p, _, _ in outs:
                    values[p] = None
                continue
            status.append(PRESENT)
            bitmap = row[a + 3]
            if any(bitmap):
                for p, byte, bit in outs:
                    if bitmap[byte] & bit:
                        values[p] = None
        for p, conv in self.converters:
            v = values[p]
            if v is not None:
                values[p] = conv(v)
        return values, status, times


class VectorPlan:
    """How a precompute_online service's vectors are found and split into per-view segments."""

    __slots__ = ("checked_at", "codec", "fingerprint", "head", "marker", "prefix", "rows", "service", "views")

    #: seconds between two checks of the build marker (each rides along a read's round trip)
    RECHECK_SECONDS = 1.0

    def __init__(self, service: str, fingerprint: str, prefix: bytes, marker: bytes, views: list[ViewRead]) -> None:
        self.service = service
        self.fingerprint = fingerprint
        self.prefix = prefix
        self.marker = marker
        #: one ViewRead per segment, in service order; codecs over the projection's fields
        self.views = views
        self.head = vector_head(fingerprint)
        self.codec = vector_codec([v.codec for v in views])
        self.rows = VectorRows(self.codec, views)
        self.checked_at = -1e18

    def check_due(self) -> bool:
        """Whether this read should fetch the build marker too (never checked, or not for RECHECK_SECONDS)."""
        return time.monotonic() - self.checked_at > self.RECHECK_SECONDS

    def checked(self) -> None:
        self.checked_at = time.monotonic()


class ReadPlan:
    """A compiled online read: output columns, key groups, decoders, TTLs, vector key prefix."""

    __slots__ = (
        "col_view", "columns", "dtypes", "groups", "join_keys", "n_keys", "project", "transform", "vector", "version",
        "views",
    )

    def __init__(self) -> None:
        self.project = ""
        self.version = 0
        self.join_keys: tuple[Field, ...] = ()
        self.n_keys = 0
        self.columns: tuple[str, ...] = ()
        self.dtypes: tuple[DType, ...] = ()
        self.groups: list[KeyGroup] = []
        self.views: list[ViewRead] = []
        self.vector: VectorPlan | None = None
        #: for vector plans: per output column, the index of its view (-1 for join keys), as responses keep it
        self.col_view: tuple[int, ...] = ()
        #: the on-demand views run on this plan's response (a TransformPlan), or None
        self.transform: Any = None


def compile_plan(
    snapshot: RegistrySnapshot,
    features: Any,
    request_keys: Sequence[str],
    *,
    full_feature_names: bool,
    precomputed: bool | None,
) -> ReadPlan:
    """Compile and validate a read plan; raises fsnb.errors request errors before any I/O."""
    request = FeatureRequest.resolve(snapshot, features, full_feature_names=full_feature_names)
    if request.transforms:
        from fsnb.serving.transform import compile_transforms

        return compile_transforms(snapshot, request, request_keys, precomputed)
    return compile_request(snapshot, request, request_keys, precomputed=precomputed)


def compile_request(
    snapshot: RegistrySnapshot, request: FeatureRequest, request_keys: Sequence[str], *, precomputed: bool | None
) -> ReadPlan:
    """The read plan of a resolved request of stored features."""
    service = request.service
    plan = ReadPlan()
    plan.project = snapshot.project
    plan.version = snapshot.version

    # join keys: union over the views, first-seen order; the request must name exactly these
    key_fields: dict[str, Field] = {}
    for r in request.views:
        for f in r.view.entity_columns:
            prev = key_fields.setdefault(f.name, f)
            if prev.dtype != f.dtype:
                raise JoinKeyTypeError(
                    f"join key {f.name!r} is {prev.dtype.name} in one view and {f.dtype.name} in view {r.view.name!r}"
                )
    given = list(request_keys)
    if not given:
        raise EmptyRequestError("no entity rows: pass join key values (a list of dicts, a dict of lists or a frame)")
    missing = [k for k in key_fields if k not in given]
    if missing:
        raise MissingJoinKeyError(
            f"entity rows lack join key(s) {missing}; the requested features need {list(key_fields)}"
        )
    extra = [k for k in given if k not in key_fields]
    if extra:
        raise ExtraJoinKeyError(
            f"entity rows have column(s) {extra} that are not join keys of the requested features "
            f"(join keys: {list(key_fields)}); drop them"
        )
    plan.join_keys = tuple(key_fields[k] for k in given)
    plan.n_keys = len(given)
    key_index = {k: i for i, k in enumerate(given)}

    # output columns: the join keys, then the features in request order
    names: list[str] = [*given, *request.output_names]
    dtypes: list[DType] = [key_fields[k].dtype for k in given]
    col_of: dict[tuple[str, str], int] = {}
    for col, (v, i) in enumerate(request.columns, start=len(given)):
        r = request.views[v]
        col_of[(r.view.name, r.fields[i].name)] = col
        dtypes.append(r.fields[i].dtype)
    clash = sorted(set(given) & set(request.output_names))
    if clash:
        raise RequestError(
            f"output column name(s) {clash} would appear twice (a join key and a feature); "
            "pass full_feature_names=True to get 'view__feature'"
        )
    plan.columns = tuple(names)
    plan.dtypes = tuple(dtypes)

    use_vectors = service is not None and service.precompute_online and precomputed is not False
    if precomputed and not use_vectors:
        raise RequestError(
            "precomputed=True needs a FeatureService with precompute_online=True; "
            "pass the service (or its name), or drop precomputed="
        )

    # per-view reads (grouped by join-key set), in first-seen order
    order: dict[str, list[Field]] = {r.view.name: list(r.fields) for r in request.views}
    views: dict[str, FeatureView] = {r.view.name: r.view for r in request.views}
    if use_vectors:
        assert service is not None
        segs: list[ViewRead] = []
        for vname, fields in order.items():
            view = views[vname]
            codec = RowCodec(fields)
            outputs = [(col_of[(vname, f.name)], i) for i, f in enumerate(fields)]
            segs.append(ViewRead(vname, codec, _ttl_us(view), len(segs), outputs))
        keys0 = {f.name for f in views[next(iter(order))].entity_columns}
        if any({f.name for f in views[v].entity_columns} != keys0 for v in order):
            raise RequestError(f"feature service {service.name!r} mixes entities; it cannot be precomputed")
        plan.vector = VectorPlan(
            service.name,
            service.fingerprint(),
            vector_key_prefix(snapshot.project, service.name),
            marker_key(snapshot.project, service.name),
            segs,
        )
        plan.views = segs
        col_view = [-1] * len(names)
        for j, seg in enumerate(segs):
            for col, _ in seg.outputs:
                col_view[col] = j
        plan.col_view = tuple(col_view)
        group = KeyGroup(
            tuple(views[next(iter(order))].entity_columns),
            tuple(key_index[f.name] for f in views[next(iter(order))].entity_columns),
            plan.vector.prefix,
        )
        plan.groups = [group]
        return plan

    groups: dict[tuple[str, ...], KeyGroup] = {}
    prefix = hash_key_prefix(snapshot.project)
    for vname, fields in order.items():
        view = views[vname]
        kf = tuple(view.entity_columns)
        gkey = tuple(sorted(f.name for f in kf))
        if gkey not in groups:
            groups[gkey] = KeyGroup(kf, tuple(key_index[f.name] for f in kf), prefix)
        group = groups[gkey]
        codec = RowCodec(view.features)
        idx = {f.name: i for i, f in enumerate(view.features)}
        outputs = [(col_of[(vname, f.name)], idx[f.name]) for f in fields]
        read = ViewRead(vname, codec, _ttl_us(view), len(group.views), outputs)
        group.views.append(read)
        plan.views.append(read)
    for group in groups.values():
        group.fields = tuple(v.field for v in group.views)
    plan.groups = list(groups.values())
    return plan


def _ttl_us(view: FeatureView) -> int:
    return int(view.ttl.total_seconds() * 1_000_000) if view.ttl else 0


def cached_plan(
    cache: dict[Any, Any],
    snapshot: RegistrySnapshot,
    features: Any,
    request_keys: tuple[str, ...],
    full_feature_names: bool,
    precomputed: bool | None,
) -> ReadPlan:
    """The cached plan for this request shape and registry version, compiled on first use."""
    if isinstance(features, (list, tuple)):
        fkey: Any = tuple(features)
    elif isinstance(features, FeatureService):
        fkey = ("service", id(features))
    else:
        fkey = features
    key = (fkey, request_keys, full_feature_names, precomputed, snapshot.project, snapshot.version)
    try:
        entry = cache[key]
    except (KeyError, TypeError):
        entry = None
    if entry is not None and (not isinstance(features, FeatureService) or entry[1] is features):
        return entry[0]  # type: ignore[no-any-return]
    plan = compile_plan(
        snapshot, features, request_keys, full_feature_names=full_feature_names, precomputed=precomputed
    )
    if len(cache) >= _MAX_PLANS:
        cache.clear()
    with contextlib.suppress(TypeError):  # an unhashable request shape is compiled every time
        cache[key] = (plan, features if isinstance(features, FeatureService) else None)
    return plan
