"""Online reads and direct writes: ``get_online_features`` (sync and async) and ``write_to_online_store``.

A read validates the request, takes the cached :class:`~fsnb.serving.plan.ReadPlan`, encodes the entity keys,
makes one round trip (one HMGET per unique entity, or one GET per entity for precomputed vectors), decodes each
view's rows in one pass and assembles an :class:`~fsnb.serving.response.OnlineResponse`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from fsnb.errors import EmptyRequestError, ExtraJoinKeyError, MissingJoinKeyError, RequestError
from fsnb.online.codec import DecodedRows
from fsnb.online.vectors import vector_blobs, vector_bodies, vector_keys
from fsnb.serving.plan import ReadPlan, ViewRead, cached_plan
from fsnb.serving.response import NOT_FOUND, OUTSIDE_MAX_AGE, PRESENT, OnlineResponse

if TYPE_CHECKING:
    import pandas as pd

    from fsnb.definitions import FeatureView
    from fsnb.store import Store

__all__ = ["entity_columns", "get_online_features", "get_online_features_async", "write_to_online_store"]

_clock = time.perf_counter_ns
#: up to this many unique entities, rows decode into Python lists (numpy's per-call cost dominates below it)
SMALL_BATCH = 12


def entity_columns(entity_rows: Any) -> tuple[tuple[str, ...], list[Any], int]:
    """(join-key names, one column per name, row count) from a list of dicts, a dict of lists or a DataFrame."""
    if isinstance(entity_rows, list):
        if not entity_rows:
            raise EmptyRequestError("no entity rows: pass at least one row of join key values")
        first = entity_rows[0]
        if not isinstance(first, Mapping):
            raise RequestError(f"entity rows must be dicts of join key values, got {type(first).__name__}")
        names = tuple(first)
        if len(entity_rows) == 1:
            return names, [[first[k]] for k in names], 1
        try:
            cols = [[r[k] for r in entity_rows] for k in names]
        except KeyError as e:
            raise MissingJoinKeyError(f"an entity row lacks join key {e.args[0]!r} that the first row has") from None
        except TypeError:
            raise RequestError("entity rows must all be dicts of join key values") from None
        width = len(names)
        for r in entity_rows:
            if len(r) != width:
                extra = sorted(set(r) - set(names))
                raise ExtraJoinKeyError(f"an entity row has key(s) {extra} that the first row does not have")
        return names, cols, len(entity_rows)
    if isinstance(entity_rows, Mapping):
        names = tuple(entity_rows)
        cols = [list(v) if type(v) is list else _key_column(k, v) for k, v in entity_rows.items()]
        lengths = {len(c) for c in cols}
        if len(lengths) > 1:
            raise RequestError(f"entity columns have different lengths: {dict(zip(names, map(len, cols)))}")
        n = lengths.pop() if lengths else 0
        if n == 0:
            raise EmptyRequestError("no entity rows: the join key lists are empty")
        return names, cols, n
    if hasattr(entity_rows, "columns") and hasattr(entity_rows, "to_numpy"):  # pandas DataFrame
        names = tuple(str(c) for c in entity_rows.columns)
        n = len(entity_rows)
        if n == 0:
            raise EmptyRequestError("no entity rows: the entity DataFrame is empty")
        cols = []
        for c in entity_rows.columns:
            s = entity_rows[c]
            if s.hasnans:
                raise MissingJoinKeyError(f"join key column {c!r} has missing values")
            arr = s.to_numpy()
            cols.append(arr if arr.dtype.kind in "iu" else arr.tolist())
        return names, cols, n
    raise RequestError(
        f"entity_rows must be a list of dicts, a dict of lists or a DataFrame, got {type(entity_rows).__name__}"
    )


def _key_column(name: Any, values: Any) -> Any:
    """A dict-of-lists entry that is not a plain list: an array or Series as is, another collection as a list; a
    string or a single value is a mistake (a string would otherwise be read as one row per character)."""
    if hasattr(values, "dtype") and getattr(values, "ndim", 1) == 1:
        return values
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable) or hasattr(values, "dtype"):
        raise RequestError(
            f"entity_rows[{name!r}] must be a list of join key values, got {type(values).__name__} "
            f"{values!r:.40}; wrap a single value in a list: {{{name!r}: [value]}}"
        )
    return list(values)


class _Keys:
    """Encoded keys of one request: per key group, the unique keys and the row → unique index (None if unique)."""

    __slots__ = ("cols", "inverse", "n", "unique")

    def __init__(self, cols: list[Any], n: int) -> None:
        self.cols = cols
        self.n = n
        self.unique: list[list[bytes]] = []
        self.inverse: list[Any] = []


def _encode(plan: ReadPlan, cols: list[Any], n: int) -> _Keys:
    keys = _Keys(cols, n)
    for group in plan.groups:
        encoded = group.encode([cols[p] for p in group.key_positions])
        if n == 1:
            keys.unique.append(encoded)
            keys.inverse.append(None)
            continue
        pos: dict[bytes, int] = {}
        setdefault = pos.setdefault
        inv = [setdefault(k, len(pos)) for k in encoded]
        if len(pos) == n:
            keys.unique.append(encoded)
            keys.inverse.append(None)
        else:
            keys.unique.append(list(pos))
            keys.inverse.append(np.array(inv, dtype=np.intp))
    return keys


def _decode_view(
    view: ViewRead,
    d: DecodedRows,
    inv: Any,
    now_us: int,
    values: list[Any],
    valid: list[Any],
    col_view: list[int],
    view_status: list[Any],
    view_ts: list[Any],
) -> None:
    found = d.found
    status = np.where(found, PRESENT, NOT_FOUND).astype(np.uint8)
    stale = None
    if view.ttl_us:
        stale = found & (d.ts < now_us - view.ttl_us)
        if stale.any():
            status[stale] = OUTSIDE_MAX_AGE
        else:
            stale = None
    ts = d.ts
    okm = d.ok if stale is None else d.ok & ~stale[:, None]
    if inv is not None:
        status = status[inv]
        ts = ts[inv]
    vi = len(view_status)
    view_status.append(status)
    view_ts.append(ts)
    # one call for every column's "all valid?", so all-valid columns carry no mask at all
    complete = okm.all(axis=0).tolist()
    inv_list = inv.tolist() if inv is not None else None
    for col, fi in view.outputs:
        v = d.values[fi]
        if inv is not None:
            v = v[inv] if not isinstance(v, list) else [v[j] for j in inv_list]  # type: ignore[union-attr]
        values[col] = v
        if complete[fi]:
            valid[col] = None
        else:
            valid[col] = okm[:, fi] if inv is None else okm[inv, fi]
        col_view[col] = vi


def _view_py(
    view: ViewRead,
    rows: list[tuple[int, list[Any]] | None],
    inv: Any,
    now_us: int,
    values: list[Any],
    valid: list[Any],
    col_view: list[int],
    view_status: list[Any],
    view_ts: list[Any],
) -> None:
    """The few-rows twin of :func:`_decode_view`: Python lists, no numpy per value."""

    cutoff = now_us - view.ttl_us if view.ttl_us else None
    if inv is not None:
        rows = [rows[j] for j in inv.tolist()]
    status = []
    ts = []
    for r in rows:
        if r is None:
            status.append(NOT_FOUND)
            ts.append(0)
        else:
            status.append(OUTSIDE_MAX_AGE if cutoff is not None and r[0] < cutoff else PRESENT)
            ts.append(r[0])
    vi = len(view_status)
    view_status.append(status)
    view_ts.append(ts)
    pick = view.pick
    if len(rows) == 1:
        r = rows[0]
        picked = pick(r[1]) if status[0] == PRESENT else view.nulls  # type: ignore[index]
        for col, v in zip(view.out_cols, picked):
            values[col] = [v]
            col_view[col] = vi
        return
    nulls = view.nulls
    per_row = [pick(r[1]) if s == PRESENT else nulls for r, s in zip(rows, status)]  # type: ignore[index]
    for col, column in zip(view.out_cols, zip(*per_row)):
        values[col] = list(column)
        col_view[col] = vi


def _response(
    plan: ReadPlan, keys: _Keys, per_view: list[tuple[ViewRead, Any, Any]]
) -> OnlineResponse:
    ncols = len(plan.columns)
    values: list[Any] = [None] * ncols
    valid: list[Any] = [None] * ncols
    col_view = [-1] * ncols
    view_status: list[Any] = []
    view_ts: list[Any] = []
    values[: plan.n_keys] = keys.cols
    now_us = time.time_ns() // 1000
    for view, decoded, inv in per_view:
        if type(decoded) is list:
            _view_py(view, decoded, inv, now_us, values, valid, col_view, view_status, view_ts)
        else:
            _decode_view(view, decoded, inv, now_us, values, valid, col_view, view_status, view_ts)
    return OnlineResponse(
        plan.columns, plan.dtypes, plan.n_keys, keys.n, values, valid, col_view, view_status, view_ts
    )


def _hash_blobs(plan: ReadPlan, keys: _Keys, columns: list[list[list[bytes | None]]]) -> list[Any]:
    """Decode each view's column of rows (``columns``: per key group, per view, one value per unique key)."""
    out = []
    for group, cols, unique, inv in zip(plan.groups, columns, keys.unique, keys.inverse):
        small = len(unique) <= SMALL_BATCH
        for view in group.views:
            blobs = cols[view.slot]
            out.append((view, view.codec.decode_py(blobs) if small else view.codec.decode(blobs), inv))
    return out


def _vector_rows(plan: ReadPlan, raw: list[bytes | None], checking: bool) -> list[tuple[Any, Any, Any]]:
    """Few vectors of a GET reply, each read by the plan's :class:`~fsnb.serving.plan.VectorRows`."""
    rows = plan.vector.rows  # type: ignore[union-attr]
    read, missing = rows.read, rows.missing
    now_us = time.time_ns() // 1000
    return [missing if b is None else read(b, now_us) for b in vector_bodies(plan, raw, checking)]


def _vector_response_py(plan: ReadPlan, keys: _Keys, got: list[tuple[Any, Any, Any]]) -> OnlineResponse:
    """The response of a few-rows precomputed read: Python lists, one per column and per view."""
    inv = keys.inverse[0]
    if inv is not None:
        got = [got[j] for j in inv.tolist()]
    if len(got) == 1:
        values, status, times = got[0]
        columns = [*keys.cols, *[[v] for v in values]]
        view_status = [[s] for s in status]
        view_ts = [[t] for t in times]
    else:
        columns = [*keys.cols, *map(list, zip(*[g[0] for g in got]))]
        view_status = list(map(list, zip(*[g[1] for g in got])))
        view_ts = list(map(list, zip(*[g[2] for g in got])))
    return OnlineResponse(
        plan.columns, plan.dtypes, plan.n_keys, keys.n, columns, [None] * len(columns), plan.col_view, view_status,
        view_ts,
    )


def _vector_response(plan: ReadPlan, keys: _Keys, raw: list[bytes | None], checking: bool) -> OnlineResponse:
    if len(keys.unique[0]) <= SMALL_BATCH:
        return _vector_response_py(plan, keys, _vector_rows(plan, raw, checking))
    return _response(plan, keys, vector_blobs(plan, raw, keys.inverse[0], checking, False))


def _prepare(
    store: Store, features: Any, entity_rows: Any, full_feature_names: bool, precomputed: bool | None
) -> tuple[ReadPlan, _Keys]:
    names, cols, n = entity_columns(entity_rows)
    plan = cached_plan(store._plans, store.snapshot(), features, names, full_feature_names, precomputed)
    return plan, _encode(plan, cols, n)


def get_online_features(
    store: Store,
    features: Any,
    entity_rows: Any,
    *,
    full_feature_names: bool = False,
    precomputed: bool | None = None,
    _stages: dict[str, int] | None = None,
) -> OnlineResponse:
    """Latest feature values for ``entity_rows`` in one round trip (see :meth:`fsnb.Store.get_online_features`).

    ``_stages``, when a dict, receives nanoseconds spent in ``plan``, ``encode_keys``, ``round_trip``, ``decode``
    and ``assemble``.
    """
    if store.config.online_store.type == "remote":
        return store.online.get_online_features(  # type: ignore[attr-defined, no-any-return]
            features, entity_rows, full_feature_names=full_feature_names, precomputed=precomputed, _stages=_stages
        )
    if _stages is not None:
        return _timed(store, features, entity_rows, full_feature_names, precomputed, _stages)
    plan, keys = _prepare(store, features, entity_rows, full_feature_names, precomputed)
    online = store.online
    if plan.vector is not None:
        checking = plan.vector.check_due()
        raw = online.read_values(vector_keys(plan, keys.unique[0], checking))
        return _vector_response(plan, keys, raw, checking)
    replies = online.read_hash_columns([(u, g.fields) for u, g in zip(keys.unique, plan.groups)])
    return _response(plan, keys, _hash_blobs(plan, keys, replies))


def _timed(
    store: Store,
    features: Any,
    entity_rows: Any,
    full_feature_names: bool,
    precomputed: bool | None,
    stages: dict[str, int],
) -> OnlineResponse:
    t0 = _clock()
    names, cols, n = entity_columns(entity_rows)
    plan = cached_plan(store._plans, store.snapshot(), features, names, full_feature_names, precomputed)
    t1 = _clock()
    keys = _encode(plan, cols, n)
    t2 = _clock()
    online = store.online
    if plan.vector is not None:
        checking = plan.vector.check_due()
        raw = online.read_values(vector_keys(plan, keys.unique[0], checking))
        t3 = _clock()
        if len(keys.unique[0]) <= SMALL_BATCH:
            got = _vector_rows(plan, raw, checking)
            t4 = _clock()
            response = _vector_response_py(plan, keys, got)
        else:
            blobs = vector_blobs(plan, raw, keys.inverse[0], checking, False)
            t4 = _clock()
            response = _response(plan, keys, blobs)
    else:
        replies = online.read_hash_columns([(u, g.fields) for u, g in zip(keys.unique, plan.groups)])
        t3 = _clock()
        blobs = _hash_blobs(plan, keys, replies)
        t4 = _clock()
        response = _response(plan, keys, blobs)
    t5 = _clock()
    stages["plan"] = t1 - t0
    stages["encode_keys"] = t2 - t1
    stages["round_trip"] = t3 - t2
    stages["decode"] = t4 - t3
    stages["assemble"] = t5 - t4  # statuses, TTLs, duplicates; to_df()/to_dict() are the caller's to time
    return response


async def get_online_features_async(
    store: Store,
    features: Any,
    entity_rows: Any,
    *,
    full_feature_names: bool = False,
    precomputed: bool | None = None,
    _stages: dict[str, int] | None = None,
) -> OnlineResponse:
    """:func:`get_online_features` over the store's async client (one pipeline, no thread hop)."""
    if store.config.online_store.type == "remote":
        return await store.online.get_online_features_async(  # type: ignore[attr-defined, no-any-return]
            features, entity_rows, full_feature_names=full_feature_names, precomputed=precomputed
        )
    t0 = _clock() if _stages is not None else 0
    plan, keys = _prepare(store, features, entity_rows, full_feature_names, precomputed)
    t1 = _clock() if _stages is not None else 0
    online = store.online
    if plan.vector is not None:
        checking = plan.vector.check_due()
        raw = await online.read_values_async(vector_keys(plan, keys.unique[0], checking))
        t2 = _clock() if _stages is not None else 0
        response = _vector_response(plan, keys, raw, checking)
    else:
        replies = await online.read_hash_columns_async([(u, g.fields) for u, g in zip(keys.unique, plan.groups)])
        t2 = _clock() if _stages is not None else 0
        response = _response(plan, keys, _hash_blobs(plan, keys, replies))
    if _stages is not None:
        t3 = _clock()
        _stages.update(plan=t1 - t0, encode_keys=0, round_trip=t2 - t1, decode=t3 - t2, assemble=0)
    return response


def write_to_online_store(store: Store, view: FeatureView | str, df: pd.DataFrame | Any) -> int:
    """Validate ``df`` against ``view`` and write it online (newer rows win), then refresh affected vectors.

    Returns the number of rows in ``df``.
    """
    if store.config.online_store.type == "remote":
        return store.online.write_to_online_store(view, df)  # type: ignore[attr-defined, no-any-return]
    from fsnb.online.vectors import refresh_vectors
    from fsnb.online.writes import table_from, write_view_table

    if isinstance(view, str):
        view = store.snapshot().get_feature_view(view)
    table = table_from(df)
    keys = write_view_table(store, view, table, timestamp_column=view.source.timestamp_field)
    refresh_vectors(store, keys, views=[view.name])
    return len(keys)

