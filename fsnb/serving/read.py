"""The local read pipeline, written once: four stages composed for sync, async and traced reads.

1. prepare: the entity rows as join-key columns, the cached :class:`~fsnb.serving.plan.ReadPlan` for the request's
   shape and registry version, and the encoded, deduplicated entity keys;
2. fetch: one round trip (one HMGET per unique entity, or one GET per entity for precomputed vectors);
3. decode: each view's rows in one pass (:mod:`fsnb.serving.decode`);
4. assemble: statuses, TTLs and duplicate rows applied into an :class:`~fsnb.serving.response.OnlineResponse`;
5. transform (requests with on-demand views only): the views run on that response (:mod:`fsnb.serving.transform`).

A ``trace`` dict receives the nanoseconds of each stage (``plan``, ``encode_keys``, ``round_trip``, ``decode``,
``assemble``, and ``transform`` when it runs); without one, the read runs the stages with no clock and no branch on
tracing.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fsnb.serving.decode import assemble, decode, vector_keys
from fsnb.serving.entities import entity_columns
from fsnb.serving.plan import ReadPlan, cached_plan
from fsnb.serving.request_keys import Keys, encode_keys

if TYPE_CHECKING:
    from fsnb._parts import StoreParts
    from fsnb.online.base import OnlineStore
    from fsnb.serving.response import OnlineResponse

__all__ = ["fetch", "fetch_async", "prepare", "read", "read_async", "read_traced"]

_clock = time.perf_counter_ns


def prepare(
    parts: StoreParts, features: Any, entity_rows: Any, full_feature_names: bool, precomputed: bool | None
) -> tuple[ReadPlan, Keys]:
    """The plan and encoded keys of a request; raises request errors before any I/O."""
    names, cols, n = entity_columns(entity_rows)
    plan = cached_plan(parts.plans, parts.snapshot(), features, names, full_feature_names, precomputed)
    if plan.transform is None:
        return plan, encode_keys(plan, cols, n)
    return plan, _transform_keys(plan, cols, n)


def _transform_keys(plan: ReadPlan, cols: list[Any], n: int) -> Keys:
    """The keys of a request with on-demand views: join-key columns encoded, request-data columns set aside."""
    t = plan.transform
    keys = encode_keys(plan, [cols[i] for i in t.key_positions], n)
    keys.request = [cols[i] for i in t.request_positions]
    return keys


def fetch(online: OnlineStore, plan: ReadPlan, keys: Keys) -> Any:
    """The round trip: vectors (with the build marker when its check is due) or each key group's hash fields."""
    if plan.vector is not None:
        keys.checking = checking = plan.vector.check_due()
        return online.read_values(vector_keys(plan, keys.unique[0], checking))
    if not plan.groups:  # on-demand views of request data only: nothing stored to read
        return []
    return online.read_hash_columns([(u, g.fields) for u, g in zip(keys.unique, plan.groups)])


async def fetch_async(online: Any, plan: ReadPlan, keys: Keys) -> Any:
    """:func:`fetch` on the event loop."""
    if plan.vector is not None:
        keys.checking = checking = plan.vector.check_due()
        return await online.read_values_async(vector_keys(plan, keys.unique[0], checking))
    if not plan.groups:
        return []
    return await online.read_hash_columns_async([(u, g.fields) for u, g in zip(keys.unique, plan.groups)])


def read(
    parts: StoreParts, features: Any, entity_rows: Any, full_feature_names: bool, precomputed: bool | None
) -> OnlineResponse:
    """One online read, untraced."""
    plan, keys = prepare(parts, features, entity_rows, full_feature_names, precomputed)
    response = assemble(plan, keys, decode(plan, keys, fetch(parts.online, plan, keys)))
    return response if keys.request is None else plan.transform.apply(response, keys.request)


def read_traced(
    parts: StoreParts,
    features: Any,
    entity_rows: Any,
    full_feature_names: bool,
    precomputed: bool | None,
    trace: dict[str, int],
) -> OnlineResponse:
    """:func:`read` with the nanoseconds of each stage written into ``trace``."""
    plan, keys, clocks = _prepare_traced(parts, features, entity_rows, full_feature_names, precomputed)
    raw = fetch(parts.online, plan, keys)
    return _finish_traced(plan, keys, raw, trace, clocks)


async def read_async(
    parts: StoreParts,
    features: Any,
    entity_rows: Any,
    full_feature_names: bool,
    precomputed: bool | None,
    trace: dict[str, int] | None = None,
) -> OnlineResponse:
    """:func:`read` over the store's async client (one pipeline, no thread hop)."""
    if trace is None:
        plan, keys = prepare(parts, features, entity_rows, full_feature_names, precomputed)
        raw = await fetch_async(parts.online, plan, keys)
        response = assemble(plan, keys, decode(plan, keys, raw))
        return response if keys.request is None else plan.transform.apply(response, keys.request)
    plan, keys, clocks = _prepare_traced(parts, features, entity_rows, full_feature_names, precomputed)
    raw = await fetch_async(parts.online, plan, keys)
    return _finish_traced(plan, keys, raw, trace, clocks)


def _prepare_traced(
    parts: StoreParts, features: Any, entity_rows: Any, full_feature_names: bool, precomputed: bool | None
) -> tuple[ReadPlan, Keys, list[int]]:
    t0 = _clock()
    names, cols, n = entity_columns(entity_rows)
    plan = cached_plan(parts.plans, parts.snapshot(), features, names, full_feature_names, precomputed)
    t1 = _clock()
    keys = encode_keys(plan, cols, n) if plan.transform is None else _transform_keys(plan, cols, n)
    return plan, keys, [t0, t1, _clock()]


def _finish_traced(plan: ReadPlan, keys: Keys, raw: Any, trace: dict[str, int], clocks: list[int]) -> OnlineResponse:
    t0, t1, t2 = clocks
    t3 = _clock()
    decoded = decode(plan, keys, raw)
    t4 = _clock()
    response = assemble(plan, keys, decoded)
    t5 = _clock()
    if keys.request is not None:
        response = plan.transform.apply(response, keys.request)
        trace["transform"] = _clock() - t5
    trace["plan"] = t1 - t0
    trace["encode_keys"] = t2 - t1
    trace["round_trip"] = t3 - t2
    trace["decode"] = t4 - t3
    trace["assemble"] = t5 - t4  # to_df()/to_dict() are the caller's to time
    return response
