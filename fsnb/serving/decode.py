"""Decoding a round trip's reply into an :class:`~fsnb.serving.response.OnlineResponse`.

Hash reads decode each view's column of packed rows in one pass (numpy; Python lists below ``SMALL_BATCH``
entities); precomputed reads split each vector into per-view segments the same way, or read few vectors with the
plan's compiled :class:`~fsnb.serving.plan.VectorRows`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from fsnb.errors import VectorsNotBuiltError
from fsnb.online.codec import DecodedRows
from fsnb.online.vector_format import VECTOR_HEADER, rebuild_hint
from fsnb.serving.plan import ReadPlan, ViewRead
from fsnb.serving.response import NOT_FOUND, OUTSIDE_MAX_AGE, PRESENT, OnlineResponse

if TYPE_CHECKING:
    from fsnb.serving.request_keys import Keys

__all__ = ["SMALL_BATCH", "assemble", "decode", "vector_keys"]

#: up to this many unique entities, rows decode into Python lists (numpy's per-call cost dominates below it)
SMALL_BATCH = 12


def decode(plan: ReadPlan, keys: Keys, raw: Any) -> Any:
    """The decode stage: per-view decoded rows of a hash read, or the vectors of a precomputed read."""
    if plan.vector is None:
        return _hash_blobs(plan, keys, raw)
    if len(keys.unique[0]) <= SMALL_BATCH:
        return _vector_rows(plan, raw, keys.checking)
    return vector_blobs(plan, raw, keys.inverse[0], keys.checking, False)


def assemble(plan: ReadPlan, keys: Keys, decoded: Any) -> OnlineResponse:
    """The assemble stage: statuses, TTLs and duplicate rows applied, columns in output order."""
    if plan.vector is not None and len(keys.unique[0]) <= SMALL_BATCH:
        return _vector_response_py(plan, keys, decoded)
    return _response(plan, keys, decoded)


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
    plan: ReadPlan, keys: Keys, per_view: list[tuple[ViewRead, Any, Any]]
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


def _hash_blobs(plan: ReadPlan, keys: Keys, columns: list[list[list[bytes | None]]]) -> list[Any]:
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


def _vector_response_py(plan: ReadPlan, keys: Keys, got: list[tuple[Any, Any, Any]]) -> OnlineResponse:
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


def vector_keys(plan: ReadPlan, keys: list[bytes], checking: bool) -> list[bytes]:
    """The keys to GET for a precomputed read: the marker first when it is due for a check, then the vectors."""
    return [plan.vector.marker, *keys] if checking else keys  # type: ignore[union-attr]


def vector_bodies(plan: ReadPlan, raw: list[bytes | None], checking: bool) -> list[bytes | None]:
    """The vector bodies of a GET reply (the marker first when ``checking``, then one vector per unique entity):
    None where there is no vector, or one left from another schema (an entity with no rows since the last build),
    which reads as NOT_FOUND. Raises VectorsNotBuiltError when the checked marker is missing or stale."""
    vp = plan.vector
    assert vp is not None
    if checking:
        marker = raw[0]
        raw = raw[1:]
        if marker is None:
            raise VectorsNotBuiltError(
                f"precomputed vectors of feature service {vp.service!r} were never built; "
                + rebuild_hint(vp.service)
            )
        fp = marker.split(b":", 1)[0].decode()
        if fp != vp.fingerprint:
            raise VectorsNotBuiltError(
                f"precomputed vectors of feature service {vp.service!r} were built for another version of its "
                f"schema (fingerprint {fp}, now {vp.fingerprint}); " + rebuild_hint(vp.service)
            )
        vp.checked()
    head = vp.head
    size = VECTOR_HEADER + vp.codec.width
    return [b if b is not None and b[:VECTOR_HEADER] == head and len(b) > size else None for b in raw]


def vector_blobs(
    plan: ReadPlan, raw: list[bytes | None], inv: Any, checking: bool, small: bool
) -> list[tuple[Any, Any, Any]]:
    """Decode a GET reply (see :func:`vector_bodies`) into per-view columns; ``small`` picks the few-rows
    decoder."""
    vp = plan.vector
    assert vp is not None
    bodies = vector_bodies(plan, raw, checking)
    decoded = vp.codec.decode_py(bodies) if small else vp.codec.decode(bodies)
    return [(view, d, inv) for view, d in zip(vp.views, decoded)]
